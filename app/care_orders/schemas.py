from marshmallow import fields, validate

from app.care_orders.models import DISPATCH_MODES, STATUS_NAMES
from app.care_orders.services import CAREGIVER_VIEWS
from app.caregivers.models import CARE_TYPES
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, StatusList, Text
from app.payments.schemas import PayParamsSchema, PaymentSchema
from app.points.schemas import points_field

_ID = {"strict": True, "validate": validate.Range(min=1, max=2**31 - 1)}


class CareOrderRequestSchema(BaseSchema):
    """What a family asks for; the quote and the order take the same body."""

    caregiver_id = fields.Integer(allow_none=True, load_default=None, **_ID, metadata={
        "description": "指定的护工;不传或为 null 时由平台派单"})
    care_type = fields.String(required=True, validate=validate.OneOf(list(CARE_TYPES)))
    start = fields.DateTime(required=True, metadata={
        "description": "开始时间(带时区,整点或半点),例如 2026-12-01T08:00:00+08:00"})
    end = fields.DateTime(required=True, metadata={"description": "结束时间(不含),整点或半点"})
    patient_id = fields.Integer(required=True, **_ID)
    hospital_id = fields.Integer(allow_none=True, load_default=None, **_ID, metadata={
        "description": "在医院陪护时的医院;不在医院时改填 address 与 city_code"})
    department = Text(64, allow_none=True, metadata={"description": "科室"})
    bed = Text(32, allow_none=True, metadata={"description": "床号"})
    address = Text(200, allow_none=True, metadata={"description": "服务地址(不在医院时)"})
    city_code = fields.String(allow_none=True, validate=validate.Regexp(r"^\d{6}$"),
                              metadata={"description": "服务地址所在城市的行政区划代码"})
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    skills = fields.List(Text(32, min_length=1), validate=validate.Length(max=10),
                         load_default=list, metadata={"description": "需要的护理技能标签"})
    needs = Text(1000, allow_none=True, metadata={"description": "病情与护理需求(仅本人与接单护工可见)"})
    points = points_field()


class QuoteSchema(BaseSchema):
    caregiver_id = fields.Integer(allow_none=True)
    dispatch_mode = fields.String(validate=validate.OneOf(list(DISPATCH_MODES)))
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    start = fields.DateTime()
    end = fields.DateTime()
    units = fields.Integer(metadata={"description": "计费单位数(天/班/小时/次)"})
    unit_price_fen = fields.Integer()
    base_fen = fields.Integer(metadata={"description": "单价 × 单位数"})
    nights = fields.Integer(metadata={"description": "涉及的夜间(22:00–06:00)数"})
    night_surcharge_fen = fields.Integer(metadata={"description": "每晚夜间加价"})
    night_fen = fields.Integer()
    urgent = fields.Boolean()
    urgent_fen = fields.Integer()
    discount_bp = fields.Integer(metadata={"description": "长单优惠(万分比)"})
    discount_fen = fields.Integer()
    member_discount_bp = fields.Integer(metadata={"description": "会员折扣(万分比)"})
    member_discount_fen = fields.Integer(metadata={"description": "会员折扣减免(分)"})
    total_fen = fields.Integer(metadata={"description": "应付总额(分)"})
    points_used = fields.Integer(metadata={"description": "使用的积分"})
    points_discount_fen = fields.Integer(metadata={"description": "积分抵扣(分)"})
    payable_fen = fields.Integer(metadata={"description": "积分抵扣后实付(分)"})


class CareOrderPlaceSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()


class CareOrderCaregiverSchema(CareOrderPlaceSchema):
    photo_url = fields.String(allow_none=True)


class PriceSchema(BaseSchema):
    units = fields.Integer()
    unit_price_fen = fields.Integer()
    base_fen = fields.Integer()
    night_fen = fields.Integer()
    urgent_fen = fields.Integer()
    discount_fen = fields.Integer()
    member_discount_fen = fields.Integer(metadata={"description": "会员折扣减免(分)"})
    points_used = fields.Integer(metadata={"description": "使用的积分"})
    points_discount_fen = fields.Integer(metadata={"description": "积分抵扣(分),已从 total_fen 中减去"})
    total_fen = fields.Integer()


class CareOrderSchema(BaseSchema):
    id = fields.Integer()
    order_no = fields.String()
    status = fields.String(validate=validate.OneOf(list(STATUS_NAMES)))
    status_name = fields.String()
    dispatch_mode = fields.String(validate=validate.OneOf(list(DISPATCH_MODES)))
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    care_type_name = fields.String()
    start = fields.DateTime()
    end = fields.DateTime()
    city_code = fields.String()
    hospital = fields.Nested(CareOrderPlaceSchema, allow_none=True)
    department = fields.String(allow_none=True)
    bed = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    skills = fields.List(fields.String())
    needs = fields.String(allow_none=True)
    patient_name = fields.String(metadata={"description": "就诊人姓名(护工看到的是脱敏姓名)"})
    price = fields.Nested(PriceSchema)
    refunded_fen = fields.Integer(metadata={"description": "已申请退回的金额(分)"})
    caregiver = fields.Nested(CareOrderCaregiverSchema, allow_none=True)
    acceptance_deadline = fields.DateTime(allow_none=True, metadata={
        "description": "护工接单截止时间"})
    created_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class EventSchema(BaseSchema):
    at = fields.DateTime()
    kind = fields.String()
    status = fields.String(validate=validate.OneOf(list(STATUS_NAMES)))
    status_name = fields.String()
    actor = fields.String(validate=validate.OneOf(["family", "caregiver", "staff", "system"]))
    note = fields.String(allow_none=True)


class CareOrderDetailSchema(CareOrderSchema):
    timeline = fields.List(fields.Nested(EventSchema))


class CareOrderResultSchema(BaseSchema):
    order = fields.Nested(CareOrderSchema)
    payment = fields.Nested(PaymentSchema, allow_none=True)
    pay_params = fields.Nested(PayParamsSchema, allow_none=True)


class CareOrderQuerySchema(PageQuerySchema):
    status = StatusList(STATUS_NAMES, metadata={
        "description": "订单状态,可重复或用逗号分隔;不传为全部"})


class CaregiverOrderQuerySchema(PageQuerySchema):
    view = fields.String(load_default="inbox", validate=validate.OneOf(list(CAREGIVER_VIEWS)),
                         metadata={"description": "inbox 待接单;schedule 日程;history 历史"})


class CancelSchema(BaseSchema):
    reason = Text(200, allow_none=True)


class RejectSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2)


class StartSchema(BaseSchema):
    latitude = fields.Float(allow_none=True, load_default=None,
                            validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, load_default=None,
                             validate=validate.Range(min=-180, max=180))


class ServiceRecordCreateSchema(BaseSchema):
    condition = Text(1000, allow_none=True, metadata={"description": "患者情况"})
    care_given = Text(1000, allow_none=True, metadata={"description": "护理内容"})
    photo_file_ids = fields.List(fields.Integer(**_ID), load_default=list,
                                 validate=validate.Length(max=9))


class ServiceRecordSchema(BaseSchema):
    id = fields.Integer()
    recorded_at = fields.DateTime()
    condition = fields.String(allow_none=True)
    care_given = fields.String(allow_none=True)
    photo_urls = fields.List(fields.String())
