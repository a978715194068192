"""Staff registrations (挂号) in the API: the search's filters, what a row and a detail show
(personal data masked by the service), and a staff cancel's body."""
from datetime import date

from marshmallow import ValidationError, fields, validate, validates_schema

from app.booking.models import STATUS_NAMES
from app.common.identity import MOBILE
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, StatusList, Text
from app.hospitals.models import PERIODS
from app.patients.models import GENDERS
from app.payments.models import PAYMENT_STATUSES, REFUND_STATUSES

_QUERY_ID = {"validate": validate.Range(min=1, max=2**31 - 1)}
# a day this platform can have orders on (a far year would only ever find nothing)
_SANE_DAY = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31),
                           error="日期应在 2000-01-01 到 2099-12-31 之间")
TIMELINE_KINDS = ("created", "paid", "closed", "cancelled", "stopped", "visited", "refunded",
                  "refund_requested", "refund_succeeded", "message")


class StaffRegistrationQuerySchema(PageQuerySchema):
    status = StatusList(STATUS_NAMES, metadata={
        "description": "订单状态,可重复或用逗号分隔;不传为全部"})
    order_no = Text(32, min_length=1, metadata={"description": "订单号(精确匹配)"})
    hospital_id = fields.Integer(**_QUERY_ID)
    user_id = fields.Integer(**_QUERY_ID, metadata={"description": "下单用户"})
    patient_phone = Text(11, validate=validate.Regexp(MOBILE, error="手机号格式不正确"),
                         metadata={"description": "就诊人手机号(完整号码)"})
    visit_from = fields.Date(validate=_SANE_DAY, metadata={"description": "就诊日期不早于(含)"})
    visit_to = fields.Date(validate=_SANE_DAY, metadata={"description": "就诊日期不晚于(含)"})

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        if data.get("visit_from") and data.get("visit_to") \
                and data["visit_from"] > data["visit_to"]:
            raise ValidationError("结束日期不能早于开始日期", "visit_to")


class StaffRegistrationNamedSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()


class StaffRegistrationDoctorSchema(StaffRegistrationNamedSchema):
    title = fields.String(allow_none=True)


class StaffRegistrationSchema(BaseSchema):
    id = fields.Integer()
    order_no = fields.String()
    status = fields.String(validate=validate.OneOf(list(STATUS_NAMES)))
    status_name = fields.String()
    user_id = fields.Integer(metadata={"description": "下单用户"})
    patient_id = fields.Integer()
    patient_name = fields.String(metadata={"description": "就诊人姓名(脱敏)"})
    hospital = fields.Nested(StaffRegistrationNamedSchema)
    department = fields.Nested(StaffRegistrationNamedSchema)
    doctor = fields.Nested(StaffRegistrationDoctorSchema)
    schedule_id = fields.Integer()
    visit_date = fields.Date()
    period = fields.String(validate=validate.OneOf(list(PERIODS)))
    period_name = fields.String()
    start_time = fields.String(metadata={"example": "08:30"})
    end_time = fields.String(metadata={"example": "12:00"})
    fee_fen = fields.Integer()
    visit_number = fields.Integer(allow_none=True, metadata={"description": "支付后分配的就诊序号"})
    refunded_fen = fields.Integer(metadata={"description": "已退回的金额(分)"})
    created_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)


class StaffRegistrationPatientSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "脱敏"})
    phone = fields.String(allow_none=True, metadata={"description": "脱敏"})
    id_type = fields.String()
    id_number = fields.String(metadata={"description": "脱敏"})
    gender = fields.String(validate=validate.OneOf(list(GENDERS)))
    gender_name = fields.String()
    deleted = fields.Boolean(metadata={"description": "用户已删除该就诊人"})


class StaffRegistrationPaymentSchema(BaseSchema):
    id = fields.Integer()
    out_trade_no = fields.String()
    status = fields.String(validate=validate.OneOf(list(PAYMENT_STATUSES)))
    amount_fen = fields.Integer()
    refunded_fen = fields.Integer()
    paid_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class StaffRegistrationRefundSchema(BaseSchema):
    id = fields.Integer()
    out_refund_no = fields.String()
    amount_fen = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(REFUND_STATUSES)))
    status_name = fields.String()
    reason = fields.String()
    requested_by = fields.String(metadata={"description": "system,或 staff:<员工ID>"})
    failure_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    succeeded_at = fields.DateTime(allow_none=True)


class StaffRegistrationEventSchema(BaseSchema):
    at = fields.DateTime()
    kind = fields.String(validate=validate.OneOf(TIMELINE_KINDS), metadata={
        "description": "订单状态的变化、退款,以及发给用户的通知(message)"})
    title = fields.String()
    note = fields.String(allow_none=True)


class StaffRegistrationDetailSchema(StaffRegistrationSchema):
    patient = fields.Nested(StaffRegistrationPatientSchema, allow_none=True)
    stop_reason = fields.String(allow_none=True, metadata={"description": "停诊原因"})
    cancel_deadline = fields.DateTime(metadata={"description": "用户自行取消的截止时间"})
    cancellable = fields.Boolean(metadata={"description": "平台可取消(待支付或已预约)"})
    visitable = fields.Boolean(metadata={"description": "可标记已就诊(已预约)"})
    payment = fields.Nested(StaffRegistrationPaymentSchema, allow_none=True)
    refunds = fields.List(fields.Nested(StaffRegistrationRefundSchema))
    timeline = fields.List(fields.Nested(StaffRegistrationEventSchema))


class StaffRegistrationCancelSchema(BaseSchema):
    # the refund keeps the reason whole (its column holds 80)
    reason = Text(80, required=True, min_length=2, metadata={
        "description": "取消原因(用户可见,记在退款上)"})
