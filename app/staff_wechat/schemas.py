from marshmallow import fields

from app.common.validation import BaseSchema, LocalDateTime, Text
from app.staff.schemas import StaffSchema


class BindCodeSchema(BaseSchema):
    code = fields.String(metadata={"description": "一次性绑定码,10 分钟内有效,只能使用一次"})
    expires_at = LocalDateTime()
    instruction = fields.String()


class BindingSchema(BaseSchema):
    bound = fields.Boolean()


class UnbindSchema(BaseSchema):
    staff_id = fields.Integer(load_default=None, allow_none=True, strict=True,
                              metadata={"description": "管理员解除他人的绑定;不填为本人"})


class UnbindResultSchema(BaseSchema):
    bound = fields.Boolean()
    was_bound = fields.Boolean()
    token = fields.String(allow_none=True, metadata={
        "description": "解除本人绑定会使所有旧登录凭证失效,此为本设备的新凭证"})


class OAuthCallbackQuerySchema(BaseSchema):
    code = Text(128, required=True, min_length=1)
    state = Text(64, load_default=None)


class OAuthResultSchema(BaseSchema):
    token = fields.String()
    staff = fields.Nested(StaffSchema)
    next = fields.String()
