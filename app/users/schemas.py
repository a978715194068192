from marshmallow import fields, validate

from app.common.identity import ID_TYPES
from app.common.masking import mask_id_number, mask_name, mask_phone
from app.common.validation import BaseSchema, LocalDateTime, Text


class UserSchema(BaseSchema):
    id = fields.Integer()
    nickname = fields.String()
    avatar_url = fields.String()
    gender = fields.String()
    phone = fields.Function(lambda u: mask_phone(u.phone))
    phone_bound = fields.Function(lambda u: u.phone is not None)
    real_name_status = fields.String()
    real_name = fields.Function(lambda u: mask_name(u.real_name_encrypted))
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
    name = fields.Function(lambda r: mask_name(r.name))
    id_type = fields.String()
    id_number = fields.Function(lambda r: mask_id_number(r.id_number))
    id_photo_file_id = fields.Integer()
    status = fields.String()
    reject_reason = fields.String()
    created_at = LocalDateTime()
    reviewed_at = LocalDateTime()
