"""Recording registration events for the hospital, inside the caller's transaction.

Booking services call `registration_event(registration, "booked")` (cancelled, refunded,
stopped, visited) next to their `notify`, before their one commit: the delivery row is written
in the same transaction as the change (nothing is sent if it rolls back) and its job is
enqueued after the commit (app.common.jobs.enqueue_after_commit, as app/notifications does).
Nothing here calls the network: a booking never waits for a hospital.

Only registrations the hospital heard of are reported: an order never paid was never
"booked" for the hospital, so its cancel or close is not sent either.
"""
import secrets
import time
from datetime import timezone

from flask import current_app
from sqlalchemy import select

from app.common.time import utcnow
from app.extensions import db, jobs
from app.hospital_webhooks.models import WebhookDelivery, WebhookEndpoint


def new_message_id() -> str:
    """"msg_" + the creation time in microseconds (14 hex digits) + 72 random bits: ids sort
    in the order messages were made, whatever the database's clock resolution."""
    return f"msg_{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


def _external_ids(registration) -> dict[str, str | None]:
    """kind → the hospital's own id of the registration's department, doctor and schedule,
    from the open API's mapping table (None where the row was made by staff)."""
    try:
        from app.open_api.models import ExternalId
    except ImportError:  # the open API is not installed: internal ids only
        return {}
    wanted = {"department": registration.department_id, "doctor": registration.doctor_id,
              "schedule": registration.schedule_id}
    rows = db.session.execute(select(ExternalId.kind, ExternalId.internal_id,
                                     ExternalId.external_id).where(
        ExternalId.hospital_id == registration.hospital_id,
        ExternalId.kind.in_(list(wanted)), ExternalId.internal_id.in_(list(wanted.values()))))
    return {kind: external for kind, internal, external in rows if wanted.get(kind) == internal}


def _iso(moment) -> str:
    return moment.replace(tzinfo=timezone.utc).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def registration_payload(registration, event_type: str, at) -> dict:
    """What the hospital receives: the order and where it is, never who the patient is (no
    name, ID number or phone)."""
    from app.hospitals.models import Hospital

    hospital = db.session.get(Hospital, registration.hospital_id)
    external = _external_ids(registration)
    data = {
        "order_no": registration.order_no,
        "hospital_code": hospital.code,
        "department_id": registration.department_id,
        "department_external_id": external.get("department"),
        "doctor_id": registration.doctor_id,
        "doctor_external_id": external.get("doctor"),
        "schedule_id": registration.schedule_id,
        "schedule_external_id": external.get("schedule"),
        "visit_date": registration.visit_date.isoformat(),
        "period": registration.period,
        "visit_number": registration.visit_number,
        "status": registration.status,
        "fee_fen": registration.fee_fen,
    }
    if event_type == "registration.stopped":
        data["reason"] = registration.stop_reason
    return {"type": event_type, "timestamp": _iso(at), "data": data}


def registration_event(registration, event: str) -> WebhookDelivery | None:
    """Record `registration.<event>` for the registration's hospital when it has an active
    endpoint and the order was ever paid; the job is enqueued after the caller's commit.
    Once per (event, registration): a second call is a no-op. Returns the delivery or None."""
    event_type = f"registration.{event}"
    if registration.paid_at is None:
        return None
    endpoint_id = db.session.scalar(select(WebhookEndpoint.id).where(
        WebhookEndpoint.hospital_id == registration.hospital_id,
        WebhookEndpoint.status == "active"))
    if endpoint_id is None:
        return None
    dedup_key = f"{event_type}:{registration.id}"
    if db.session.scalar(select(WebhookDelivery.id).where(
            WebhookDelivery.dedup_key == dedup_key)):
        return None
    now = utcnow()
    delivery = WebhookDelivery(
        id=new_message_id(), hospital_id=registration.hospital_id, event_type=event_type,
        dedup_key=dedup_key, registration_id=registration.id,
        payload=registration_payload(registration, event_type, now), status="pending",
        attempts=0, max_attempts=len(current_app.config["HOSPITAL_WEBHOOK_RETRY_SCHEDULE"]) + 1,
        next_attempt_at=now)
    db.session.add(delivery)
    enqueue(delivery.id)
    return delivery


def enqueue(delivery_id: str, delay_seconds=None):
    """The delivery's job, once the caller's transaction commits."""
    from app.tasks.hospital_webhooks import deliver_hospital_webhook

    jobs.enqueue_after_commit(db.session, deliver_hospital_webhook, delivery_id, queue="push",
                              delay_seconds=delay_seconds)
