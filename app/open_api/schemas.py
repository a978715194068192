"""Schemas of the open API (/open/v1): the batch inputs and the answers. The same classes feed
/open/openapi.json (app/open_api/openapi_doc.py)."""
from marshmallow import fields, validate

from app.booking.models import STATUS_NAMES
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.hospitals.models import DOCTOR_TITLES, PERIODS
from app.hospitals.schemas import Minutes

# department ids become the department's code as well, hence the code's alphabet and length
DEPARTMENT_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
                                error="编号只能包含字母、数字、下划线和连字符,最长 32 位")
EXTERNAL_ID = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$",
                              error="编号只能包含字母、数字和 _ . : -,最长 64 位")

KEPT_WHEN_ABSENT = "不传则保留现有内容(例如平台工作人员填写的),传 null 则清空"


def _items(item_schema, description):
    # the batch size limit (OPEN_API_BATCH_MAX) is checked by the service, with the config
    return fields.List(fields.Nested(item_schema), required=True,
                       validate=validate.Length(min=1, error="至少包含一项"),
                       metadata={"description": description})


class DepartmentItemSchema(BaseSchema):
    external_id = fields.String(required=True, validate=DEPARTMENT_ID, metadata={
        "description": "医院自己的科室编号(同时作为科室编码)"})
    name = Text(64, required=True, min_length=2)
    parent_external_id = fields.String(
        allow_none=True, load_default=None, validate=DEPARTMENT_ID,
        metadata={"description": "上级(一级)科室的编号;一级科室不填"})
    # optional fields: left out, a stored value (perhaps entered by staff) is kept; null clears
    intro = Text(2000, allow_none=True, metadata={"description": KEPT_WHEN_ABSENT})
    sort_order = fields.Integer(strict=True, validate=validate.Range(min=0, max=9999),
                                metadata={"description": "新建时默认 0;" + KEPT_WHEN_ABSENT})


class DoctorItemSchema(BaseSchema):
    external_id = fields.String(required=True, validate=EXTERNAL_ID,
                                metadata={"description": "医院自己的医生编号"})
    department_external_id = fields.String(required=True, validate=DEPARTMENT_ID)
    name = Text(32, required=True, min_length=2)
    title = fields.String(required=True, validate=validate.OneOf(
        DOCTOR_TITLES, error="职称应为以下之一: {choices}"))
    specialty = Text(200, allow_none=True, metadata={"description": KEPT_WHEN_ABSENT})
    intro = Text(5000, allow_none=True, metadata={"description": KEPT_WHEN_ABSENT})
    avatar_url = Text(512, allow_none=True, validate=validate.URL(
        schemes={"https", "http"}, error="头像地址不是合法的网址"),
        metadata={"description": KEPT_WHEN_ABSENT})


class ScheduleItemSchema(BaseSchema):
    external_id = fields.String(required=True, validate=EXTERNAL_ID,
                                metadata={"description": "医院自己的排班编号"})
    doctor_external_id = fields.String(required=True, validate=EXTERNAL_ID)
    work_date = fields.Date(required=True, metadata={"description": "就诊日期 YYYY-MM-DD"})
    period = fields.String(required=True, validate=validate.OneOf(
        list(PERIODS), error="时段应为以下之一: {choices}"))
    start_time = Minutes(load_default=None, metadata={
        "description": "默认按时段: 上午 08:00、下午 13:30、晚间 18:00"})
    end_time = Minutes(load_default=None)
    # at least 1 as for staff-made clinics: a clinic without numbers is stopped, not emptied
    total = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    fee_fen = fields.Integer(required=True, strict=True,
                             validate=validate.Range(min=0, max=1_000_000))


class DepartmentBatchSchema(BaseSchema):
    items = _items(DepartmentItemSchema, "至多 500 个科室,按编号新增或更新")


class DoctorBatchSchema(BaseSchema):
    items = _items(DoctorItemSchema, "至多 500 位医生,按编号新增或更新")


class ScheduleBatchSchema(BaseSchema):
    items = _items(ScheduleItemSchema, "至多 500 个排班,按编号新增或更新")


class BatchItemResultSchema(BaseSchema):
    external_id = fields.String(required=True)
    result = fields.String(required=True, validate=validate.OneOf(
        ["created", "updated", "unchanged"]))


class BatchResultSchema(BaseSchema):
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    unchanged = fields.Integer(required=True)
    items = fields.List(fields.Nested(BatchItemResultSchema), required=True)


class StopSchema(BaseSchema):
    reason = Text(80, required=True, min_length=1)


class StopResultSchema(BaseSchema):
    external_id = fields.String(required=True, metadata={"description": "医院的排班编号"})
    status = fields.String(required=True)
    stopped = fields.Integer(required=True, metadata={"description": "已预约并将退款的订单数"})
    closed = fields.Integer(required=True, metadata={"description": "未支付而关闭的订单数"})


class ChangesQuerySchema(BaseSchema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=200),
                           metadata={"description": "上次返回的 next_cursor;首次不填"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class RegistrationChangeSchema(BaseSchema):
    order_no = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(STATUS_NAMES)))
    schedule_external_id = fields.String(required=True, allow_none=True, metadata={
        "description": "医院的排班编号(平台创建的排班为空)"})
    doctor_external_id = fields.String(required=True, allow_none=True)
    department_external_id = fields.String(required=True, allow_none=True)
    visit_date = fields.Date(required=True)
    period = fields.String(required=True)
    visit_number = fields.Integer(required=True, allow_none=True)
    fee_fen = fields.Integer(required=True)
    patient_name = fields.String(required=True, metadata={"description": "脱敏"})
    updated_at = LocalDateTime(required=True)


class ChangesSchema(BaseSchema):
    items = fields.List(fields.Nested(RegistrationChangeSchema), required=True)
    next_cursor = fields.String(required=True, metadata={
        "description": "下次请求带上;没有新变化时与请求的 cursor 相同"})
    has_more = fields.Boolean(required=True)


class VisitResultSchema(BaseSchema):
    order_no = fields.String(required=True)
    status = fields.String(required=True)
    visited_at = LocalDateTime(required=True, allow_none=True)
