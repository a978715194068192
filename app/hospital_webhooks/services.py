"""Staff (operator, admin) manage a hospital's webhook endpoint and read its delivery log.

Everything is scoped by the hospital in the path: a delivery of another hospital is 404
through this one's id, never shown.
"""
import base64
import ipaddress
import secrets
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from app.common.models import InvalidTransition
from app.common.pagination import paginate, where_given
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.hospital_webhooks import events
from app.hospital_webhooks.models import WebhookDelivery, WebhookEndpoint
from app.hospitals.models import Hospital
from app.hospitals.services import HospitalNotFound
from app.staff.services import require_role

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


class WebhookNotConfigured(NotFound):
    code = "webhook_not_configured"
    message = "该医院未设置回调地址"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    message = "投递记录不存在"


class InvalidWebhookUrl(ValidationFailed):
    code = "invalid_webhook_url"
    message = "回调地址须为 https 地址"


class EndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"
    message = "回调地址已停用,请先重新启用"


class DeliveryInProgress(Conflict):
    code = "webhook_delivery_in_progress"
    message = "该消息正在发送,请稍后再试"


def new_secret() -> str:
    """Standard Webhooks form: "whsec_" + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    """https with a host name; http only to the loopback address when the configuration
    allows it (development, tests). No credentials in the URL, no private addresses."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.fragment:
        raise InvalidWebhookUrl()
    loopback_http = (parts.scheme == "http" and host in LOOPBACK_HOSTS
                     and current_app.config.get("HOSPITAL_WEBHOOK_ALLOW_HTTP_LOOPBACK"))
    if parts.scheme != "https" and not loopback_http:
        raise InvalidWebhookUrl()
    if not loopback_http:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if host in LOOPBACK_HOSTS or (address is not None and not address.is_global):
            raise InvalidWebhookUrl(message="回调地址不能是内网或本机地址")
    return url


def _hospital(hospital_id: int) -> Hospital:
    hospital = db.session.get(Hospital, hospital_id)
    if hospital is None:
        raise HospitalNotFound()
    return hospital


def _one(statement, lock: bool, missing: type[Exception]):
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    row = db.session.scalar(statement)
    if row is None:
        raise missing()
    return row


def _endpoint(hospital_id: int, *, lock=False) -> WebhookEndpoint:
    _hospital(hospital_id)
    return _one(select(WebhookEndpoint).where(WebhookEndpoint.hospital_id == hospital_id), lock,
                WebhookNotConfigured)


def get_endpoint(actor, *, hospital_id: int) -> WebhookEndpoint:
    require_role(actor, "operator")
    return _endpoint(hospital_id)


def set_endpoint(actor, *, hospital_id: int, url: str) -> dict:
    """Set or replace the endpoint: a new secret (shown in this answer only), active, its
    failure count cleared. Deliveries still pending go to the new address with the new secret."""
    require_role(actor, "operator")
    _hospital(hospital_id)
    check_url(url)
    endpoint = db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.hospital_id == hospital_id).with_for_update())
    secret = new_secret()
    if endpoint is None:
        endpoint = WebhookEndpoint(hospital_id=hospital_id, disable_count=0)
        db.session.add(endpoint)
    endpoint.url, endpoint.secret, endpoint.status = url, secret, "active"
    endpoint.consecutive_failures, endpoint.disabled_at, endpoint.disabled_reason = 0, None, None
    endpoint.updated_by = actor.id
    db.session.commit()
    return {"endpoint": endpoint, "secret": secret}


def enable_endpoint(actor, *, hospital_id: int) -> WebhookEndpoint:
    """A disabled endpoint active again (the hospital fixed it); failures counted from 0."""
    require_role(actor, "operator")
    endpoint = _endpoint(hospital_id, lock=True)
    if endpoint.status != "disabled":
        db.session.rollback()
        raise InvalidTransition(details={"from": endpoint.status, "to": "active"})
    endpoint.status, endpoint.consecutive_failures = "active", 0
    endpoint.disabled_at = endpoint.disabled_reason = None
    endpoint.updated_by = actor.id
    db.session.commit()
    return endpoint


def list_deliveries(actor, *, hospital_id: int, status: str | None = None,
                    event_type: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    """The hospital's deliveries, newest first."""
    require_role(actor, "operator")
    _hospital(hospital_id)
    statement = where_given(
        select(WebhookDelivery).where(WebhookDelivery.hospital_id == hospital_id),
        (WebhookDelivery.status, status), (WebhookDelivery.event_type, event_type))
    return paginate(statement.order_by(WebhookDelivery.id.desc()), page, page_size)


def _delivery(hospital_id: int, delivery_id: str, *, lock=False) -> WebhookDelivery:
    _hospital(hospital_id)
    return _one(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                              WebhookDelivery.hospital_id == hospital_id),
                lock, DeliveryNotFound)


def delivery_detail(actor, *, hospital_id: int, delivery_id: str) -> WebhookDelivery:
    require_role(actor, "operator")
    return _delivery(hospital_id, delivery_id)


def redeliver(actor, *, hospital_id: int, delivery_id: str) -> WebhookDelivery:
    """One more attempt of the same message (same webhook-id, same body) now. A delivery that
    ended (succeeded or failed) gets exactly one attempt; one still pending is simply brought
    forward to now. Refused while the endpoint is disabled or an attempt is in flight."""
    require_role(actor, "operator")
    delivery = _delivery(hospital_id, delivery_id, lock=True)
    endpoint = _endpoint(hospital_id)
    now = utcnow()
    if endpoint.status != "active":
        db.session.rollback()
        raise EndpointDisabled()
    if delivery.lease_until is not None and delivery.lease_until > now:
        db.session.rollback()
        raise DeliveryInProgress()
    if delivery.status != "pending":
        delivery.status, delivery.max_attempts = "pending", delivery.attempts + 1
        delivery.succeeded_at = delivery.failed_at = None
    delivery.next_attempt_at = now
    events.enqueue(delivery.id)
    db.session.commit()
    return delivery
