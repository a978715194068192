"""Statistics: what users did (an append-only event log) and what the nightly job made of each
finished business day (summary tables). The dashboard reads the summaries for past days and
computes today live from the rows, so no query scans a year of orders.

A business day D is Asia/Shanghai's [D 00:00, D+1 00:00), i.e. naive UTC [D-1 16:00, D 16:00).
"""
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.booking.models import Registration  # noqa: F401  (indexes below attach to its tables)
from app.care_orders.models import CareAssignment, CareOrder
from app.care_reviews.models import CareReview
from app.earnings.models import EarningEntry
from app.extensions import db
from app.users.models import User

EVENT_KINDS = {"login": "登录", "hospital_search": "搜索医院", "caregiver_search": "搜索护工"}
SEARCH_KINDS = ("hospital_search", "caregiver_search")
DIMENSIONS = {"hospital": "医院", "department": "科室", "city": "城市"}
ORDER_KINDS = {"registration": "挂号", "care": "陪护"}

_BIG_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER only


class UserEvent(db.Model):
    """One login or search. Append-only, never updated: written in batches by the flush job
    from the Redis buffer (app/stats/events.py). `event_key` makes a batch written twice (the
    job died between the insert and trimming the buffer) count once. No foreign key: searches
    are often anonymous, and the log must not slow deletes of users."""

    __tablename__ = "user_events"
    __table_args__ = (Index("ix_user_events_kind_time", "kind", "occurred_at", "user_id"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    user_id: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)


class StatsDay(db.Model):
    """One summarised business day: platform-wide figures. Its presence marks the day done
    (the job looks for days without a row to catch up)."""

    __tablename__ = "stats_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime)
    new_users: Mapped[int] = mapped_column(Integer, default=0)
    total_users: Mapped[int] = mapped_column(Integer, default=0)  # registered by the day's end
    hospitals: Mapped[int] = mapped_column(Integer, default=0)  # connected (active) at its end
    logins: Mapped[int] = mapped_column(Integer, default=0)
    login_users: Mapped[int] = mapped_column(Integer, default=0)
    searches: Mapped[int] = mapped_column(Integer, default=0)
    searchers: Mapped[int] = mapped_column(Integer, default=0)  # signed-in users who searched
    converted: Mapped[int] = mapped_column(Integer, default=0)  # ...and ordered the same day
    offers_accepted: Mapped[int] = mapped_column(Integer, default=0)  # decided that day
    offers_rejected: Mapped[int] = mapped_column(Integer, default=0)
    offers_timed_out: Mapped[int] = mapped_column(Integer, default=0)
    care_completed: Mapped[int] = mapped_column(Integer, default=0)  # completed that day
    care_cancelled: Mapped[int] = mapped_column(Integer, default=0)  # paid, ended unserved
    stars_1: Mapped[int] = mapped_column(Integer, default=0)  # reviews written that day
    stars_2: Mapped[int] = mapped_column(Integer, default=0)
    stars_3: Mapped[int] = mapped_column(Integer, default=0)
    stars_4: Mapped[int] = mapped_column(Integer, default=0)
    stars_5: Mapped[int] = mapped_column(Integer, default=0)


class _OrderTotals:
    """Orders of one kind under one dimension's key, and what was paid for them."""

    kind: Mapped[str] = mapped_column(String(16))
    dimension: Mapped[str] = mapped_column(String(16))
    dim_key: Mapped[str] = mapped_column(String(80))
    orders: Mapped[int] = mapped_column(Integer)
    paid_orders: Mapped[int] = mapped_column(Integer)
    paid_fen: Mapped[int] = mapped_column(BigInteger)


class StatsOrderDay(_OrderTotals, db.Model):
    """Orders placed on a day, by kind (registration, care) and one dimension: `all` (one row
    per kind), `hospital` (key: hospital id, 0 for none), `department` (registrations: the
    department id; care orders: "h<hospital id>:<the department text the family typed>") or
    `city` (the 6-digit code). Amounts are what was paid, in fen."""

    __tablename__ = "stats_order_days"
    __table_args__ = (Index("ix_stats_order_days_dimension_day", "dimension", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)


class StatsCaregiverDay(db.Model):
    """A caregiver's income (net of commission, as credited that day) and completed orders,
    for the income distribution over any range."""

    __tablename__ = "stats_caregiver_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    income_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)


class StatsOrderMonth(_OrderTotals, db.Model):
    """The rows of StatsOrderDay summed over a calendar month (`month` is its first day),
    rebuilt whenever one of its days is summarised: a year by department reads 12 rows per
    department instead of 365."""

    __tablename__ = "stats_order_months"
    __table_args__ = (Index("ix_stats_order_months_dimension_month", "dimension", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)


class StatsCaregiverMonth(db.Model):
    """StatsCaregiverDay summed over a calendar month, rebuilt with its days."""

    __tablename__ = "stats_caregiver_months"

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    income_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)


# What the nightly job ranges over by time, on other domains' tables: without these each day's
# summary would scan the whole table.
Index("ix_users_created_at", User.created_at)
Index("ix_care_assignments_decided_at", CareAssignment.decided_at)
Index("ix_care_orders_completed_at", CareOrder.completed_at)
Index("ix_care_orders_cancelled_at", CareOrder.cancelled_at)
Index("ix_care_orders_refunded_at", CareOrder.refunded_at)
Index("ix_care_reviews_created_at", CareReview.created_at)
Index("ix_earning_entries_created_at", EarningEntry.created_at)
