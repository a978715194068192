from app.common.validation import BaseSchema, Text
from app.users.schemas import UserSchema
from marshmallow import fields


class WeChatLoginSchema(BaseSchema):
    code = Text(128, required=True, min_length=1)


class PhoneBindSchema(BaseSchema):
    code = Text(128, required=True, min_length=1)


class LoginResultSchema(BaseSchema):
    token = fields.String(metadata={"description": "放在请求头 Authorization: Bearer <token>"})
    user = fields.Nested(UserSchema)
