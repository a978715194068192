"""Rows of the booking caps (app/booking_limits/services.py): one lock row per scope key, and
the flags staff review."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin, transition
from app.extensions import db

FLAG_STATUSES = {"open": "待处理", "resolved": "已处理"}


class BookingLimitLock(db.Model):
    """Bookings sharing a scope (account, ID number, client) take turns on its row."""
    __tablename__ = "booking_limit_locks"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)


class BookingLimitFlag(TimestampMixin, db.Model):
    """An account that tripped the limits repeatedly: open until staff resolve it."""
    __tablename__ = "booking_limit_flags"
    __table_args__ = (Index("ix_booking_limit_flags_user_status", "user_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    last_limit: Mapped[str] = mapped_column(String(48))
    trips: Mapped[int] = mapped_column(Integer)
    flagged_at: Mapped[datetime] = mapped_column(DateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(String(200))

    def resolve(self, staff_id: int, note: str, at: datetime):
        transition(self, "status", {"open"}, "resolved")
        self.resolved_by, self.note, self.resolved_at = staff_id, note, at
