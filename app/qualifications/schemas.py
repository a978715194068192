from marshmallow import fields, validate

from app.common.masking import mask_id_number
from app.common.pagination import PageQuerySchema
from app.common.time import local_today
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.qualifications.models import QUALIFICATION_KINDS, QUALIFICATION_STATUSES

_ID = validate.Range(min=1, max=2**31 - 1)
MAX_FILES = 6


class QualificationWriteSchema(BaseSchema):
    """What the owner may set. The number's format depends on the kind, so the service checks
    it (an ID card by its checksum); dates are checked together there too."""

    title = Text(64, min_length=1)
    number = Text(64, min_length=1)
    issuer = Text(64, allow_none=True)
    issued_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    file_ids = fields.List(fields.Integer(strict=True, validate=_ID),
                           validate=validate.Length(min=1, max=MAX_FILES),
                           metadata={"description": f"本人上传的文件 id,1–{MAX_FILES} 个;"
                                                    "身份证仅限图片"})


class QualificationCreateSchema(QualificationWriteSchema):
    kind = fields.String(required=True, validate=validate.OneOf(list(QUALIFICATION_KINDS)))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("number", "file_ids"):  # so the API document says so
            self.fields[name].required = True


class QualificationUpdateSchema(QualificationWriteSchema):
    pass


def _expired(qualification) -> bool:
    return qualification.expires_on is not None and qualification.expires_on < local_today()


class QualificationSchema(BaseSchema):
    """The owner's list: the number masked."""

    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(list(QUALIFICATION_KINDS)))
    kind_name = fields.Function(lambda q: QUALIFICATION_KINDS[q.kind],
                                metadata={"type": "string"})
    title = fields.String()
    number = fields.Function(lambda q: mask_id_number(q.number), metadata={"type": "string"})
    issuer = fields.String(allow_none=True)
    issued_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True, metadata={"description": "为空表示长期有效"})
    expired = fields.Function(_expired, metadata={"type": "boolean",
                                                  "description": "已过期(不再计入认证)"})
    status = fields.String(validate=validate.OneOf(list(QUALIFICATION_STATUSES)))
    status_name = fields.Function(lambda q: QUALIFICATION_STATUSES[q.status],
                                  metadata={"type": "string"})
    review_round = fields.Integer()
    reject_reason = fields.String(allow_none=True)
    reviewed_at = LocalDateTime(allow_none=True)
    file_ids = fields.Function(lambda q: [f.file_id for f in q.files],
                               metadata={"type": "array", "items": {"type": "integer"}})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class QualificationDetailSchema(QualificationSchema):
    """One of the owner's own, as its edit form shows it: the number in full."""

    number = fields.String()


class StaffQualificationQuerySchema(PageQuerySchema):
    status = fields.String(load_default="pending",
                           validate=validate.OneOf(list(QUALIFICATION_STATUSES)))
    kind = fields.String(validate=validate.OneOf(list(QUALIFICATION_KINDS)))
    caregiver_id = fields.Integer(validate=_ID)


class StaffQualificationSchema(QualificationSchema):
    """A reviewer's list row: whose it is; the number masked."""

    caregiver_id = fields.Integer()
    caregiver_name = fields.Function(lambda q: q.caregiver_name, allow_none=True,
                                     metadata={"type": "string"})


class QualificationFileSchema(BaseSchema):
    id = fields.Integer()
    content_type = fields.String(validate=validate.OneOf(["image/jpeg", "image/png",
                                                          "application/pdf"]))


class StaffQualificationDetailSchema(StaffQualificationSchema):
    """What a reviewer compares with the scans: the full number and the files (their bytes
    through GET /api/v1/files/{id})."""

    number = fields.String()
    files = fields.Function(lambda q: [{"id": f.id, "content_type": f.content_type}
                                       for f in q.stored_files],
                            metadata={"type": "array", "items": {
                                "type": "object",
                                "properties": {"id": {"type": "integer"},
                                               "content_type": {"type": "string"}}}})
    reviewed_by_staff_id = fields.Integer(allow_none=True)
    expiry_warned_at = LocalDateTime(allow_none=True)


class QualificationDecisionSchema(BaseSchema):
    approve = fields.Boolean(required=True)
    reason = Text(200, min_length=2, allow_none=True)
