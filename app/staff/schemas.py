from marshmallow import fields, validate

from app.common.masking import mask_id_number
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, String, Text
from app.staff.models import STAFF_ROLES


class StaffLoginSchema(BaseSchema):
    username = Text(32, required=True, min_length=1)
    password = String(required=True, validate=validate.Length(min=1, max=128))  # not trimmed


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
    id_number = fields.Function(lambda r: mask_id_number(r.id_number), metadata={"type": "string"})
    id_photo_file_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(["pending", "verified", "rejected"]))
    reject_reason = fields.String(allow_none=True)
    id_number_taken = fields.Boolean(metadata={
        "description": "该证件号已在其他账号完成实名认证(通过时将自动驳回)"})
    created_at = LocalDateTime()
    reviewed_at = LocalDateTime(allow_none=True)


class RealNameDecisionSchema(BaseSchema):
    approve = fields.Boolean(required=True)
    reason = Text(200, min_length=2)


class BanUserSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2)


class UnbanUserSchema(BaseSchema):
    # optional, so clients that unban without a body keep working; when given it is kept on
    # the user (users.unban_reason) and in the audit log
    reason = Text(200, min_length=2, metadata={"description": "解封原因(选填)"})


class WarnUserSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2,
                  metadata={"description": "警告内容(用户会在消息中看到)"})


class UserWarningSchema(BaseSchema):
    id = fields.Integer()
    user_id = fields.Integer()
    staff_id = fields.Integer()
    reason = fields.String()
    created_at = LocalDateTime()

