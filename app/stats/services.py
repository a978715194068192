"""Statistics for staff: the nightly summary of finished business days, and the dashboard's
figures over a range of days (summaries for past days, today computed live from the rows).

Definitions (each figure of a day is what happened on that Shanghai business day):
- orders: registrations / care orders placed that day; paid: those paid (by summary time);
  amount: what was paid for them, in fen (registrations: fee less points; care: the total).
- accept rate: offers accepted / offers decided (accepted, rejected, timed out) that day.
- completion rate: care orders completed / (completed + paid orders that ended unserved:
  cancelled after payment, or refunded because nobody took them) that day.
- good-review rate: 4 and 5 star reviews / reviews written that day.
- conversion: signed-in users who searched that day and placed an order the same day /
  signed-in users who searched that day (summed over the days of the range).
- hospitals connected: active hospitals created by the day's end (a snapshot taken when the day
  is summarised: a hospital disabled later still counts on the days summarised before).
"""
import csv
import io
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import Date, and_, case, delete, distinct, func, select
from sqlalchemy import literal as sa_literal

from app.booking.models import Registration
from app.care_orders.models import CareAssignment, CareOrder
from app.care_reviews.models import CareReview
from app.common.replica import reader
from app.common.time import LOCAL_TZ, local_today, utcnow
from app.earnings.models import EarningEntry
from app.errors import ValidationFailed
from app.extensions import db
from app.hospitals.models import Department, Hospital
from app.stats.models import (DIMENSIONS, SEARCH_KINDS, StatsCaregiverDay, StatsCaregiverMonth,
                              StatsDay, StatsOrderDay, StatsOrderMonth, UserEvent)
from app.users.models import User

MAX_RANGE_DAYS = 366
EARLIEST_DAY = date(2000, 1, 1)
REFRESH_DAYS = 2  # each run also recomputes the last days: late payments, late flushes
MAX_CATCH_UP_DAYS = 800
INCOME_BUCKETS = [  # (lower bound in fen, label); a caregiver's net income over the range
    (None, "500元以下"), (50000, "500-1000元"), (100000, "1000-3000元"),
    (300000, "3000-5000元"), (500000, "5000-10000元"), (1000000, "10000元以上")]
DAY_COUNTERS = ("new_users", "logins", "login_users", "searches", "searchers", "converted",
                "offers_accepted", "offers_rejected", "offers_timed_out", "care_completed",
                "care_cancelled", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5")
SNAPSHOTS = ("total_users", "hospitals")  # as of a day's end: the last day's value, not a sum


class InvalidDateRange(ValidationFailed):
    code = "invalid_date_range"
    message = "开始日期不能晚于结束日期"


class DateRangeTooLong(ValidationFailed):
    code = "date_range_too_long"
    message = f"统计区间最长 {MAX_RANGE_DAYS} 天"


class DateInFuture(ValidationFailed):
    code = "date_in_future"
    message = "结束日期不能晚于今天"


class DateTooEarly(ValidationFailed):
    code = "date_too_early"
    message = "开始日期不能早于 2000-01-01"


RANGE_ERRORS = (InvalidDateRange, DateRangeTooLong, DateInFuture, DateTooEarly)


# ---- days ------------------------------------------------------------------------------------

def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A Shanghai business day as naive UTC [start, end)."""
    start = datetime.combine(day, time(), LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)
    return start, start + timedelta(days=1)


def local_day(at: datetime) -> date:
    return at.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).date()


def resolve_range(start: date | None, end: date | None, today: date | None = None):
    """The range asked for, defaulting to the 30 days ending today; refused when reversed,
    longer than MAX_RANGE_DAYS, in the future or before EARLIEST_DAY."""
    today = today or local_today()
    end = end or today
    start = start or max(end - timedelta(days=29), EARLIEST_DAY)
    if end > today:
        raise DateInFuture(details={"to": [DateInFuture.message]})
    if start < EARLIEST_DAY:
        raise DateTooEarly(details={"from": [DateTooEarly.message]})
    if start > end:
        raise InvalidDateRange(details={"from": [InvalidDateRange.message]})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise DateRangeTooLong(details={"from": [DateRangeTooLong.message]})
    return start, end


# ---- one day from the rows -------------------------------------------------------------------

def _count(session, statement) -> int:
    return int(session.scalar(statement) or 0)


ALL_PARTS = ("day", "orders", "caregivers")


def compute_day(day: date, session=None, *, parts=ALL_PARTS) -> dict:
    """Every figure of `day` straight from the rows: {"day": {...}, "orders": [...],
    "caregivers": [...]}. The nightly job stores it; the dashboard computes today with it,
    asking only for the `parts` the answer needs."""
    session = session or reader()
    start, end = day_bounds(day)
    return {"day": _day_figures(session, start, end) if "day" in parts else None,
            "orders": _order_rows(session, start, end) if "orders" in parts else None,
            "caregivers": _caregiver_rows(session, start, end) if "caregivers" in parts
            else None}


def _day_figures(session, start, end) -> dict:
    figures = {name: 0 for name in DAY_COUNTERS}
    figures["new_users"] = _count(session, select(func.count()).select_from(User).where(
        User.created_at >= start, User.created_at < end))
    figures["total_users"] = _count(session, select(func.count()).select_from(User).where(
        User.created_at < end))
    figures["hospitals"] = _count(session, select(func.count()).select_from(Hospital).where(
        Hospital.created_at < end, Hospital.is_active.is_(True)))

    in_day = and_(UserEvent.occurred_at >= start, UserEvent.occurred_at < end)
    logins = session.execute(select(func.count(), func.count(distinct(UserEvent.user_id))).where(
        UserEvent.kind == "login", in_day)).one()
    figures["logins"], figures["login_users"] = int(logins[0]), int(logins[1])
    figures["searches"] = _count(session, select(func.count()).where(
        UserEvent.kind.in_(SEARCH_KINDS), in_day))
    # two small id sets of the day, intersected here: a correlated EXISTS per searcher cost
    # a quarter second on a day of a year-sized table
    searchers = set(session.scalars(select(distinct(UserEvent.user_id)).where(
        UserEvent.kind.in_(SEARCH_KINDS), in_day, UserEvent.user_id.is_not(None))))
    buyers = set(session.scalars(select(distinct(Registration.user_id)).where(
        Registration.created_at >= start, Registration.created_at < end)))
    buyers.update(session.scalars(select(distinct(CareOrder.user_id)).where(
        CareOrder.created_at >= start, CareOrder.created_at < end)))
    figures["searchers"], figures["converted"] = len(searchers), len(searchers & buyers)

    for status, count in session.execute(select(CareAssignment.status, func.count()).where(
            CareAssignment.decided_at >= start, CareAssignment.decided_at < end)
            .group_by(CareAssignment.status)):
        key = {"accepted": "offers_accepted", "rejected": "offers_rejected",
               "timed_out": "offers_timed_out"}.get(status)
        if key:
            figures[key] += int(count)
    figures["care_completed"] = _count(session, select(func.count()).select_from(CareOrder).where(
        CareOrder.completed_at >= start, CareOrder.completed_at < end))
    figures["care_cancelled"] = _count(session, select(func.count()).select_from(CareOrder).where(
        CareOrder.cancelled_at >= start, CareOrder.cancelled_at < end,
        CareOrder.paid_at.is_not(None))) + _count(
        session, select(func.count()).select_from(CareOrder).where(
            CareOrder.status == "refunded", CareOrder.refunded_at >= start,
            CareOrder.refunded_at < end))
    for stars, count in session.execute(select(CareReview.stars, func.count()).where(
            CareReview.created_at >= start, CareReview.created_at < end)
            .group_by(CareReview.stars)):
        if 1 <= int(stars) <= 5:
            figures[f"stars_{int(stars)}"] += int(count)
    return figures


def _order_rows(session, start, end) -> list[dict]:
    """(kind, dimension, key) → orders, paid orders, paid fen, for the orders placed."""
    cities = dict(session.execute(select(Hospital.id, Hospital.city_code)).all())
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])

    def add(kind, hospital_id, department_key, city_code, orders, paid, fen):
        for dimension, key in (("all", ""), ("hospital", str(hospital_id or 0)),
                               ("department", department_key), ("city", city_code or "")):
            row = totals[(kind, dimension, key)]
            row[0] += orders
            row[1] += paid
            row[2] += fen

    paid_fee = case((Registration.paid_at.is_not(None),
                     Registration.fee_fen - Registration.points_discount_fen), else_=0)
    for hospital_id, department_id, orders, paid, fen in session.execute(
            select(Registration.hospital_id, Registration.department_id, func.count(),
                   func.count(Registration.paid_at), func.coalesce(func.sum(paid_fee), 0))
            .where(Registration.created_at >= start, Registration.created_at < end)
            .group_by(Registration.hospital_id, Registration.department_id)):
        add("registration", hospital_id, str(department_id), cities.get(hospital_id),
            int(orders), int(paid), int(fen))
    paid_total = case((CareOrder.paid_at.is_not(None), CareOrder.total_fen), else_=0)
    for hospital_id, department, city_code, orders, paid, fen in session.execute(
            select(CareOrder.hospital_id, CareOrder.department, CareOrder.city_code,
                   func.count(), func.count(CareOrder.paid_at),
                   func.coalesce(func.sum(paid_total), 0))
            .where(CareOrder.created_at >= start, CareOrder.created_at < end)
            .group_by(CareOrder.hospital_id, CareOrder.department, CareOrder.city_code)):
        # care orders name their department in free text, under their hospital
        add("care", hospital_id, f"h{hospital_id or 0}:{(department or '').strip()}"[:80],
            city_code, int(orders), int(paid), int(fen))
    return [{"kind": kind, "dimension": dimension, "dim_key": key, "orders": v[0],
             "paid_orders": v[1], "paid_fen": v[2]}
            for (kind, dimension, key), v in totals.items()]


def _caregiver_rows(session, start, end) -> list[dict]:
    rows: dict[int, dict] = {}
    for caregiver_id, net in session.execute(
            select(EarningEntry.caregiver_id, func.sum(EarningEntry.net_fen))
            .where(EarningEntry.created_at >= start, EarningEntry.created_at < end)
            .group_by(EarningEntry.caregiver_id)):
        rows[caregiver_id] = {"caregiver_id": caregiver_id, "income_fen": int(net or 0),
                              "completed": 0}
    for caregiver_id, count in session.execute(
            select(CareOrder.caregiver_id, func.count())
            .where(CareOrder.completed_at >= start, CareOrder.completed_at < end,
                   CareOrder.caregiver_id.is_not(None))
            .group_by(CareOrder.caregiver_id)):
        rows.setdefault(caregiver_id, {"caregiver_id": caregiver_id, "income_fen": 0,
                                       "completed": 0})["completed"] = int(count)
    return list(rows.values())


# ---- the nightly job -------------------------------------------------------------------------

def summarise_day(day: date) -> dict:
    """Compute `day` from the primary and replace its summary rows (idempotent: a second run
    leaves the same rows). One commit."""
    if day >= local_today():
        raise ValueError("only finished days are summarised")
    computed = compute_day(day, db.session)
    db.session.execute(delete(StatsOrderDay).where(StatsOrderDay.day == day))
    db.session.execute(delete(StatsCaregiverDay).where(StatsCaregiverDay.day == day))
    db.session.execute(delete(StatsDay).where(StatsDay.day == day))
    db.session.add(StatsDay(day=day, computed_at=utcnow(), **computed["day"]))
    if computed["orders"]:
        db.session.execute(StatsOrderDay.__table__.insert(),
                           [{"day": day, **row} for row in computed["orders"]])
    if computed["caregivers"]:
        db.session.execute(StatsCaregiverDay.__table__.insert(),
                           [{"day": day, **row} for row in computed["caregivers"]])
    _rebuild_month(day.replace(day=1))
    db.session.commit()
    return computed


def _month_end(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def _rebuild_month(month: date) -> None:
    """The month's rollup rows again from its day rows (in the caller's transaction)."""
    last = _month_end(month)
    db.session.execute(delete(StatsOrderMonth).where(StatsOrderMonth.month == month))
    db.session.execute(delete(StatsCaregiverMonth).where(StatsCaregiverMonth.month == month))
    order_day = StatsOrderDay
    db.session.execute(StatsOrderMonth.__table__.insert().from_select(
        ["month", "kind", "dimension", "dim_key", "orders", "paid_orders", "paid_fen"],
        select(sa_literal(month, Date()), order_day.kind, order_day.dimension, order_day.dim_key,
               func.sum(order_day.orders), func.sum(order_day.paid_orders),
               func.sum(order_day.paid_fen))
        .where(order_day.day >= month, order_day.day <= last)
        .group_by(order_day.kind, order_day.dimension, order_day.dim_key)))
    db.session.execute(StatsCaregiverMonth.__table__.insert().from_select(
        ["month", "caregiver_id", "income_fen", "completed"],
        select(sa_literal(month, Date()), StatsCaregiverDay.caregiver_id,
               func.sum(StatsCaregiverDay.income_fen), func.sum(StatsCaregiverDay.completed))
        .where(StatsCaregiverDay.day >= month, StatsCaregiverDay.day <= last)
        .group_by(StatsCaregiverDay.caregiver_id)))


def _spans(start: date, end: date) -> tuple[list[date], list[tuple[date, date]]]:
    """[start, end] as the calendar months it covers whole (their first days) and the day
    ranges left over at either end (at most two)."""
    months, ranges = [], []
    cursor = start
    while cursor <= end:
        month = cursor.replace(day=1)
        last = _month_end(month)
        if cursor == month and last <= end:
            months.append(month)
        else:
            ranges.append((cursor, min(last, end)))
        cursor = last + timedelta(days=1)
    return months, ranges


def _first_day(session=None) -> date | None:
    """The first business day with anything to count."""
    session = session or db.session
    firsts = [session.scalar(select(func.min(column))) for column in (
        User.created_at, Hospital.created_at, Registration.created_at, CareOrder.created_at)]
    firsts = [value for value in firsts if value is not None]
    return local_day(min(firsts)) if firsts else None


def days_to_summarise(today: date | None = None) -> list[date]:
    """Finished days never summarised (a missed night is caught up), plus the last
    REFRESH_DAYS days again; oldest first, at most MAX_CATCH_UP_DAYS per run."""
    today = today or local_today()
    first = _first_day()
    if first is None or first >= today:
        return []
    first = max(first, today - timedelta(days=MAX_CATCH_UP_DAYS))
    done = set(db.session.scalars(select(StatsDay.day).where(StatsDay.day >= first)))
    refresh = {today - timedelta(days=n) for n in range(1, REFRESH_DAYS + 1)}
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    return [day for day in days if day not in done or day in refresh]


def run_nightly(today: date | None = None) -> list[date]:
    days = days_to_summarise(today)
    for day in days:
        summarise_day(day)
    db.session.remove()
    return days


# ---- reading a range -------------------------------------------------------------------------

def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _live_today(start: date, end: date, parts=ALL_PARTS):
    today = local_today()
    return compute_day(today, parts=parts) if start <= today <= end else None


def daily_figures(start: date, end: date) -> list[dict]:
    """One dict per day of the range: the day's counters, snapshots and order totals."""
    session = reader()
    stored = {row.day: row for row in session.scalars(
        select(StatsDay).where(StatsDay.day >= start, StatsDay.day <= end))}
    orders: dict[date, dict] = defaultdict(dict)
    for day, kind, count, paid, fen in session.execute(
            select(StatsOrderDay.day, StatsOrderDay.kind, StatsOrderDay.orders,
                   StatsOrderDay.paid_orders, StatsOrderDay.paid_fen)
            .where(StatsOrderDay.dimension == "all", StatsOrderDay.day >= start,
                   StatsOrderDay.day <= end)):
        orders[day][kind] = (int(count), int(paid), int(fen))
    live = _live_today(start, end, parts=("day", "orders"))
    # a day before anything happened has nothing to summarise: it is not "missing"
    first = _first_day(session) if len(stored) < (end - start).days + 1 else None
    out = []
    for day in _days(start, end):
        if live is not None and day == local_today():
            figures = dict(live["day"])
            kinds = {row["kind"]: (row["orders"], row["paid_orders"], row["paid_fen"])
                     for row in live["orders"] if row["dimension"] == "all"}
            summarised = True
        else:
            row = stored.get(day)
            figures = {name: getattr(row, name) if row else 0
                       for name in DAY_COUNTERS + SNAPSHOTS}
            kinds = orders.get(day, {})
            summarised = row is not None or first is None or day < first
        registration = kinds.get("registration", (0, 0, 0))
        care = kinds.get("care", (0, 0, 0))
        figures.update(day=day, summarised=summarised,
                       registrations=registration[0], registrations_paid=registration[1],
                       registration_fen=registration[2], care_orders=care[0],
                       care_orders_paid=care[1], care_fen=care[2])
        out.append(figures)
    return out


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _sum(days: list[dict], name: str) -> int:
    return sum(day[name] for day in days)


def overview(actor, *, start=None, end=None) -> dict:
    start, end = resolve_range(start, end)
    days = daily_figures(start, end)
    last = days[-1]
    accepted, decided = _sum(days, "offers_accepted"), sum(
        _sum(days, name) for name in ("offers_accepted", "offers_rejected", "offers_timed_out"))
    completed = _sum(days, "care_completed")
    reviews = sum(_sum(days, f"stars_{n}") for n in range(1, 6))
    good = _sum(days, "stars_4") + _sum(days, "stars_5")
    searchers = _sum(days, "searchers")
    return {
        "start": start, "end": end,
        "unsummarised_days": sum(1 for day in days if not day["summarised"]),
        "new_users": _sum(days, "new_users"), "total_users": last["total_users"],
        "hospitals": last["hospitals"],
        "registrations": _sum(days, "registrations"),
        "registrations_paid": _sum(days, "registrations_paid"),
        "registration_fen": _sum(days, "registration_fen"),
        "care_orders": _sum(days, "care_orders"),
        "care_orders_paid": _sum(days, "care_orders_paid"), "care_fen": _sum(days, "care_fen"),
        "accept_rate": _rate(accepted, decided),
        "completion_rate": _rate(completed, completed + _sum(days, "care_cancelled")),
        "reviews": reviews, "good_review_rate": _rate(good, reviews),
        "logins": _sum(days, "logins"), "searches": _sum(days, "searches"),
        "conversion_rate": _rate(_sum(days, "converted"), searchers),
    }


def _period(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


TREND_FIELDS = ("new_users", "registrations", "registrations_paid", "registration_fen",
                "care_orders", "care_orders_paid", "care_fen", "logins", "searches")


def trend(actor, *, start=None, end=None, granularity="day") -> dict:
    """Per day, week (starting Monday) or month: sums of the day counters; total users and
    hospitals as of the period's last day in the range."""
    start, end = resolve_range(start, end)
    periods: dict[date, dict] = {}
    for day in daily_figures(start, end):
        key = _period(day["day"], granularity)
        point = periods.setdefault(key, {"period": key, **{name: 0 for name in TREND_FIELDS}})
        for name in TREND_FIELDS:
            point[name] += day[name]
        point["total_users"], point["hospitals"] = day["total_users"], day["hospitals"]
    return {"start": start, "end": end, "granularity": granularity,
            "items": list(periods.values())}


def _city_names(keys) -> dict[str, str]:
    """City codes named from the data dictionary; the four municipalities' city level is
    officially 市辖区, so they go by their province's name (上海市)."""
    from app.dictionary.services import region_names

    keys = list(keys)
    names = region_names([*keys, *(key[:2] + "0000" for key in keys if len(key) == 6)])
    out = {}
    for key in keys:
        name = names.get(key)
        if name in (None, "市辖区", "县") and len(key) == 6:
            name = names.get(key[:2] + "0000", name)
        out[key] = name or key or "未知"
    return out


def _dimension_names(dimension: str, keys) -> dict[str, str]:
    session = reader()
    hospitals = dict(session.execute(select(Hospital.id, Hospital.name)).all())
    if dimension == "hospital":
        return {key: hospitals.get(int(key), "无医院" if key == "0" else f"医院 {key}")
                for key in keys}
    if dimension == "city":
        return _city_names(keys)
    ids = [int(key) for key in keys if key.isdigit()]
    departments = {str(row.id): f"{hospitals.get(row.hospital_id, '')} · {row.name}"
                   for row in session.execute(select(Department.id, Department.hospital_id,
                                                     Department.name)
                                              .where(Department.id.in_(ids)))} if ids else {}
    names = {}
    for key in keys:
        if key in departments:
            names[key] = departments[key]
        elif key.startswith("h") and ":" in key:
            hospital, _, text = key[1:].partition(":")
            hospital_name = hospitals.get(int(hospital)) if hospital.isdigit() else None
            names[key] = f"{hospital_name or '无医院'} · {text or '未填写科室'}(陪护)"
        else:
            names[key] = f"科室 {key}"
    return names


def _stored_order_totals(dimension: str, start: date, end: date):
    """(key, kind, orders, paid, fen) of summarised days in [start, end]: whole months from
    the monthly rollup, the ends from the day rows."""
    months, ranges = _spans(start, end)
    parts = []
    if months:
        parts.append(select(StatsOrderMonth.dim_key, StatsOrderMonth.kind,
                            func.sum(StatsOrderMonth.orders), func.sum(StatsOrderMonth.paid_orders),
                            func.sum(StatsOrderMonth.paid_fen))
                     .where(StatsOrderMonth.dimension == dimension,
                            StatsOrderMonth.month.in_(months))
                     .group_by(StatsOrderMonth.dim_key, StatsOrderMonth.kind))
    for first, last in ranges:
        parts.append(select(StatsOrderDay.dim_key, StatsOrderDay.kind,
                            func.sum(StatsOrderDay.orders), func.sum(StatsOrderDay.paid_orders),
                            func.sum(StatsOrderDay.paid_fen))
                     .where(StatsOrderDay.dimension == dimension, StatsOrderDay.day >= first,
                            StatsOrderDay.day <= last)
                     .group_by(StatsOrderDay.dim_key, StatsOrderDay.kind))
    session = reader()
    for statement in parts:
        yield from session.execute(statement)


def _stored_caregiver_income(start: date, end: date):
    """(caregiver id, net income fen) pieces of summarised days in [start, end]."""
    months, ranges = _spans(start, end)
    session = reader()
    if months:
        yield from session.execute(
            select(StatsCaregiverMonth.caregiver_id, func.sum(StatsCaregiverMonth.income_fen))
            .where(StatsCaregiverMonth.month.in_(months))
            .group_by(StatsCaregiverMonth.caregiver_id))
    for first, last in ranges:
        yield from session.execute(
            select(StatsCaregiverDay.caregiver_id, func.sum(StatsCaregiverDay.income_fen))
            .where(StatsCaregiverDay.day >= first, StatsCaregiverDay.day <= last)
            .group_by(StatsCaregiverDay.caregiver_id))


def by_dimension(actor, *, start=None, end=None, dimension="hospital", page=None,
                 page_size=None) -> dict:
    """Registrations and care orders of the range by hospital, department or city, most
    orders first (ties by key). Without page: every row (exports)."""
    start, end = resolve_range(start, end)
    if dimension not in DIMENSIONS:
        raise ValidationFailed.for_field("dimension", "维度应为医院、科室或城市",
                                         code="invalid_dimension")
    rows: dict[str, dict] = {}

    def row_for(key):
        return rows.setdefault(key, {"key": key, "registrations": 0, "registrations_paid": 0,
                                     "registration_fen": 0, "care_orders": 0,
                                     "care_orders_paid": 0, "care_fen": 0})

    def add(key, kind, orders, paid, fen):
        row = row_for(key)
        prefix = "registration" if kind == "registration" else "care_order"
        row[f"{prefix}s"] += int(orders)
        row[f"{prefix}s_paid"] += int(paid)
        row["registration_fen" if kind == "registration" else "care_fen"] += int(fen)

    today = local_today()
    stored_end = min(end, today - timedelta(days=1))
    if start <= stored_end:
        for key, kind, orders, paid, fen in _stored_order_totals(dimension, start, stored_end):
            add(key, kind, orders, paid, fen)
    live = _live_today(start, end, parts=("orders",))
    if live is not None:
        for row in live["orders"]:
            if row["dimension"] == dimension:
                add(row["dim_key"], row["kind"], row["orders"], row["paid_orders"],
                    row["paid_fen"])
    ordered = sorted(rows.values(),
                     key=lambda r: (-(r["registrations"] + r["care_orders"]), r["key"]))
    total = len(ordered)
    if page is not None:
        ordered = ordered[(page - 1) * page_size: page * page_size]
    names = _dimension_names(dimension, [row["key"] for row in ordered])
    for row in ordered:
        row["name"] = names[row["key"]]
    result = {"start": start, "end": end, "dimension": dimension, "items": ordered,
              "total": total}
    if page is not None:
        result.update(page=page, page_size=page_size)
    return result


def caregivers(actor, *, start=None, end=None) -> dict:
    """Accept and completion rates per day and overall, and how the caregivers who earned in
    the range spread over income buckets."""
    start, end = resolve_range(start, end)
    days = daily_figures(start, end)
    income: dict[int, int] = defaultdict(int)
    today = local_today()
    stored_end = min(end, today - timedelta(days=1))
    if start <= stored_end:
        for caregiver_id, net in _stored_caregiver_income(start, stored_end):
            income[caregiver_id] += int(net or 0)
    live = _live_today(start, end, parts=("caregivers",))
    if live is not None:
        for row in live["caregivers"]:
            income[row["caregiver_id"]] += row["income_fen"]
    buckets = [{"label": label, "min_fen": low, "caregivers": 0, "income_fen": 0}
               for low, label in INCOME_BUCKETS]
    for net in income.values():
        index = max(i for i, (low, _) in enumerate(INCOME_BUCKETS) if low is None or net >= low)
        buckets[index]["caregivers"] += 1
        buckets[index]["income_fen"] += net
    daily = [{"day": d["day"], "accepted": d["offers_accepted"], "rejected": d["offers_rejected"],
              "timed_out": d["offers_timed_out"],
              "accept_rate": _rate(d["offers_accepted"], d["offers_accepted"]
                                   + d["offers_rejected"] + d["offers_timed_out"]),
              "completed": d["care_completed"], "cancelled": d["care_cancelled"],
              "completion_rate": _rate(d["care_completed"],
                                       d["care_completed"] + d["care_cancelled"])}
             for d in days]
    accepted = sum(d["accepted"] for d in daily)
    decided = accepted + sum(d["rejected"] + d["timed_out"] for d in daily)
    completed = sum(d["completed"] for d in daily)
    return {"start": start, "end": end, "accept_rate": _rate(accepted, decided),
            "completion_rate": _rate(completed, completed + sum(d["cancelled"] for d in daily)),
            "offers_decided": decided, "offers_accepted": accepted, "completed": completed,
            "earning_caregivers": len(income), "income_buckets": buckets, "items": daily}


def satisfaction(actor, *, start=None, end=None) -> dict:
    start, end = resolve_range(start, end)
    days = daily_figures(start, end)
    counts = {n: _sum(days, f"stars_{n}") for n in range(1, 6)}
    total = sum(counts.values())
    return {"start": start, "end": end, "reviews": total,
            "good_review_rate": _rate(counts[4] + counts[5], total),
            "average_stars": round(sum(n * c for n, c in counts.items()) / total, 2)
            if total else None,
            "items": [{"stars": n, "reviews": counts[n], "share": _rate(counts[n], total)}
                      for n in range(5, 0, -1)]}


def behaviour(actor, *, start=None, end=None) -> dict:
    start, end = resolve_range(start, end)
    days = daily_figures(start, end)
    items = [{"day": d["day"], "logins": d["logins"], "login_users": d["login_users"],
              "searches": d["searches"], "searchers": d["searchers"],
              "converted": d["converted"], "conversion_rate": _rate(d["converted"],
                                                                     d["searchers"])}
             for d in days]
    return {"start": start, "end": end, "logins": _sum(days, "logins"),
            "searches": _sum(days, "searches"), "searchers": _sum(days, "searchers"),
            "converted": _sum(days, "converted"),
            "conversion_rate": _rate(_sum(days, "converted"), _sum(days, "searchers")),
            "items": items}


# ---- exports ---------------------------------------------------------------------------------

def _yuan(fen: int) -> str:
    return f"{Decimal(int(fen)) / 100:.2f}"


def _percent(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.2f}%"


EXPORT_TABLES = {"trend": "订单与用户趋势", "dimension": "订单分布",
                 "caregivers": "护工接单与完成", "income": "护工收入分布",
                 "ratings": "评价分布", "behaviour": "用户行为"}


def export_table(actor, *, table: str, start=None, end=None, dimension="hospital",
                 granularity="day") -> tuple[str, list[str], list[list]]:
    """(title, Chinese headers, rows) of one dashboard table over the range."""
    if table == "trend":
        data = trend(actor, start=start, end=end, granularity=granularity)
        headers = ["日期", "新增用户", "累计用户", "接入医院", "挂号订单", "挂号已支付",
                   "挂号金额(元)", "陪护订单", "陪护已支付", "陪护金额(元)", "登录次数",
                   "搜索次数"]
        rows = [[p["period"].isoformat(), p["new_users"], p["total_users"], p["hospitals"],
                 p["registrations"], p["registrations_paid"], _yuan(p["registration_fen"]),
                 p["care_orders"], p["care_orders_paid"], _yuan(p["care_fen"]), p["logins"],
                 p["searches"]] for p in data["items"]]
    elif table == "dimension":
        data = by_dimension(actor, start=start, end=end, dimension=dimension)
        headers = [f"{DIMENSIONS[dimension]}编码", DIMENSIONS[dimension], "挂号订单",
                   "挂号已支付", "挂号金额(元)", "陪护订单", "陪护已支付", "陪护金额(元)"]
        rows = [[r["key"], r["name"], r["registrations"], r["registrations_paid"],
                 _yuan(r["registration_fen"]), r["care_orders"], r["care_orders_paid"],
                 _yuan(r["care_fen"])] for r in data["items"]]
    elif table == "caregivers":
        data = caregivers(actor, start=start, end=end)
        headers = ["日期", "接单", "拒单", "超时未接", "接单率", "完成", "付款后取消",
                   "完成率"]
        rows = [[d["day"].isoformat(), d["accepted"], d["rejected"], d["timed_out"],
                 _percent(d["accept_rate"]), d["completed"], d["cancelled"],
                 _percent(d["completion_rate"])] for d in data["items"]]
    elif table == "income":
        data = caregivers(actor, start=start, end=end)
        headers = ["收入区间", "护工人数", "收入合计(元)"]
        rows = [[b["label"], b["caregivers"], _yuan(b["income_fen"])]
                for b in data["income_buckets"]]
    elif table == "ratings":
        data = satisfaction(actor, start=start, end=end)
        headers = ["星级", "评价数", "占比"]
        rows = [[f"{i['stars']}星", i["reviews"], _percent(i["share"])] for i in data["items"]]
    elif table == "behaviour":
        data = behaviour(actor, start=start, end=end)
        headers = ["日期", "登录次数", "登录人数", "搜索次数", "搜索人数", "当日下单人数",
                   "转化率"]
        rows = [[d["day"].isoformat(), d["logins"], d["login_users"], d["searches"],
                 d["searchers"], d["converted"], _percent(d["conversion_rate"])]
                for d in data["items"]]
    else:
        raise ValidationFailed.for_field("table", "没有这个统计表", code="unknown_stats_table")
    return f"{EXPORT_TABLES[table]}_{data['start']:%Y%m%d}-{data['end']:%Y%m%d}", headers, rows


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A text cell a spreadsheet would run as a formula is written as text (a leading ')."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def render_export(title: str, headers: list[str], rows: list[list], fmt: str
                  ) -> tuple[str, str, bytes]:
    """(file name, content type, body) as CSV (UTF-8 with a BOM, which Excel needs to read
    Chinese) or an Excel workbook."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([_cell(h) for h in headers])
        writer.writerows([[_cell(v) for v in row] for row in rows])
        return f"{title}.csv", "text/csv; charset=utf-8", ("\ufeff" + buffer.getvalue()).encode()
    if fmt == "xlsx":
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title[:31].replace("/", "-"))
        sheet.append([_cell(h) for h in headers])
        for row in rows:
            sheet.append([_cell(v) for v in row])
        buffer = io.BytesIO()
        workbook.save(buffer)
        return (f"{title}.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                buffer.getvalue())
    raise ValidationFailed.for_field("format", "导出格式应为 csv 或 xlsx",
                                     code="invalid_export_format")


def export(actor, *, table: str, fmt: str, **query) -> tuple[str, str, bytes]:
    return render_export(*export_table(actor, table=table, **query), fmt)
