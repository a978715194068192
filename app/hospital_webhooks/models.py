"""A hospital's webhook endpoint and the deliveries made to it.

One endpoint per hospital. Its secret is in Standard Webhooks form ("whsec_" + base64 of 32
random bytes), stored encrypted (the PII key) because the sender needs it to sign, shown once
when staff set the endpoint. active → disabled (N consecutive failed deliveries, or a 410 Gone)
→ active again only by staff.

A delivery is one message (its id is the webhook-id, "msg_…", the same on every attempt and on
a manual redelivery). pending → succeeded | failed. While pending, a sender holds it by a lease
(lease_until, claim_token) for the time of one attempt, so two workers never send the same
attempt at once; only the claim that holds it may record the outcome.
"""
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.crypto import EncryptedString, encrypted_length
from app.common.models import TimestampMixin
from app.extensions import db

ENDPOINT_STATUSES = {"active": "启用", "disabled": "已停用"}
DELIVERY_STATUSES = {"pending": "待发送", "succeeded": "已送达", "failed": "失败"}
EVENT_TYPES = ("registration.booked", "registration.cancelled", "registration.refunded",
               "registration.stopped", "registration.visited")
RESPONSE_KEPT_BYTES = 2048


class WebhookEndpoint(TimestampMixin, db.Model):
    __tablename__ = "hospital_webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), unique=True)
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column("secret_encrypted", EncryptedString(encrypted_length(64)))
    status: Mapped[str] = mapped_column(String(16), default="active")
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    # how many times it was disabled: each disablement alerts staff once
    disable_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))

    hospital = relationship("Hospital")


class WebhookDelivery(TimestampMixin, db.Model):
    __tablename__ = "hospital_webhook_deliveries"
    __table_args__ = (Index("ix_hospital_webhook_deliveries_due", "status", "next_attempt_at"),
                      # a hospital's log, newest first (ids sort by creation time)
                      Index("ix_hospital_webhook_deliveries_hospital", "hospital_id", "id"))

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # webhook-id "msg_…"
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    event_type: Mapped[str] = mapped_column(String(48))
    # "<event type>:<registration id>": one delivery per event, whatever calls it twice
    dedup_key: Mapped[str] = mapped_column(String(80), unique=True)
    registration_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # a failure at this attempt is final (the schedule's length + 1; a redelivery is one more)
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_response: Mapped[str | None] = mapped_column(String(RESPONSE_KEPT_BYTES))
    last_error: Mapped[str | None] = mapped_column(String(200))
    succeeded_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
