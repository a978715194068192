from marshmallow import fields, validate

from app.booking_limits.models import FLAG_STATUSES
from app.booking_limits.services import LIMITS
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, Text


def _limit(name: str, required: bool):
    _key, low, high, what = LIMITS[name]
    return fields.Integer(required=required, strict=True, validate=validate.Range(
        min=low, max=high, error=f"应为 {low} 到 {high} 之间的整数"),
        metadata={"description": f"{what},{low}–{high}"})


BookingLimitsSchema = BaseSchema.from_dict(
    {name: fields.Integer(metadata={"description": LIMITS[name][3]}) for name in LIMITS},
    name="BookingLimitsSchema")
# any of the limits (the others keep their values); an unknown key is refused
BookingLimitsUpdateSchema = BaseSchema.from_dict(
    {name: _limit(name, False) for name in LIMITS}, name="BookingLimitsUpdateSchema")


class BookingLimitFlagSchema(BaseSchema):
    id = fields.Integer()
    user_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(FLAG_STATUSES)))
    last_limit = fields.String(metadata={"description": "最后触发的限制"})
    trips = fields.Integer(metadata={"description": "标记时当日触发次数"})
    flagged_at = LocalDateTime()
    resolved_by = fields.Integer(allow_none=True)
    resolved_at = LocalDateTime(allow_none=True)
    note = fields.String(allow_none=True)


class BookingLimitFlagQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(list(FLAG_STATUSES)))


class ResolveFlagSchema(BaseSchema):
    note = Text(200, required=True, min_length=1)
