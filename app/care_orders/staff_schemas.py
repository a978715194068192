from datetime import date

from marshmallow import ValidationError, fields, validate, validates_schema

from app.care_disputes.models import DISPUTE_STATUSES, OPENED_BY, OUTCOMES
from app.care_orders.models import ASSIGNMENT_STATUSES, DISPATCH_MODES, STATUS_NAMES
from app.care_orders.schemas import CareOrderSchema, EventSchema
from app.caregivers.models import CARE_TYPES
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, StatusList, Text
from app.payments.models import PAYMENT_STATUSES, REFUND_STATUSES

_ID = {"strict": True, "validate": validate.Range(min=1, max=2**31 - 1)}
_QUERY_ID = {"validate": validate.Range(min=1, max=2**31 - 1)}
# a day this platform can have orders on; year 1 or 9999 would overflow the UTC conversion
_SANE_DAY = validate.Range(min=date(2000, 1, 1), max=date(2099, 12, 31),
                           error="日期应在 2000-01-01 到 2099-12-31 之间")


def _int(low: int, high: int, description: str):
    """A policy value: a JSON integer (not a string, float or boolean) within [low, high]."""
    return fields.Integer(strict=True, validate=validate.Range(min=low, max=high),
                          metadata={"description": description})


# ---- search and detail -------------------------------------------------------------------------

class StaffCareOrderQuerySchema(PageQuerySchema):
    status = StatusList(STATUS_NAMES, metadata={
        "description": "订单状态,可重复或用逗号分隔;不传为全部"})
    order_no = Text(32, min_length=1, metadata={"description": "订单号(精确匹配)"})
    caregiver_id = fields.Integer(**_QUERY_ID)
    user_id = fields.Integer(**_QUERY_ID, metadata={"description": "下单用户"})
    city_code = fields.String(validate=validate.Regexp(r"^\d{6}$"))
    start_from = fields.Date(validate=_SANE_DAY, metadata={
        "description": "服务开始日期不早于(本地日期,含)"})
    start_to = fields.Date(validate=_SANE_DAY, metadata={
        "description": "服务开始日期不晚于(本地日期,含)"})
    dispatch_mode = fields.String(validate=validate.OneOf(list(DISPATCH_MODES)))

    @validates_schema
    def dates_in_order(self, data, **kwargs):
        if data.get("start_from") and data.get("start_to") \
                and data["start_from"] > data["start_to"]:
            raise ValidationError("结束日期不能早于开始日期", "start_to")


class StaffCareOrderSchema(CareOrderSchema):
    user_id = fields.Integer(metadata={"description": "下单用户"})
    caregiver_id = fields.Integer(allow_none=True, metadata={
        "description": "当前护工;平台派单待匹配时为空"})


class StaffCareOrderAssignmentSchema(BaseSchema):
    id = fields.Integer()
    caregiver_id = fields.Integer()
    caregiver_name = fields.String(metadata={"description": "护工姓名(脱敏)"})
    status = fields.String(validate=validate.OneOf(list(ASSIGNMENT_STATUSES)))
    by = fields.String(validate=validate.OneOf(["family", "match", "staff"]), metadata={
        "description": "family 用户指定;match 平台匹配;staff 人工改派"})
    deadline = fields.DateTime(metadata={"description": "接单截止时间"})
    decided_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    quote_fen = fields.Integer(metadata={"description": "该护工对本单的报价(分)"})


class StaffCareOrderPaymentSchema(BaseSchema):
    id = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(PAYMENT_STATUSES)))
    amount_fen = fields.Integer()
    refunded_fen = fields.Integer()
    paid_at = fields.DateTime(allow_none=True)


class StaffCareOrderRefundSchema(BaseSchema):
    id = fields.Integer()
    amount_fen = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(REFUND_STATUSES)))
    reason = fields.String()
    requested_by = fields.String()
    created_at = fields.DateTime()
    succeeded_at = fields.DateTime(allow_none=True)


class StaffCareOrderDisputeSchema(BaseSchema):
    id = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(DISPUTE_STATUSES)))
    outcome = fields.String(allow_none=True, validate=validate.OneOf(list(OUTCOMES)))
    opened_by = fields.String(validate=validate.OneOf(list(OPENED_BY)))
    refund_fen = fields.Integer(allow_none=True)
    opened_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class StaffCareOrderDetailSchema(StaffCareOrderSchema):
    timeline = fields.List(fields.Nested(EventSchema))
    assignments = fields.List(fields.Nested(StaffCareOrderAssignmentSchema), metadata={
        "description": "每次派单(指定、匹配、改派)及其结果"})
    payment = fields.Nested(StaffCareOrderPaymentSchema, allow_none=True)
    refunds = fields.List(fields.Nested(StaffCareOrderRefundSchema))
    dispute = fields.Nested(StaffCareOrderDisputeSchema, allow_none=True)
    service_record_count = fields.Integer()


# ---- reassign and cancel -----------------------------------------------------------------------

class StaffCareOrderReassignSchema(BaseSchema):
    caregiver_id = fields.Integer(required=True, **_ID, metadata={
        "description": "新护工:须在岗、同城、提供该服务、时段空闲,且报价不高于订单剩余金额"})
    reason = Text(200, required=True, min_length=2)


class StaffCareOrderCancelSchema(BaseSchema):
    refund_fen = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**31 - 1),
                                metadata={"description": "退给用户的金额(分),0 到订单剩余金额;"
                                                         "不传为全额退款;其余计入护工收入"})
    reason = Text(200, required=True, min_length=2)


# ---- the care policy ---------------------------------------------------------------------------

MAX_DISCOUNT_TIERS = 5
MAX_TIER_UNITS = 3650
MAX_DISCOUNT_BP = 5000

# one field per care type (the set lives in app/caregivers/models.py)
CareDispatchPricesSchema = BaseSchema.from_dict(
    {care_type: fields.Integer(metadata={"description": f"{name}(分/单位)"})
     for care_type, (name, _unit) in CARE_TYPES.items()}, name="CareDispatchPricesSchema")
CareDispatchPricesUpdateSchema = BaseSchema.from_dict(
    {care_type: fields.Integer(strict=True, validate=validate.Range(min=1, max=2**31 - 1),
                               metadata={"description": f"{name}(分/单位),须在服务价格标准内"})
     for care_type, (name, _unit) in CARE_TYPES.items()}, name="CareDispatchPricesUpdateSchema")


class CarePolicySchema(BaseSchema):
    urgent_hours = fields.Integer(metadata={"description": "开始时间距今少于此小时数为急单"})
    urgent_surcharge_bp = fields.Integer(metadata={"description": "急单加价(基础价的万分比)"})
    long_order_discounts = fields.List(fields.List(fields.Integer()), metadata={
        "description": "长单优惠:[[起始单位数, 优惠万分比], ...]"})
    dispatch_prices = fields.Nested(CareDispatchPricesSchema, metadata={
        "description": "平台派单的单价(分)"})
    dispatch_night_surcharge_fen = fields.Integer(metadata={
        "description": "平台派单每晚夜间加价(分)"})
    accept_minutes = fields.Integer(metadata={"description": "护工接单时限(分钟)"})
    max_dispatches = fields.Integer(metadata={"description": "每单最多派单次数,超过则全额退款"})
    auto_complete_hours = fields.Integer(metadata={
        "description": "服务结束后自动确认完成的小时数"})
    start_early_minutes = fields.Integer(metadata={"description": "可提前签到的分钟数"})
    cancel_after_accept_refund_bp = fields.Integer(metadata={
        "description": "接单后、开始前用户取消时退款的比例(万分比)"})
    commission_bp = fields.Integer(metadata={"description": "平台服务费比例(万分比)"})
    settlement_hold_days = fields.Integer(metadata={
        "description": "收入入账后到可结算的天数(纠纷期)"})


class CarePolicyUpdateSchema(BaseSchema):
    """Any of the policy's keys (the others keep their values); an unknown key is refused.
    Every value is a JSON integer (not a string, float or boolean) in a sane range."""

    urgent_hours = _int(0, 48, "开始时间距今少于此小时数为急单")
    urgent_surcharge_bp = _int(0, 10000, "急单加价(基础价的万分比)")
    long_order_discounts = fields.List(
        fields.List(fields.Integer(strict=True), validate=validate.Length(equal=2)),
        validate=validate.Length(max=MAX_DISCOUNT_TIERS), metadata={
            "description": f"长单优惠:[[起始单位数 ≥1, 优惠万分比 0–{MAX_DISCOUNT_BP}], ...],"
                           f"最多 {MAX_DISCOUNT_TIERS} 档,起始单位数不重复"})
    dispatch_prices = fields.Nested(CareDispatchPricesUpdateSchema, metadata={
        "description": "平台派单的单价(分),可只给部分服务类型;须在服务价格标准内"})
    dispatch_night_surcharge_fen = _int(0, 100000, "平台派单每晚夜间加价(分)")
    accept_minutes = _int(5, 1440, "护工接单时限(分钟)")
    max_dispatches = _int(1, 20, "每单最多派单次数,超过则全额退款")
    auto_complete_hours = _int(1, 168, "服务结束后自动确认完成的小时数")
    start_early_minutes = _int(0, 720, "可提前签到的分钟数")
    cancel_after_accept_refund_bp = _int(0, 10000, "接单后、开始前用户取消时退款的比例(万分比)")
    commission_bp = _int(0, 10000, "平台服务费比例(万分比)")
    settlement_hold_days = _int(1, 90, "收入入账后到可结算的天数(纠纷期)")

    @validates_schema
    def tiers(self, data, **kwargs):
        tiers = data.get("long_order_discounts")
        if tiers is None:
            return
        for units, basis_points in tiers:
            if not 1 <= units <= MAX_TIER_UNITS:
                raise ValidationError(f"起始单位数应在 1 到 {MAX_TIER_UNITS} 之间",
                                      "long_order_discounts")
            if not 0 <= basis_points <= MAX_DISCOUNT_BP:
                raise ValidationError(f"优惠万分比应在 0 到 {MAX_DISCOUNT_BP} 之间",
                                      "long_order_discounts")
        if len({units for units, _ in tiers}) != len(tiers):
            raise ValidationError("起始单位数不能重复", "long_order_discounts")
