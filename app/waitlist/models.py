"""The waitlist (候补) of sold-out schedules: one entry per patient waiting for a slot.

waiting → offered (a returned slot is held for the waiter as an ordinary unpaid registration,
          `registration_id`, payable until `hold_expires_at`) → booked (the hold was paid)
                                                            | lapsed (the hold closed unpaid,
                                                              or the user cancelled it)
waiting → left (the user left) | expired (booking for the day closed, the clinic stopped, or
          the waiter could no longer take a slot when one came: `end_reason`)

`active` is True while waiting or offered and NULL after, so the unique key allows one active
entry per patient per schedule and any number of finished ones (the trick Registration uses).
An offered entry never goes back to waiting: the slot it held moves on to the next waiter.
"""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin, transition
from app.extensions import db

STATUS_NAMES = {"waiting": "候补中", "offered": "待支付", "booked": "候补成功",
                "lapsed": "未支付,已失效", "left": "已退出", "expired": "已结束"}
ACTIVE_STATUSES = ("waiting", "offered")


class WaitlistEntry(TimestampMixin, db.Model):
    __tablename__ = "waitlist_entries"
    __table_args__ = (UniqueConstraint("patient_id", "schedule_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"))
    # higher first, then join order (id): the membership level's waitlist priority at join time
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    active: Mapped[bool | None] = mapped_column(Boolean, default=True)
    registration_id: Mapped[int | None] = mapped_column(ForeignKey("registrations.id"),
                                                        unique=True)
    hold_expires_at: Mapped[datetime | None]   # naive UTC: the hold's pay deadline
    offered_at: Mapped[datetime | None]
    booked_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))
    # where the join came from, as blind indexes (app/booking_limits caps active waits by them)
    device_index: Mapped[str | None] = mapped_column(String(64), index=True)
    ip_index: Mapped[str | None] = mapped_column(String(64), index=True)

    schedule = relationship("Schedule")
    registration = relationship("Registration")

    def offer(self, registration_id: int, hold_expires_at: datetime, at: datetime):
        transition(self, "status", {"waiting"}, "offered")
        self.registration_id, self.hold_expires_at, self.offered_at = (
            registration_id, hold_expires_at, at)

    def mark_booked(self, at: datetime):
        transition(self, "status", {"offered"}, "booked")
        self.active, self.booked_at = None, at

    def lapse(self, at: datetime, reason: str = "unpaid"):
        transition(self, "status", {"offered"}, "lapsed")
        self.active, self.ended_at, self.end_reason = None, at, reason

    def leave(self, at: datetime):
        transition(self, "status", {"waiting"}, "left")
        self.active, self.ended_at, self.end_reason = None, at, "left"

    def expire(self, at: datetime, reason: str):
        transition(self, "status", {"waiting"}, "expired")
        self.active, self.ended_at, self.end_reason = None, at, reason[:32]


# the queue of one schedule: its waiting entries by priority, then id
Index("ix_waitlist_entries_queue", WaitlistEntry.schedule_id, WaitlistEntry.status,
      WaitlistEntry.priority, WaitlistEntry.id)
# the sweep: offered entries whose hold is due
Index("ix_waitlist_entries_status_hold", WaitlistEntry.status, WaitlistEntry.hold_expires_at)
