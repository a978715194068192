from marshmallow import fields, validate

from app.booking.models import STATUS_NAMES
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.hospitals import rules
from app.hospitals.models import PERIODS
from app.payments.schemas import PayParamsSchema, PaymentSchema


class RegistrationCreateSchema(BaseSchema):
    schedule_id = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=1, max=2**31 - 1))
    patient_id = fields.Integer(required=True, strict=True,
                                validate=validate.Range(min=1, max=2**31 - 1))


class RegistrationQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(list(STATUS_NAMES)))


class _Named(BaseSchema):
    id = fields.Integer()
    name = fields.String()


class _Doctor(_Named):
    title = fields.String()


class RegistrationSchema(BaseSchema):
    id = fields.Integer()
    order_no = fields.String()
    status = fields.String()
    status_name = fields.Function(lambda r: STATUS_NAMES.get(r.status, r.status))
    hospital = fields.Nested(_Named)
    department = fields.Nested(_Named)
    doctor = fields.Nested(_Doctor)
    schedule_id = fields.Integer()
    patient_id = fields.Integer()
    patient_name = fields.String()
    visit_date = fields.Date()
    period = fields.String()
    period_name = fields.Function(lambda r: PERIODS.get(r.period, r.period))
    start_time = fields.Function(lambda r: r.schedule.start_time.strftime("%H:%M"))
    end_time = fields.Function(lambda r: r.schedule.end_time.strftime("%H:%M"))
    fee_fen = fields.Integer()
    visit_number = fields.Integer()
    cancel_deadline = fields.Function(
        lambda r: rules.cancel_deadline(r.hospital, r.visit_date).isoformat(timespec="minutes"))
    created_at = LocalDateTime()
    paid_at = LocalDateTime()
    cancelled_at = LocalDateTime()


class BookingResultSchema(BaseSchema):
    registration = fields.Nested(RegistrationSchema)
    payment = fields.Nested(PaymentSchema, allow_none=True)
    pay_params = fields.Nested(PayParamsSchema, allow_none=True)


class StopScheduleSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2)


class StopResultSchema(BaseSchema):
    schedule_id = fields.Integer()
    stopped = fields.Integer()
    closed = fields.Integer()
