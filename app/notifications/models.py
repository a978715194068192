from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db


class Notification(TimestampMixin, db.Model):
    """One message to one user about one thing; the unique key makes sending idempotent."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "kind", "ref_type", "ref_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(500))
    ref_type: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int] = mapped_column(Integer)
    read_at: Mapped[datetime | None]


class MessageTemplate(TimestampMixin, db.Model):
    """Which WeChat template an event is pushed with, and how its fields are filled.

    Rows override the defaults in app/notifications/templates.py (the migration seeds them);
    staff edit them. channel "subscribe" is the mini-program's subscribe message (users),
    "official" the official account's template message (bound staff)."""

    __tablename__ = "message_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(48), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    template_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(32))
    # [{"key": "thing1", "source": "subject"}, ...]: each template key and the value it shows
    fields: Mapped[list] = mapped_column(JSON, default=list)
    page: Mapped[str | None] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))


class SubscriptionQuota(TimestampMixin, db.Model):
    """Our copy of how many one-time subscriptions a user has left for a template: each 允许
    in wx.requestSubscribeMessage adds one, each send consumes one. WeChat holds the truth;
    its 43101 answer zeroes the copy."""

    __tablename__ = "subscription_quotas"
    __table_args__ = (UniqueConstraint("user_id", "template_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    remaining: Mapped[int] = mapped_column(Integer, default=0)
    accepted_total: Mapped[int] = mapped_column(Integer, default=0)


PUSH_STATES = ("pending", "sending", "sent", "no_quota", "failed")


class MessagePush(TimestampMixin, db.Model):
    """One WeChat message to one recipient about one event, sent at most once.

    dedup_key (event, thing, recipient) makes a second notify of the same event a no-op and
    lets a job run twice send once. A sender claims the row (pending → sending, with a lease)
    before it calls WeChat; a lease that ran out (the worker died) can be claimed again, and
    then only the new claim (claim_token) can record the outcome."""

    __tablename__ = "message_pushes"
    __table_args__ = (Index("ix_message_pushes_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(160), unique=True)
    event: Mapped[str] = mapped_column(String(48))
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    announcement_id: Mapped[int | None] = mapped_column(Integer, index=True)
    template_id: Mapped[str] = mapped_column(String(64))
    page: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict] = mapped_column(JSON, default=dict)  # {"thing1": {"value": ...}}
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None]
    # which claim holds it: a sender finishes only the pushes it still holds
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    quota_reserved: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]
