from marshmallow import fields, validate

from app.common.masking import mask_id_number
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.staff.models import STAFF_ROLES


class StaffLoginSchema(BaseSchema):
    username = Text(32, required=True, min_length=1)
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class StaffSchema(BaseSchema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String(validate=validate.OneOf(list(STAFF_ROLES)))


class StaffLoginResultSchema(BaseSchema):
    token = fields.String()
    staff = fields.Nested(StaffSchema)


class RealNameReviewQuerySchema(PageQuerySchema):
    status = fields.String(load_default="pending",
                           validate=validate.OneOf(["pending", "verified", "rejected"]))


class RealNameReviewSchema(BaseSchema):
    """Reviewers compare the name with the photo; the number stays masked."""

    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    id_type = fields.String()
    id_number = fields.Function(lambda r: mask_id_number(r.id_number))
    id_photo_file_id = fields.Integer()
    status = fields.String()
    reject_reason = fields.String()
    created_at = LocalDateTime()
    reviewed_at = LocalDateTime()


class RealNameDecisionSchema(BaseSchema):
    approve = fields.Boolean(required=True)
    reason = Text(200, min_length=2)


class BanUserSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2)
