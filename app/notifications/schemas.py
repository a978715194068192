from marshmallow import fields

from app.common.validation import BaseSchema, LocalDateTime


class NotificationSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    ref_type = fields.String()
    ref_id = fields.Integer()
    read_at = LocalDateTime()
    created_at = LocalDateTime()
