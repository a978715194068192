from marshmallow import fields, validate

from app.announcements.models import SEGMENTS
from app.common.validation import BaseSchema, LocalDateTime, String, Text

SEGMENT_HELP = ("all 全部用户;caregivers 护工(已通过或暂停接单);city 某城市的用户(在该城市挂号、"
                "下陪护单或提供陪护);booking_range 挂号就诊日期在某范围内(已预约、已就诊或爽约)的用户")


class AnnouncementCreateSchema(BaseSchema):
    """Which fields a segment needs (city_code, date_from/date_to) is checked by the service,
    with a code of its own per mistake."""

    title = Text(64, required=True, min_length=1, metadata={"description": "标题"})
    body = Text(500, required=True, min_length=1, metadata={"description": "正文(站内信全文)"})
    page = Text(200, allow_none=True, load_default=None, validate=[
        validate.Length(min=1, max=200),
        validate.Regexp(r"^[A-Za-z0-9_\-/]+(\?[A-Za-z0-9_\-=&]*)?$", error="页面路径格式不正确")],
        metadata={"description": "点击微信消息打开的小程序页面;不填为消息列表"})
    segment = String(required=True, validate=validate.OneOf(list(SEGMENTS)),
                     metadata={"description": SEGMENT_HELP})
    city_code = String(allow_none=True, load_default=None, validate=validate.Regexp(
        r"^[1-9][0-9]{5}$", error="城市代码应为 6 位数字"),
        metadata={"description": "城市代码,segment=city 时必填"})
    date_from = fields.Date(allow_none=True, load_default=None,
                            metadata={"description": "就诊日期起(含),segment=booking_range 时必填"})
    date_to = fields.Date(allow_none=True, load_default=None, metadata={
        "description": "就诊日期止(含),segment=booking_range 时必填;范围不超过 366 天"})


class PushProgressSchema(BaseSchema):
    total = fields.Integer(metadata={"description": "微信推送总数(有剩余订阅次数的收件人)"})
    sent = fields.Integer(metadata={"description": "已送达微信"})
    failed = fields.Integer(metadata={"description": "发送失败(重试后仍失败,或收件人不可用)"})
    no_quota = fields.Integer(metadata={"description": "用户已无订阅次数,未发送(只收到站内信)"})
    pending = fields.Integer(metadata={"description": "等待发送或重试中"})


class AnnouncementSchema(BaseSchema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    page = fields.String(allow_none=True)
    segment = fields.String(validate=validate.OneOf(list(SEGMENTS)))
    city_code = fields.String(allow_none=True)
    date_from = fields.Date(allow_none=True)
    date_to = fields.Date(allow_none=True)
    status = fields.String(validate=validate.OneOf(["sending", "completed"]), metadata={
        "description": "sending 发送中;completed 站内信已全部写入且微信推送都有了结果"})
    total = fields.Integer(metadata={"description": "收件人数(创建时该范围内的正常用户)"})
    inbox_count = fields.Integer(metadata={"description": "已写入站内信的人数"})
    pushes = fields.Nested(PushProgressSchema)
    created_by_staff_id = fields.Integer()
    created_at = LocalDateTime()
    finished_at = LocalDateTime(allow_none=True, metadata={"description": "全部完成的时间"})

