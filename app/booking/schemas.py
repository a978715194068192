from marshmallow import fields, validate

from app.booking.models import STATUS_NAMES
from app.booking.services import registration_payment
from app.common.pagination import PageQuerySchema
from app.common.time import to_local
from app.common.validation import BaseSchema, LocalDateTime, StatusList, Text
from app.hospitals import rules
from app.hospitals.models import PERIODS
from app.payments.schemas import PayParamsSchema, PaymentSchema
from app.points.schemas import points_field


class RegistrationCreateSchema(BaseSchema):
    schedule_id = fields.Integer(required=True, strict=True,
                                 validate=validate.Range(min=1, max=2**31 - 1))
    patient_id = fields.Integer(required=True, strict=True,
                                validate=validate.Range(min=1, max=2**31 - 1))
    points = points_field()


class RegistrationQuerySchema(PageQuerySchema):
    status = StatusList(STATUS_NAMES, metadata={"description": "订单状态,可重复或用逗号分隔;不传为全部"})


class _Named(BaseSchema):
    id = fields.Integer()
    name = fields.String()


class _Doctor(_Named):
    title = fields.String()


# a failed refund still owes its amount: staff retry it, so the user reads "being handled"
REFUND_STATUS_NAMES = {"processing": "退款中", "succeeded": "已退款",
                       "failed": "退款异常,客服处理中"}


def status_fields(names: dict) -> tuple[fields.Field, fields.Field]:
    """`status` (an enum of `names`) and `status_name` (its Chinese name) for an output schema."""
    return (fields.String(validate=validate.OneOf(list(names))),
            fields.Function(lambda obj: names.get(obj.status, obj.status),
                            metadata={"type": "string"}))


class RegistrationRefundSchema(BaseSchema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    status, status_name = status_fields(REFUND_STATUS_NAMES)
    reason = fields.String()
    requested_at = LocalDateTime(attribute="created_at")
    succeeded_at = LocalDateTime(allow_none=True)


def _computed(field: fields.Field, getter) -> fields.Field:
    """A typed field (the OpenAPI document says what it holds) whose value comes from getter."""
    field.get_value = lambda obj, attr, accessor=None, default=None: getter(obj)
    return field


def _refunds(registration):
    payment = registration_payment(registration)
    return list(payment.refunds) if payment is not None else []


def _refunded_fen(registration) -> int:
    payment = registration_payment(registration)
    return (payment.refunded_fen or 0) if payment is not None else 0


def _pay_deadline(registration) -> str | None:
    """When an unpaid order closes by itself: its payment's expiry (none before prepay)."""
    if registration.status != "pending_payment":
        return None
    payment = registration_payment(registration)
    if payment is None or payment.status != "created":
        return None
    return to_local(payment.expires_at).isoformat(timespec="seconds")


class RegistrationSchema(BaseSchema):
    id = fields.Integer()
    order_no = fields.String()
    status, status_name = status_fields(STATUS_NAMES)
    hospital = fields.Nested(_Named)
    department = fields.Nested(_Named)
    doctor = fields.Nested(_Doctor)
    schedule_id = fields.Integer()
    patient_id = fields.Integer()
    patient_name = fields.String()
    visit_date = fields.Date()
    period = fields.String(validate=validate.OneOf(list(PERIODS)))
    period_name = fields.Function(lambda r: PERIODS.get(r.period, r.period),
                                  metadata={"type": "string"})
    start_time = fields.Function(lambda r: r.schedule.start_time.strftime("%H:%M"),
                                 metadata={"type": "string", "example": "08:30"})
    end_time = fields.Function(lambda r: r.schedule.end_time.strftime("%H:%M"),
                               metadata={"type": "string", "example": "12:00"})
    fee_fen = fields.Integer()
    points_used = fields.Integer(metadata={"description": "使用的积分"})
    points_discount_fen = fields.Integer(metadata={"description": "积分抵扣的金额(分),实付为 fee_fen 减去它"})
    visit_number = fields.Integer(allow_none=True, metadata={"description": "支付后分配的就诊序号"})
    cancel_deadline = fields.Function(
        lambda r: rules.cancel_deadline(r.hospital, r.visit_date).isoformat(timespec="minutes"),
        metadata={"type": "string", "example": "2026-03-01T17:00+08:00",
                  "description": "取消预约的截止时间(精确到分钟)"})
    created_at = LocalDateTime()
    # what happened: a pending order's pay deadline, the reason of a 停诊, the money returned
    pay_deadline = _computed(fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "待支付订单的支付截止时间,过时自动关闭"}),
        _pay_deadline)
    stop_reason = fields.String(allow_none=True, metadata={"description": "停诊原因"})
    refunded_fen = _computed(fields.Integer(metadata={"description": "已退回的金额(分)"}),
                             _refunded_fen)
    refunds = _computed(fields.List(fields.Nested(RegistrationRefundSchema)), _refunds)
    paid_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    cancelled_at = LocalDateTime(allow_none=True)
    stopped_at = LocalDateTime(allow_none=True)
    refunded_at = LocalDateTime(allow_none=True)
    visited_at = LocalDateTime(allow_none=True)


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
