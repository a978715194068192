import re

from marshmallow import ValidationError, fields, validate

from app.availability.models import EXCEPTION_KINDS, WEEKDAYS
from app.availability.services import WEEKLY_WINDOWS_MAX
from app.common.validation import BaseSchema, LocalDateTime, String, Text

_CLOCK = re.compile(r"^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$")


class ClockTime(String):
    """A time of day "HH:MM" on the half-hour grid ("08:00", "08:30"; "24:00" = the end of the
    day), loaded as minutes after local midnight and dumped back as "HH:MM"."""

    def __init__(self, **kwargs):
        metadata = {"pattern": _CLOCK.pattern, "example": "08:30", **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return f"{value // 60:02d}:{value % 60:02d}"

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        match = _CLOCK.match(text)
        if not match:
            raise ValidationError("时间格式应为 HH:MM")
        hours, minutes = (int(g) for g in (match.group(1, 2) if match.group(1) else (24, 0)))
        if minutes % 30:
            raise ValidationError("时间应为整点或半点(HH:00 或 HH:30)")
        return hours * 60 + minutes


_PLUS_LOST = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$")


class QueryDateTime(fields.DateTime):
    """ISO 8601 in a query string. An unencoded "+08:00" arrives as " 08:00" (a "+" in a URL
    query is a space); read it as the offset it was."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = _PLUS_LOST.sub(r"\1+\2", value)
        return super()._deserialize(value, attr, data, **kwargs)


# ---- input -------------------------------------------------------------------------------------

class AvailabilityWeeklyWindowInSchema(BaseSchema):
    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6),
                             metadata={"description": "0 = 周一 … 6 = 周日"})
    start = ClockTime(required=True)
    end = ClockTime(required=True, metadata={"description": "可为 24:00(当天结束)"})


class AvailabilityWeeklyPutSchema(BaseSchema):
    """每周固定可接单时间(整体替换)。时间为整点或半点,结束可为 24:00;同一天的时间段不能重叠,
    首尾相接的会合并保存。跨越午夜的夜班请拆成两段:例如周一 20:00 至周二 08:00 写作
    周一 20:00–24:00 与周二 00:00–08:00。"""

    windows = fields.List(fields.Nested(AvailabilityWeeklyWindowInSchema), required=True,
                          validate=validate.Length(max=WEEKLY_WINDOWS_MAX))


class AvailabilityExceptionCreateSchema(BaseSchema):
    """某一天的例外:off = 休息(不填时间则全天休息),extra = 加班(须填时间)。"""

    day = fields.Date(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(list(EXCEPTION_KINDS)))
    start = ClockTime(allow_none=True, load_default=None)
    end = ClockTime(allow_none=True, load_default=None)
    note = Text(64, allow_none=True, load_default=None)


class AvailabilityFreeQuerySchema(BaseSchema):
    start = QueryDateTime(required=True,
                          metadata={"description": "含时区,如 2026-01-01T08:00:00+08:00"})
    end = QueryDateTime(required=True, metadata={"description": "含时区,不含该时刻"})


# ---- output ------------------------------------------------------------------------------------

class AvailabilityWeeklyWindowSchema(BaseSchema):
    weekday = fields.Integer()
    weekday_name = fields.Function(lambda w: WEEKDAYS[w.weekday], metadata={"type": "string"})
    start = ClockTime(attribute="start_minute")
    end = ClockTime(attribute="end_minute")


class AvailabilityExceptionSchema(BaseSchema):
    id = fields.Integer()
    day = fields.Date()
    kind = fields.String(validate=validate.OneOf(list(EXCEPTION_KINDS)))
    kind_name = fields.Function(lambda e: EXCEPTION_KINDS[e.kind], metadata={"type": "string"})
    start = ClockTime(attribute="start_minute")
    end = ClockTime(attribute="end_minute")
    note = fields.String(allow_none=True)


class AvailabilitySchema(BaseSchema):
    weekly = fields.List(fields.Nested(AvailabilityWeeklyWindowSchema))
    exceptions = fields.List(fields.Nested(AvailabilityExceptionSchema),
                             metadata={"description": "今天及以后的例外"})


class AvailabilityFreeWindowSchema(BaseSchema):
    start = LocalDateTime()
    end = LocalDateTime()


class AvailabilityFreeWindowsSchema(BaseSchema):
    windows = fields.List(fields.Nested(AvailabilityFreeWindowSchema))
