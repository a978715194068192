"""When a caregiver can work, and when they are already taken.

Times of day are minutes after local midnight (Asia/Shanghai, no DST: local = UTC+8), a window
is `[start_minute, end_minute)` with 0 ≤ start < end ≤ 1440; a night that crosses midnight is
two windows. Free time = (weekly windows ∪ dated extra hours − dated time off) − busy blocks.

`DayWindow` holds the first part, merged, for each day of the horizon: recomputed for one
caregiver whenever their windows or exceptions change, and rolled forward daily. Search asks it
with index lookups instead of expanding weekly rules per query. Busy blocks (filled by care
orders) are subtracted at query time: they change too often to materialise.
"""
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db

WEEKDAYS = {0: "周一", 1: "周二", 2: "周三", 3: "周四", 4: "周五", 5: "周六", 6: "周日"}
EXCEPTION_KINDS = {"off": "休息", "extra": "加班"}


class WeeklyWindow(TimestampMixin, db.Model):
    __tablename__ = "availability_weekly_windows"

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)


class AvailabilityException(TimestampMixin, db.Model):
    """A dated change: `off` (time off; 0–1440 = the whole day) or `extra` (extra hours)."""

    __tablename__ = "availability_exceptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"))
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(8))
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)
    note: Mapped[str | None] = mapped_column(String(64))


Index("ix_availability_exceptions_caregiver_day", AvailabilityException.caregiver_id,
      AvailabilityException.day)


class DayWindow(db.Model):
    """Materialised: the caregiver's working time on one local day, merged (no two rows of a
    day overlap or touch)."""

    __tablename__ = "availability_day_windows"

    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    start_minute: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    end_minute: Mapped[int] = mapped_column(SmallInteger)


class BusyBlock(TimestampMixin, db.Model):
    """Time a caregiver is taken (an active care order fills these). UTC, `[start_at, end_at)`.
    No block is longer than AVAILABILITY_BUSY_BLOCK_MAX_DAYS (a longer order writes several):
    that bound lets the overlap test use a closed index range on end_at."""

    __tablename__ = "availability_busy_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"))
    start_at: Mapped[datetime] = mapped_column(DateTime)
    end_at: Mapped[datetime] = mapped_column(DateTime)
    ref_type: Mapped[str] = mapped_column(String(16))  # "care_order", "manual" …
    ref_id: Mapped[int | None] = mapped_column(Integer)


Index("ix_busy_blocks_caregiver_end", BusyBlock.caregiver_id, BusyBlock.end_at, BusyBlock.start_at)
Index("ix_busy_blocks_ref", BusyBlock.ref_type, BusyBlock.ref_id)
