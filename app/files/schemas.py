from marshmallow import fields, validate

from app.common.validation import BaseSchema, LocalDateTime
from app.files.models import FILE_PURPOSES


class FileUploadFormSchema(BaseSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(list(FILE_PURPOSES)))


class FileSchema(BaseSchema):
    id = fields.Integer()
    purpose = fields.String()
    content_type = fields.String()
    size_bytes = fields.Integer()
    original_name = fields.String()
    created_at = LocalDateTime()
