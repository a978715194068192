from marshmallow import fields, validate

from app.common.identity import ID_TYPES
from app.common.masking import mask_id_number, mask_name, mask_phone
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.users.models import REAL_NAME_STATUSES


class UserSchema(BaseSchema):
    id = fields.Integer()
    nickname = fields.String(allow_none=True)
    avatar_url = fields.String(allow_none=True)
    gender = fields.String(allow_none=True, validate=validate.OneOf(["male", "female", "unknown"]))
    phone = fields.Function(lambda u: mask_phone(u.phone), allow_none=True,
                            metadata={"type": "string", "description": "脱敏手机号"})
    phone_bound = fields.Function(lambda u: u.phone is not None, metadata={"type": "boolean"})
    real_name_status = fields.String(validate=validate.OneOf(REAL_NAME_STATUSES))
    real_name = fields.Function(lambda u: mask_name(u.real_name_encrypted), allow_none=True,
                                metadata={"type": "string", "description": "脱敏姓名"})
    created_at = LocalDateTime()


class UserUpdateSchema(BaseSchema):
    nickname = Text(32, min_length=1)
    avatar_url = fields.Url(schemes={"https", "http"}, validate=validate.Length(max=512))
    gender = fields.String(validate=validate.OneOf(["male", "female", "unknown"]))


class RealNameSubmitSchema(BaseSchema):
    name = Text(32, required=True, min_length=2)
    id_type = fields.String(required=True, validate=validate.OneOf(list(ID_TYPES)))
    id_number = Text(32, required=True, min_length=5)
    id_photo_file_id = fields.Integer(required=True, strict=True,
                                      validate=validate.Range(min=1, max=2**31 - 1))


class RealNameSchema(BaseSchema):
    id = fields.Integer()
    name = fields.Function(lambda r: mask_name(r.name), metadata={"type": "string"})
    id_type = fields.String(validate=validate.OneOf(list(ID_TYPES)))
    id_number = fields.Function(lambda r: mask_id_number(r.id_number), metadata={"type": "string"})
    id_photo_file_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(["pending", "verified", "rejected"]))
    reject_reason = fields.String(allow_none=True)
    created_at = LocalDateTime()
    reviewed_at = LocalDateTime(allow_none=True)
