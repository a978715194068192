"""Schemas of the catalogue: the public browse queries and answers, and the staff write inputs.

The public answers are built by the services as plain JSON-ready dicts (they go through the
Redis cache as JSON), so dates and times are already strings here: dates "YYYY-MM-DD", clock
times "HH:MM", instants ISO 8601 with the +08:00 offset.
"""
from marshmallow import ValidationError, fields, validate

from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, Text
from app.hospitals.models import DOCTOR_TITLES, HOSPITAL_LEVELS, PERIODS, SCHEDULE_STATUSES

REGION_CODE = r"^[1-9]\d{5}$"
_region = validate.Regexp(REGION_CODE, error="地区编码应为 6 位数字")
_code = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$",
                        error="编号只能包含字母、数字、下划线和连字符")
_phone = validate.Regexp(r"^[0-9+][0-9 ()+-]{2,31}$", error="电话格式不正确")
_level = validate.OneOf(list(HOSPITAL_LEVELS), error="医院等级应为以下之一: {choices}")
WINDOW_STATES = ("not_released", "open", "closed")  # app/hospitals/rules.py window_state
CALENDAR_STATES = WINDOW_STATES + ("full", "stopped", "none")


def _date(metadata=None, **kwargs):
    return fields.String(metadata={"format": "date", **(metadata or {})}, **kwargs)


def _clock(metadata=None, **kwargs):
    return fields.String(metadata={"example": "08:30", **(metadata or {})}, **kwargs)


class Minutes(fields.Time):
    """A clock time to the minute ("08:30"; "08:30:00" is accepted too)."""

    default_error_messages = {"invalid": "时间格式应为 HH:MM", "format": "时间格式应为 HH:MM"}

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if result.second or result.microsecond or result.tzinfo is not None:
            raise ValidationError("时间应精确到分钟,格式 HH:MM")
        return result


# ---- public browse ---------------------------------------------------------------------------

class HospitalQuerySchema(PageQuerySchema):
    keyword = Text(32, metadata={"description": "医院名称包含的文字"})
    level = fields.String(validate=_level, metadata={"description": "医院等级"})
    region = fields.String(validate=_region, metadata={
        "description": "行政区划代码(省 110000 / 市 110100 / 区县 110101)"})


class DayQuerySchema(BaseSchema):
    date = fields.Date(required=True, metadata={"description": "就诊日期 YYYY-MM-DD"})


class HospitalSchema(BaseSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.String(validate=_level)
    level_name = fields.String()
    province_code = fields.String()
    city_code = fields.String()
    district_code = fields.String()
    province_name = fields.String(allow_none=True, metadata={
        "description": "省名称(来自数据字典;编码不在字典中时为 null)"})
    city_name = fields.String(allow_none=True, metadata={"description": "市名称(来自数据字典)"})
    district_name = fields.String(allow_none=True, metadata={
        "description": "区县名称(来自数据字典)"})
    address = fields.String()
    phone = fields.String()


class BookingRulesSchema(BaseSchema):
    booking_days_ahead = fields.Integer(metadata={"description": "可提前预约的天数"})
    release_time = _clock(metadata={"description": "每日放号时间"})
    stop_time = _clock(metadata={"description": "就诊前一日停止预约的时间"})
    cancel_days_before = fields.Integer(metadata={"description": "就诊前几日截止退号"})
    cancel_time = _clock(metadata={"description": "退号截止时间"})


class DepartmentSchema(BaseSchema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    intro = fields.String(allow_none=True)


class DepartmentNodeSchema(DepartmentSchema):
    children = fields.List(fields.Nested(DepartmentSchema))


class HospitalDetailSchema(HospitalSchema):
    intro = fields.String(allow_none=True)
    notice = fields.String(allow_none=True)
    booking_rules = fields.Nested(BookingRulesSchema)
    departments = fields.List(fields.Nested(DepartmentNodeSchema))


class DepartmentRefSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    parent_id = fields.Integer(allow_none=True)


class CalendarDaySchema(BaseSchema):
    date = _date()
    weekday = fields.String(metadata={"example": "周一"})
    state = fields.String(validate=validate.OneOf(CALENDAR_STATES), metadata={
        "description": "not_released 未放号 / open 可预约 / full 约满 / stopped 停诊 / "
                       "none 无排班 / closed 已停止预约"})
    available = fields.Integer()
    total = fields.Integer()
    release_at = fields.String(metadata={"format": "date-time"})


class DepartmentCalendarSchema(BaseSchema):
    hospital_id = fields.Integer()
    department = fields.Nested(DepartmentRefSchema)
    days = fields.List(fields.Nested(CalendarDaySchema))


class ScheduleDoctorSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    specialty = fields.String(allow_none=True)
    avatar_url = fields.String(allow_none=True)


class DayScheduleSchema(BaseSchema):
    id = fields.Integer()
    department_id = fields.Integer()
    department_name = fields.String()
    doctor = fields.Nested(ScheduleDoctorSchema)
    period = fields.String(validate=validate.OneOf(list(PERIODS)))
    period_name = fields.String()
    start_time = _clock()
    end_time = _clock()
    fee_fen = fields.Integer()
    total = fields.Integer()
    available = fields.Integer()
    status = fields.String(validate=validate.OneOf(SCHEDULE_STATUSES),
                           metadata={"description": "open 出诊 / stopped 停诊"})
    stop_reason = fields.String(allow_none=True)
    bookable = fields.Boolean()


class DaySchedulesSchema(BaseSchema):
    hospital_id = fields.Integer()
    department = fields.Nested(DepartmentRefSchema)
    date = _date()
    weekday = fields.String()
    state = fields.String(validate=validate.OneOf(WINDOW_STATES),
                          metadata={"description": "该日的预约窗口: not_released / open / closed"})
    release_at = fields.String(metadata={"format": "date-time"})
    stop_at = fields.String(metadata={"format": "date-time"})
    items = fields.List(fields.Nested(DayScheduleSchema))


class HospitalRefSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    level = fields.String(validate=_level)
    level_name = fields.String()


class DoctorDetailSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()
    title = fields.String()
    specialty = fields.String(allow_none=True)
    intro = fields.String(allow_none=True)
    avatar_url = fields.String(allow_none=True)
    hospital = fields.Nested(HospitalRefSchema)
    department = fields.Nested(DepartmentRefSchema)


# ---- staff writes (the services load their input through these) ------------------------------

class HospitalWriteSchema(BaseSchema):
    code = Text(32, validate=_code)
    name = Text(64, min_length=2)
    level = fields.String(validate=_level)
    province_code = fields.String(validate=_region)
    city_code = fields.String(validate=_region)
    district_code = fields.String(validate=_region)
    address = Text(200, min_length=2)
    phone = Text(32, validate=_phone)
    intro = Text(5000, allow_none=True)
    notice = Text(2000, allow_none=True)
    booking_days_ahead = fields.Integer(strict=True, validate=validate.Range(min=1, max=30))
    release_time = Minutes()
    stop_time = Minutes()
    cancel_days_before = fields.Integer(strict=True, validate=validate.Range(min=0, max=30))
    cancel_time = Minutes()


class HospitalCreateSchema(HospitalWriteSchema):
    REQUIRED = ("code", "name", "level", "province_code", "city_code", "district_code",
                "address", "phone")
    is_active = fields.Boolean(load_default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.REQUIRED:
            self.fields[name].required = True


class HospitalUpdateSchema(HospitalWriteSchema):
    pass


class DepartmentCreateSchema(BaseSchema):
    code = Text(32, required=True, validate=_code)
    name = Text(64, required=True, min_length=2)
    intro = Text(2000, allow_none=True)
    sort_order = fields.Integer(strict=True, load_default=0,
                                validate=validate.Range(min=0, max=9999))
    parent_id = fields.Integer(strict=True, allow_none=True, load_default=None,
                               validate=validate.Range(min=1, max=2**63 - 1))


class DoctorWriteSchema(BaseSchema):
    department_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1))
    name = Text(32, min_length=2)
    title = fields.String(validate=validate.OneOf(DOCTOR_TITLES,
                                                  error="职称应为以下之一: {choices}"))
    specialty = Text(200, allow_none=True)
    intro = Text(5000, allow_none=True)
    avatar_url = Text(512, allow_none=True, validate=validate.URL(schemes={"https", "http"},
                                                                  error="头像地址不是合法的网址"))


class DoctorCreateSchema(DoctorWriteSchema):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("department_id", "name", "title"):
            self.fields[name].required = True


class DoctorUpdateSchema(DoctorWriteSchema):
    pass


class ScheduleCreateSchema(BaseSchema):
    doctor_id = fields.Integer(required=True, strict=True,
                               validate=validate.Range(min=1, max=2**63 - 1))
    department_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=2**63 - 1),
                                   metadata={"description": "默认为医生所在科室"})
    work_date = fields.Date(required=True)
    period = fields.String(required=True, validate=validate.OneOf(
        list(PERIODS), error="时段应为以下之一: {choices}"))
    start_time = Minutes(metadata={"description": "默认按时段: 上午 08:00、下午 13:30、晚间 18:00"})
    end_time = Minutes()
    total = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
    fee_fen = fields.Integer(required=True, strict=True,
                             validate=validate.Range(min=0, max=1_000_000))


class ScheduleTotalSchema(BaseSchema):
    total = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))
