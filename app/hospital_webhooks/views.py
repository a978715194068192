"""Staff API of hospital webhooks: /api/v1/staff/hospitals/<id>/webhook (operator, admin)."""
from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import page_schema
from app.hospital_webhooks import services
from app.hospital_webhooks.schemas import (IssuedWebhookEndpointSchema, WebhookDeliveryQuerySchema,
                                           WebhookDeliverySchema, WebhookEndpointSchema,
                                           WebhookEndpointSetSchema)
from app.hospitals.services import HospitalNotFound

staff_blp = Blueprint("hospital_webhooks_staff", __name__, url_prefix="/api/v1/staff",
                      description="医院回调(Webhook)")
BASE = "/hospitals/<int:hospital_id>/webhook"


@staff_blp.get(BASE)
@staff_blp.errors(HospitalNotFound, services.WebhookNotConfigured)
@staff_required("operator")
@staff_blp.response(200, WebhookEndpointSchema)
def get_endpoint(hospital_id):
    """医院的回调地址与状态(不含密钥)"""
    return services.get_endpoint(current_staff(), hospital_id=hospital_id)


@staff_blp.put(BASE)
@staff_blp.errors(HospitalNotFound, services.InvalidWebhookUrl)
@staff_required("operator")
@staff_blp.arguments(WebhookEndpointSetSchema)
@staff_blp.response(200, IssuedWebhookEndpointSchema)
def set_endpoint(body, hospital_id):
    """设置或更换回调地址:生成新的签名密钥(只显示这一次),启用并清零失败计数"""
    return services.set_endpoint(current_staff(), hospital_id=hospital_id, url=body["url"])


@staff_blp.post(BASE + "/enable")
@staff_blp.errors(HospitalNotFound, services.WebhookNotConfigured, InvalidTransition)
@staff_required("operator")
@staff_blp.response(200, WebhookEndpointSchema)
def enable_endpoint(hospital_id):
    """重新启用已停用的回调地址"""
    return services.enable_endpoint(current_staff(), hospital_id=hospital_id)


@staff_blp.get(BASE + "/deliveries")
@staff_blp.errors(HospitalNotFound)
@staff_required("operator")
@staff_blp.arguments(WebhookDeliveryQuerySchema, location="query")
@staff_blp.response(200, page_schema(WebhookDeliverySchema))
def list_deliveries(query, hospital_id):
    """投递记录(可按状态、事件筛选,新的在前)"""
    return services.list_deliveries(current_staff(), hospital_id=hospital_id,
                                    status=query.get("status"),
                                    event_type=query.get("event_type"),
                                    page=query["page"], page_size=query["page_size"])


@staff_blp.get(BASE + "/deliveries/<string:delivery_id>")
@staff_blp.errors(HospitalNotFound, services.DeliveryNotFound)
@staff_required("operator")
@staff_blp.response(200, WebhookDeliverySchema)
def delivery_detail(hospital_id, delivery_id):
    """一条投递记录"""
    return services.delivery_detail(current_staff(), hospital_id=hospital_id,
                                    delivery_id=delivery_id)


@staff_blp.post(BASE + "/deliveries/<string:delivery_id>/redeliver")
@staff_blp.errors(HospitalNotFound, services.DeliveryNotFound, services.EndpointDisabled,
                  services.DeliveryInProgress)
@staff_required("operator")
@staff_blp.response(202, WebhookDeliverySchema)
def redeliver(hospital_id, delivery_id):
    """重发一条消息(同一 webhook-id,立即再投递一次)"""
    return services.redeliver(current_staff(), hospital_id=hospital_id,
                              delivery_id=delivery_id)
