"""Sending one delivery, at most one sender per attempt, never inside a transaction.

1. claim: one conditional UPDATE takes the delivery (pending, due, not held on a live lease)
   with a fresh claim token and a lease longer than one attempt can take; one commit. A
   delivery already succeeded or failed, not yet due, or held by another sender is left
   alone, so a job that runs twice sends once. An endpoint no longer active ends the delivery
   failed without a call.
2. one signed POST (Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature) with
   HOSPITAL_WEBHOOK_TIMEOUT (connect, read); at most 2 KB of the answer is read.
3. finish, only if the token still holds it (a sender whose lease ran out records nothing):
   2xx succeeded, the endpoint's failure count back to 0; 410 Gone failed and the endpoint
   disabled; anything else (another status, a timeout, a refused connection) waits the next
   step of HOSPITAL_WEBHOOK_RETRY_SCHEDULE, or after the last one is failed, and
   HOSPITAL_WEBHOOK_DISABLE_AFTER consecutive failed deliveries disable the endpoint.
   A disablement alerts operators (notify_staff "hospital_webhook_disabled"). One commit.

Lock order: delivery → endpoint. The sweep (cron, every minute) re-enqueues deliveries due
for a while or whose sender died, so a Redis flush loses nothing.
"""
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests
from flask import current_app
from sqlalchemy import or_, select, update
from standardwebhooks.webhooks import Webhook

from app.common.deadlock import retry_deadlock
from app.common.time import utcnow
from app.extensions import db, jobs
from app.hospital_webhooks.models import RESPONSE_KEPT_BYTES, WebhookDelivery, WebhookEndpoint

log = logging.getLogger("app.hospital_webhooks")
USER_AGENT = "medapp-webhooks/1"


@dataclass(frozen=True)
class _Attempt:
    """What a send needs, copied before the claim commits."""
    id: str
    token: str
    url: str
    secret: str
    body: str


@dataclass(frozen=True)
class _Outcome:
    kind: str  # succeeded | gone | retry
    status_code: int | None = None
    response: str | None = None
    error: str | None = None


def body_of(payload: dict) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


@retry_deadlock
def _claim(delivery_id: str) -> _Attempt | None:
    now = utcnow()
    token = uuid.uuid4().hex
    lease = timedelta(seconds=current_app.config["HOSPITAL_WEBHOOK_LEASE_SECONDS"])
    taken = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending",
               WebhookDelivery.next_attempt_at <= now,
               or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now))
        .values(lease_until=now + lease, claim_token=token,
                attempts=WebhookDelivery.attempts + 1, last_attempt_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not taken:
        db.session.rollback()
        return None
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.hospital_id == delivery.hospital_id))
    if endpoint is None or endpoint.status != "active":
        delivery.status, delivery.failed_at = "failed", now
        delivery.lease_until = delivery.claim_token = delivery.next_attempt_at = None
        delivery.last_error = "endpoint_disabled" if endpoint else "endpoint_missing"
        db.session.commit()
        return None
    attempt = _Attempt(delivery.id, token, endpoint.url, endpoint.secret,
                       body_of(delivery.payload))
    db.session.commit()
    return attempt


def signed_headers(message_id: str, secret: str, body: str, at: datetime | None = None) -> dict:
    at = at or datetime.now(timezone.utc)
    return {"webhook-id": message_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(message_id, at, body),
            "Content-Type": "application/json", "User-Agent": USER_AGENT}


def _read_start(response, limit=RESPONSE_KEPT_BYTES) -> str:
    try:
        raw = response.raw.read(limit, decode_content=True) or b""
    except Exception:  # noqa: BLE001 - the status is what counts; the text is a courtesy
        raw = b""
    text = raw[:limit].decode("utf-8", errors="replace").replace("\x00", "")
    return text[:limit]


def _send(attempt: _Attempt) -> _Outcome:
    connect, read = current_app.config["HOSPITAL_WEBHOOK_TIMEOUT"]
    try:
        with requests.post(attempt.url, data=attempt.body.encode(),
                           headers=signed_headers(attempt.id, attempt.secret, attempt.body),
                           timeout=(connect, read), allow_redirects=False,
                           stream=True) as response:
            text = _read_start(response)
    except requests.Timeout as exc:
        return _Outcome("retry", error=f"timeout: {type(exc).__name__}")
    except requests.RequestException as exc:
        return _Outcome("retry", error=f"{type(exc).__name__}: {exc}"[:200])
    code = response.status_code
    if 200 <= code < 300:
        return _Outcome("succeeded", code, text)
    if code == 410:
        return _Outcome("gone", code, text, "410 Gone: the hospital removed this endpoint")
    return _Outcome("retry", code, text, f"HTTP {code}")


def _disable(endpoint: WebhookEndpoint, reason: str, now):
    from app.notifications.services import notify_staff

    endpoint.status, endpoint.disabled_at = "disabled", now
    endpoint.disabled_reason = reason[:200]
    endpoint.disable_count = (endpoint.disable_count or 0) + 1
    hospital = endpoint.hospital
    notify_staff("hospital_webhook_disabled", "医院回调地址已停用",
                 f"hospital_webhook.{endpoint.disable_count}", endpoint.hospital_id,
                 roles=("operator",),
                 context={"subject": hospital.name, "order_no": hospital.code,
                          "reason": reason})
    log.warning("webhook endpoint of hospital %s disabled: %s", endpoint.hospital_id, reason)


@retry_deadlock
def _finish(attempt: _Attempt, outcome: _Outcome) -> str | None:
    delivery = db.session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.id == attempt.id, WebhookDelivery.claim_token == attempt.token)
        .with_for_update().execution_options(populate_existing=True))
    if delivery is None:  # the lease ran out and another sender took it: theirs to record
        db.session.rollback()
        return None
    endpoint = db.session.scalar(select(WebhookEndpoint).where(
        WebhookEndpoint.hospital_id == delivery.hospital_id).with_for_update()
        .execution_options(populate_existing=True))
    now = utcnow()
    config = current_app.config
    delivery.lease_until = delivery.claim_token = None
    delivery.last_status_code, delivery.last_response = outcome.status_code, outcome.response
    delivery.last_error = outcome.error[:200] if outcome.error else None
    result = outcome.kind
    if outcome.kind == "succeeded":
        delivery.status, delivery.succeeded_at, delivery.next_attempt_at = "succeeded", now, None
        if endpoint is not None:
            endpoint.consecutive_failures = 0
    elif outcome.kind == "retry" and delivery.attempts < delivery.max_attempts:
        schedule = config["HOSPITAL_WEBHOOK_RETRY_SCHEDULE"]
        delay = schedule[min(delivery.attempts, len(schedule)) - 1]
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        from app.hospital_webhooks.events import enqueue
        enqueue(delivery.id, delay_seconds=delay)
    else:  # gone, or out of attempts
        result = "failed"
        delivery.status, delivery.failed_at, delivery.next_attempt_at = "failed", now, None
        if endpoint is not None and endpoint.status == "active":
            endpoint.consecutive_failures += 1
            if outcome.kind == "gone":
                _disable(endpoint, "对方返回 410 Gone(回调地址已注销)", now)
            elif endpoint.consecutive_failures >= config["HOSPITAL_WEBHOOK_DISABLE_AFTER"]:
                _disable(endpoint, f"连续 {endpoint.consecutive_failures} 条消息投递失败", now)
    db.session.commit()
    return result


def deliver(delivery_id: str) -> str | None:
    """One attempt of the delivery if it is due and nobody else holds it: "succeeded",
    "retry" (another attempt is scheduled), "failed", or None (nothing to do)."""
    attempt = _claim(delivery_id)
    if attempt is None:
        return None
    outcome = _send(attempt)
    log.info("webhook %s → %s %s %s", attempt.id, outcome.kind, outcome.status_code,
             outcome.error or "")
    return _finish(attempt, outcome)


def sweep(grace_seconds: int | None = None, limit: int = 500) -> int:
    """Re-enqueue deliveries a lost job left behind: pending and due for `grace_seconds`
    (HOSPITAL_WEBHOOK_SWEEP_GRACE_SECONDS) whose lease, if any, ran out. The claim makes a
    duplicate job harmless."""
    from app.tasks.hospital_webhooks import deliver_hospital_webhook

    if grace_seconds is None:
        grace_seconds = current_app.config["HOSPITAL_WEBHOOK_SWEEP_GRACE_SECONDS"]
    now = utcnow()
    ids = db.session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.status == "pending",
        WebhookDelivery.next_attempt_at <= now - timedelta(seconds=grace_seconds),
        or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now))
        .order_by(WebhookDelivery.next_attempt_at).limit(limit)).all()
    db.session.rollback()
    queue = jobs.queue("push")
    for delivery_id in ids:
        queue.enqueue(deliver_hospital_webhook.job_name, args=(delivery_id,))
    return len(ids)
