from marshmallow import fields, validate

from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.hospital_webhooks.models import DELIVERY_STATUSES, ENDPOINT_STATUSES, EVENT_TYPES


class WebhookEndpointSetSchema(BaseSchema):
    url = Text(500, required=True, min_length=8,
               metadata={"description": "医院接收回调的 https 地址"})


class WebhookEndpointSchema(BaseSchema):
    hospital_id = fields.Integer()
    url = fields.String()
    status = fields.String(validate=validate.OneOf(list(ENDPOINT_STATUSES)))
    consecutive_failures = fields.Integer(metadata={"description": "连续投递失败的消息数"})
    disabled_at = LocalDateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class IssuedWebhookEndpointSchema(BaseSchema):
    endpoint = fields.Nested(WebhookEndpointSchema)
    secret = fields.String(metadata={"description": "签名密钥(whsec_…),只在此次返回中出现"})


class WebhookDeliveryQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(list(DELIVERY_STATUSES)))
    event_type = fields.String(validate=validate.OneOf(list(EVENT_TYPES)))


class WebhookDeliverySchema(BaseSchema):
    id = fields.String(metadata={"description": "webhook-id(msg_…),重发时不变"})
    hospital_id = fields.Integer()
    event_type = fields.String(validate=validate.OneOf(list(EVENT_TYPES)))
    registration_id = fields.Integer(allow_none=True)
    payload = fields.Dict(metadata={"description": "发送的消息体"})
    status = fields.String(validate=validate.OneOf(list(DELIVERY_STATUSES)))
    attempts = fields.Integer()
    next_attempt_at = LocalDateTime(allow_none=True)
    last_attempt_at = LocalDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_response = fields.String(allow_none=True, metadata={"description": "对方应答的前 2 KB"})
    last_error = fields.String(allow_none=True)
    succeeded_at = LocalDateTime(allow_none=True)
    failed_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
