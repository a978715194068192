from marshmallow import fields, validate

from app.common.openapi import FileUpload
from app.common.validation import BaseSchema, LocalDateTime
from app.files.models import FILE_PURPOSES


class FileUploadFormSchema(BaseSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(list(FILE_PURPOSES)))
    # documents the multipart file part (the view reads it from request.files)
    file = FileUpload(load_only=True, metadata={"doc_required": True,
                                                "description": "JPEG、PNG 或 PDF,不超过 5 MB"})


class FileSchema(BaseSchema):
    id = fields.Integer()
    purpose = fields.String(validate=validate.OneOf(list(FILE_PURPOSES)))
    content_type = fields.String(validate=validate.OneOf(["image/jpeg", "image/png",
                                                          "application/pdf"]))
    size_bytes = fields.Integer()
    original_name = fields.String(allow_none=True)
    created_at = LocalDateTime()
