from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, String, Text
from app.notifications.templates import CHANNELS, CONTEXT_SOURCES, FIELD_TYPES


class NotificationSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    ref_type = fields.String()
    ref_id = fields.Integer()
    read_at = LocalDateTime(allow_none=True, metadata={"description": "为空表示未读"})
    created_at = LocalDateTime()


class NotificationQuerySchema(PageQuerySchema):
    unread = fields.Boolean(metadata={"description": "true 只看未读,false 只看已读;不传为全部"})
    kind = fields.String(validate=validate.Regexp(r"^[a-z_]{1,32}$"), metadata={
        "description": "只看这一类消息,如 announcement(平台公告,首页展示)"})


class UnreadCountSchema(BaseSchema):
    unread = fields.Integer(required=True)


class MarkedReadSchema(BaseSchema):
    updated = fields.Integer(required=True)


# ---- subscriptions (wx.requestSubscribeMessage results) ------------------------------------

SUBSCRIBE_RESULTS = ("accept", "reject", "ban", "filter")
_TEMPLATE_ID = {"validate": validate.Regexp(r"^[A-Za-z0-9_\-]{1,64}$",
                                            error="模板 ID 格式不正确")}


class SubscribeResultSchema(BaseSchema):
    template_id = String(required=True, **_TEMPLATE_ID)
    result = fields.String(required=True, validate=validate.OneOf(SUBSCRIBE_RESULTS), metadata={
        "description": "wx.requestSubscribeMessage 对该模板的结果:accept 允许一次;reject 本次拒绝;"
                       "ban 已在设置中关闭(清零);filter 被微信过滤"})


class SubscriptionReportSchema(BaseSchema):
    results = fields.List(fields.Nested(SubscribeResultSchema), required=True,
                          validate=validate.Length(min=1, max=10))

    @validates_schema
    def each_template_once(self, data, **kwargs):
        ids = [item["template_id"] for item in data.get("results", [])]
        if len(ids) != len(set(ids)):
            raise ValidationError("同一模板只能出现一次", "results")


class SubscriptionSchema(BaseSchema):
    template_id = fields.String(required=True)
    title = fields.String(required=True, metadata={"description": "模板名称"})
    events = fields.List(fields.String(), required=True,
                         metadata={"description": "用这个模板推送的事件"})
    remaining = fields.Integer(required=True, metadata={"description": "剩余可推送次数"})


class SubscriptionListSchema(BaseSchema):
    items = fields.List(fields.Nested(SubscriptionSchema), required=True)


# ---- message templates (staff) --------------------------------------------------------------

class TemplateFieldSchema(BaseSchema):
    key = String(required=True, validate=validate.Regexp(
        rf"^({'|'.join(FIELD_TYPES)})\d{{1,2}}$",
        error=f"字段名应为类型加序号,如 thing1;类型可选: {', '.join(FIELD_TYPES)}"))
    source = fields.String(required=True, validate=validate.OneOf(CONTEXT_SOURCES), metadata={
        "description": "取值来源(消息上下文的键)"})


class MessageTemplateSchema(BaseSchema):
    event = fields.String(required=True)
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS), metadata={
        "description": "subscribe 小程序订阅消息(用户);official 公众号模板消息(已绑定的工作人员)"})
    template_id = fields.String(required=True)
    title = fields.String(required=True)
    fields_ = fields.List(fields.Nested(TemplateFieldSchema), required=True,
                          data_key="fields")
    page = fields.String(allow_none=True, required=True,
                         metadata={"description": "点击消息打开的小程序页面,{ref_id} 为所涉对象 id"})
    enabled = fields.Boolean(required=True)
    customized = fields.Boolean(required=True, metadata={"description": "是否已被修改(否则为默认)"})


class MessageTemplateListSchema(BaseSchema):
    items = fields.List(fields.Nested(MessageTemplateSchema), required=True)


class MessageTemplateUpdateSchema(BaseSchema):
    """Any of these; the others keep their values."""

    template_id = String(**_TEMPLATE_ID)
    title = Text(32, min_length=1)
    fields_ = fields.List(fields.Nested(TemplateFieldSchema), data_key="fields",
                          validate=validate.Length(min=1, max=10))
    page = Text(200, allow_none=True, validate=[validate.Length(min=1, max=200), validate.Regexp(
        r"^[A-Za-z0-9_\-/]+(\?[A-Za-z0-9_\-=&{}]*)?$", error="页面路径格式不正确")])
    enabled = fields.Boolean()

    @validates_schema
    def keys_once(self, data, **kwargs):
        keys = [field["key"] for field in data.get("fields_", [])]
        if len(keys) != len(set(keys)):
            raise ValidationError("字段名不能重复", "fields")
