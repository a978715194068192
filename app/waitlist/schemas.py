from marshmallow import fields, validate

from app.booking.schemas import status_fields
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, StatusList
from app.hospitals.models import PERIODS
from app.waitlist.models import STATUS_NAMES
from app.waitlist.services import position_of

_ID = validate.Range(min=1, max=2**31 - 1)


class WaitlistCreateSchema(BaseSchema):
    schedule_id = fields.Integer(required=True, strict=True, validate=_ID)
    patient_id = fields.Integer(required=True, strict=True, validate=_ID)


class WaitlistQuerySchema(PageQuerySchema):
    status = StatusList(STATUS_NAMES, metadata={"description": "候补状态,可重复或用逗号分隔;不传为全部"})


def _computed(field: fields.Field, getter) -> fields.Field:
    field.get_value = lambda obj, attr, accessor=None, default=None: getter(obj)
    return field


class _WaitlistNamed(BaseSchema):
    id = fields.Integer()
    name = fields.String()


class _WaitlistSchedule(BaseSchema):
    id = fields.Integer()
    hospital = fields.Nested(_WaitlistNamed)
    department = fields.Nested(_WaitlistNamed)
    doctor = fields.Nested(_WaitlistNamed)
    work_date = fields.Date()
    period = fields.String(validate=validate.OneOf(list(PERIODS)))
    period_name = fields.Function(lambda s: PERIODS.get(s.period, s.period),
                                  metadata={"type": "string"})
    start_time = fields.Function(lambda s: s.start_time.strftime("%H:%M"),
                                 metadata={"type": "string", "example": "08:30"})
    end_time = fields.Function(lambda s: s.end_time.strftime("%H:%M"),
                               metadata={"type": "string", "example": "12:00"})
    fee_fen = fields.Integer()


def _offered(getter):
    """A hold's value while the entry is offered, else None."""
    return lambda entry: getter(entry) if entry.status == "offered" else None


class WaitlistEntrySchema(BaseSchema):
    id = fields.Integer()
    status, status_name = status_fields(STATUS_NAMES)
    schedule_id = fields.Integer()
    schedule = fields.Nested(_WaitlistSchedule)
    patient_id = fields.Integer()
    priority = fields.Integer(metadata={"description": "候补优先级(会员等级),高者优先"})
    position = _computed(fields.Integer(allow_none=True, metadata={
        "description": "在该号源候补队列中的位置(从 1 起),非候补中为 null"}), position_of)
    registration_id = _computed(fields.Integer(allow_none=True, metadata={
        "description": "为您保留号源的挂号订单(待支付),用它发起支付"}),
        _offered(lambda entry: entry.registration_id))
    pay_deadline = _computed(LocalDateTime(allow_none=True, metadata={
        "description": "保留号源的支付截止时间,逾期转给下一位候补者"}),
        _offered(lambda entry: entry.hold_expires_at))
    booked_registration_id = _computed(fields.Integer(allow_none=True, metadata={
        "description": "候补成功后的挂号订单"}),
        lambda entry: entry.registration_id if entry.status == "booked" else None)
    end_reason = fields.String(allow_none=True)
    created_at = LocalDateTime()
    offered_at = LocalDateTime(allow_none=True)
    booked_at = LocalDateTime(allow_none=True)
    ended_at = LocalDateTime(allow_none=True)


class StaffWaitlistQuerySchema(WaitlistQuerySchema):
    pass


class StaffWaitlistEntrySchema(BaseSchema):
    id = fields.Integer()
    status, status_name = status_fields(STATUS_NAMES)
    user_id = fields.Integer()
    patient_id = fields.Integer()
    patient_name = _computed(fields.String(metadata={"description": "脱敏姓名"}),
                             lambda entry: vars(entry).get("_masked_name"))
    priority = fields.Integer()
    position = _computed(fields.Integer(allow_none=True), position_of)
    registration_id = fields.Integer(allow_none=True)
    hold_expires_at = LocalDateTime(allow_none=True)
    end_reason = fields.String(allow_none=True)
    created_at = LocalDateTime()
    ended_at = LocalDateTime(allow_none=True)
