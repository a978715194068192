"""Lists answer {"items", "page", "page_size", "total"}."""
from flask import current_app
from marshmallow import fields, validate
from sqlalchemy import func, select

from app.common.validation import BaseSchema
from app.extensions import db


class PageQuerySchema(BaseSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


_page_schemas = {}


def page_schema(item_schema_cls):
    """A {"items","page","page_size","total"} schema for item_schema_cls (cached per class)."""
    if item_schema_cls not in _page_schemas:
        _page_schemas[item_schema_cls] = type(
            f"{item_schema_cls.__name__.removesuffix('Schema')}PageSchema", (BaseSchema,), {
                "items": fields.List(fields.Nested(item_schema_cls)),
                "page": fields.Integer(),
                "page_size": fields.Integer(),
                "total": fields.Integer(),
            })
    return _page_schemas[item_schema_cls]


def clamp_page_size(page_size: int) -> int:
    return min(page_size, current_app.config["PAGE_SIZE_MAX"])


def paginate(statement, page: int, page_size: int, *, session=None) -> dict:
    """`session`: where to read (default db.session; browse lists pass replica.reader())."""
    session = session if session is not None else db.session
    page_size = clamp_page_size(page_size)
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    items = session.scalars(statement.limit(page_size).offset((page - 1) * page_size)).all()
    return {"items": items, "page": page, "page_size": page_size, "total": total}


def where_given(statement, *filters):
    """statement narrowed by each (column, value) filter whose value was given: a list means
    `column IN value`, anything else `column == value`; None, "" and [] filter nothing (a
    staff search form sends only what was filled in)."""
    for column, value in filters:
        if value is None or (isinstance(value, (str, list, tuple, set)) and not value):
            continue
        many = isinstance(value, (list, tuple, set))
        statement = statement.where(column.in_(value) if many else column == value)
    return statement
