from marshmallow import fields, validate

from app.common.pagination import PageQuerySchema, page_schema
from app.common.validation import BaseSchema, LocalDateTime
from app.points.models import KINDS
from app.settings.points_rules import BOUNDS

KIND_NAMES = {"earn": "获得", "spend": "抵扣", "expire": "过期", "reverse_earn": "退款扣回",
              "reverse_spend": "退款退回"}


def points_field(**kwargs):
    """The optional `points` of an order body: a JSON integer ≥ 0 (0: no points)."""
    return fields.Integer(strict=True, load_default=0,
                          validate=validate.Range(min=0, max=10_000_000),
                          metadata={"description": "使用的积分(抵扣现金,默认 0;"
                                                   "每单可抵扣的比例有上限,且至少支付 0.01 元)"},
                          **kwargs)


class PointsQuerySchema(PageQuerySchema):
    pass


class PointTransactionSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(list(KINDS)))
    kind_name = fields.Function(lambda t: KIND_NAMES.get(t.kind, t.kind),
                                metadata={"type": "string"})
    points = fields.Integer(metadata={"description": "积分变化,正数为增加,负数为减少"})
    order_type = fields.String(allow_none=True,
                               metadata={"description": "registration 或 care_order"})
    order_id = fields.Integer(allow_none=True)
    description = fields.String()
    created_at = LocalDateTime()


class ExpiringPointsSchema(BaseSchema):
    points = fields.Integer()
    expires_at = LocalDateTime()


class MyPointsSchema(BaseSchema):
    balance = fields.Integer(metadata={"description": "可用积分"})
    expiring_soon = fields.List(fields.Nested(ExpiringPointsSchema),
                                metadata={"description": "30 天内到期的积分(按到期时间)"})
    history = fields.Nested(page_schema(PointTransactionSchema))


_HELP = {"points_per_visit": "每次完成就诊获得的积分",
         "points_per_yuan": "陪护订单完成后每实付 1 元获得的积分(向下取整)",
         "fen_per_point": "1 积分抵扣的金额(分)",
         "max_share_percent": "每单最多可用积分抵扣的比例(%)",
         "expire_months": "积分有效期(月),先获得的先过期"}


def _rule(name: str):
    low, high = BOUNDS[name]
    return fields.Integer(strict=True, validate=validate.Range(
        min=low, max=high, error=f"应为 {low} 到 {high} 之间的整数"),
        metadata={"description": f"{_HELP[name]},{low}–{high}"})


class PointsRulesSchema(BaseSchema):
    points_per_visit = fields.Integer(metadata={"description": _HELP["points_per_visit"]})
    points_per_yuan = fields.Integer(metadata={"description": _HELP["points_per_yuan"]})
    fen_per_point = fields.Integer(metadata={"description": _HELP["fen_per_point"]})
    max_share_percent = fields.Integer(metadata={"description": _HELP["max_share_percent"]})
    expire_months = fields.Integer(metadata={"description": _HELP["expire_months"]})


class PointsRulesUpdateSchema(BaseSchema):
    """Any of the rules (the others keep their values); an unknown key is refused."""

    points_per_visit = _rule("points_per_visit")
    points_per_yuan = _rule("points_per_yuan")
    fen_per_point = _rule("fen_per_point")
    max_share_percent = _rule("max_share_percent")
    expire_months = _rule("expire_months")
