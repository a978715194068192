from marshmallow import fields

from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime


class NotificationSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    ref_type = fields.String()
    ref_id = fields.Integer()
    read_at = LocalDateTime(allow_none=True, metadata={"description": "为空表示未读"})
    created_at = LocalDateTime()


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(metadata={"description": "true 只看未读,false 只看已读;不传为全部"})


class UnreadCountSchema(BaseSchema):
    unread = fields.Integer(required=True)


class MarkedReadSchema(BaseSchema):
    updated = fields.Integer(required=True)
