"""护工排班: weekly windows, dated exceptions, the materialised DayWindow rows, busy blocks,
and free time (exact in Python, and as an SQL clause for search).

Minutes are after local midnight (Asia/Shanghai, fixed UTC+8). A caregiver's change is applied
with their Caregiver row locked, and their DayWindow rows for [today, today + horizon) are
recomputed (delete + insert) in the same transaction, committed once.
"""
from datetime import date, datetime, time, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, delete, func, insert, select, union

from app.availability.models import (AvailabilityException, BusyBlock, DayWindow,
                                     WeeklyWindow)
from app.caregivers.models import Caregiver
from app.common.time import LOCAL_TZ, local_today, utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.caregivers.ownership import CaregiverNotFound, own_caregiver  # noqa: F401  (views name it)

DAY_MINUTES = 1440
WEEKLY_WINDOWS_MAX = 42
UPCOMING_EXCEPTIONS_MAX = 200
REBUILD_BATCH = 1000



class AvailabilityExceptionNotFound(NotFound):
    code = "availability_exception_not_found"
    message = "该排班例外不存在"


class ExceptionLimitReached(Conflict):
    code = "availability_exception_limit_reached"
    message = f"未来的排班例外最多 {UPCOMING_EXCEPTIONS_MAX} 条,请先删除不需要的"


INVALID_WINDOW = "invalid_window"
OVERLAPPING_WINDOWS = "overlapping_windows"
DAY_OUTSIDE_HORIZON = "day_outside_horizon"
TIMEZONE_REQUIRED = "timezone_required"
INVALID_TIME_RANGE = "invalid_time_range"
TIME_RANGE_TOO_LONG = "time_range_too_long"
TIME_RANGE_OUTSIDE_HORIZON = "time_range_outside_horizon"
# every 422 code the services raise (views declare them)
VALIDATION_CODES = (INVALID_WINDOW, OVERLAPPING_WINDOWS, DAY_OUTSIDE_HORIZON, TIMEZONE_REQUIRED,
                    INVALID_TIME_RANGE, TIME_RANGE_TOO_LONG, TIME_RANGE_OUTSIDE_HORIZON)


def _invalid(field, message, code):
    return ValidationFailed(message, code=code, details={field: [message]})


def horizon_days() -> int:
    return int(current_app.config["AVAILABILITY_HORIZON_DAYS"])


def _busy_block_max() -> timedelta:
    return timedelta(days=current_app.config["AVAILABILITY_BUSY_BLOCK_MAX_DAYS"])


# ---- intervals ---------------------------------------------------------------------------------

def merge_intervals(intervals):
    """Sorted, with overlapping or touching intervals joined; empty ones dropped."""
    merged = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def subtract_intervals(intervals, holes):
    """`intervals` (sorted, disjoint) minus `holes` (any order)."""
    holes = merge_intervals(holes)
    result = []
    for start, end in intervals:
        cursor = start
        for hole_start, hole_end in holes:
            if hole_end <= cursor or hole_start >= end:
                continue
            if hole_start > cursor:
                result.append((cursor, hole_start))
            cursor = max(cursor, hole_end)
            if cursor >= end:
                break
        if cursor < end:
            result.append((cursor, end))
    return result


def day_intervals(weekly, extras, offs):
    """A day's working time: (weekly windows ∪ extra hours) merged, minus time off."""
    return subtract_intervals(merge_intervals([*weekly, *extras]), offs)


# ---- the caregiver's own availability ----------------------------------------------------------



def _availability(caregiver_id: int) -> dict:
    weekly = db.session.scalars(select(WeeklyWindow).where(
        WeeklyWindow.caregiver_id == caregiver_id).order_by(
        WeeklyWindow.weekday, WeeklyWindow.start_minute)).all()
    exceptions = db.session.scalars(select(AvailabilityException).where(
        AvailabilityException.caregiver_id == caregiver_id,
        AvailabilityException.day >= local_today()).order_by(
        AvailabilityException.day, AvailabilityException.start_minute,
        AvailabilityException.id)).all()
    return {"weekly": weekly, "exceptions": exceptions}


def get_availability(actor) -> dict:
    return _availability(own_caregiver(actor).id)


def replace_weekly_windows(actor, *, windows: list[dict]) -> dict:
    """`windows`: [{weekday, start, end}] (minutes). Replaces all; touching windows of a weekday
    are merged, overlapping ones refused."""
    by_weekday: dict[int, list] = {}
    for index, window in enumerate(windows):
        if window["start"] >= window["end"]:
            raise _invalid(f"windows.{index}", "结束时间应晚于开始时间", INVALID_WINDOW)
        by_weekday.setdefault(window["weekday"], []).append((window["start"], window["end"]))
    for weekday, intervals in by_weekday.items():
        intervals.sort()
        for (_, previous_end), (start, _) in zip(intervals, intervals[1:]):
            if start < previous_end:
                raise _invalid("windows", "同一天的时间段不能重叠", OVERLAPPING_WINDOWS)
    caregiver = own_caregiver(actor, lock=True)
    db.session.execute(delete(WeeklyWindow).where(WeeklyWindow.caregiver_id == caregiver.id),
                       execution_options={"synchronize_session": False})
    for weekday in sorted(by_weekday):
        for start, end in merge_intervals(by_weekday[weekday]):
            db.session.add(WeeklyWindow(caregiver_id=caregiver.id, weekday=weekday,
                                        start_minute=start, end_minute=end))
    db.session.flush()
    _rebuild_own(caregiver.id)
    db.session.commit()
    return _availability(caregiver.id)


def add_exception(actor, *, day: date, kind: str, start: int | None = None,
                  end: int | None = None, note: str | None = None) -> AvailabilityException:
    if (start is None) != (end is None):
        raise _invalid("end" if end is None else "start", "开始和结束时间需同时填写",
                       INVALID_WINDOW)
    if start is None:
        if kind == "extra":
            raise _invalid("start", "加班需填写开始和结束时间", INVALID_WINDOW)
        start, end = 0, DAY_MINUTES  # time off without times: the whole day
    if start >= end:
        raise _invalid("end", "结束时间应晚于开始时间", INVALID_WINDOW)
    today = local_today()
    last = today + timedelta(days=horizon_days() - 1)
    if not today <= day <= last:
        raise _invalid("day", f"日期应在 {today.isoformat()} 至 {last.isoformat()} 之间",
                       DAY_OUTSIDE_HORIZON)
    caregiver = own_caregiver(actor, lock=True)
    upcoming = db.session.scalar(select(func.count()).select_from(AvailabilityException).where(
        AvailabilityException.caregiver_id == caregiver.id, AvailabilityException.day >= today))
    if upcoming >= UPCOMING_EXCEPTIONS_MAX:
        db.session.rollback()
        raise ExceptionLimitReached(details={"limit": UPCOMING_EXCEPTIONS_MAX})
    if kind == "extra":
        clash = db.session.scalar(select(AvailabilityException.id).where(
            AvailabilityException.caregiver_id == caregiver.id, AvailabilityException.day == day,
            AvailabilityException.kind == "extra", AvailabilityException.start_minute < end,
            AvailabilityException.end_minute > start).limit(1))
        if clash is not None:
            db.session.rollback()
            raise _invalid("start", "与当天已有的加班时间重叠", OVERLAPPING_WINDOWS)
    exception = AvailabilityException(caregiver_id=caregiver.id, day=day, kind=kind,
                                      start_minute=start, end_minute=end, note=note or None)
    db.session.add(exception)
    db.session.flush()
    _rebuild_own(caregiver.id)
    db.session.commit()
    return exception


def delete_exception(actor, *, exception_id: int) -> None:
    caregiver = own_caregiver(actor, lock=True)
    exception = db.session.get(AvailabilityException, exception_id)
    if exception is None or exception.caregiver_id != caregiver.id:
        db.session.rollback()
        raise AvailabilityExceptionNotFound()
    db.session.delete(exception)
    db.session.flush()
    _rebuild_own(caregiver.id)
    db.session.commit()


def own_free_windows(actor, *, start: datetime, end: datetime) -> dict:
    check_query_window(start, end)
    caregiver = own_caregiver(actor)
    return {"windows": [{"start": s, "end": e}
                        for s, e in free_windows(caregiver.id, start, end)]}


# ---- DayWindow materialisation -----------------------------------------------------------------

def _rebuild_own(caregiver_id: int):
    today = local_today()
    _rebuild(db.session, [caregiver_id], today, today + timedelta(days=horizon_days() - 1))


def _rebuild(session, caregiver_ids: list[int], from_day: date, to_day: date) -> int:
    """Replace the DayWindow rows of `caregiver_ids` for days from_day..to_day (inclusive).
    No commit. Returns the number of rows written."""
    if not caregiver_ids or from_day > to_day:
        return 0
    weekly: dict[int, dict[int, list]] = {}
    for cid, weekday, start, end in session.execute(select(
            WeeklyWindow.caregiver_id, WeeklyWindow.weekday, WeeklyWindow.start_minute,
            WeeklyWindow.end_minute).where(WeeklyWindow.caregiver_id.in_(caregiver_ids))):
        weekly.setdefault(cid, {}).setdefault(weekday, []).append((start, end))
    dated: dict[tuple[int, date], tuple[list, list]] = {}
    for cid, day, kind, start, end in session.execute(select(
            AvailabilityException.caregiver_id, AvailabilityException.day,
            AvailabilityException.kind, AvailabilityException.start_minute,
            AvailabilityException.end_minute).where(
            AvailabilityException.caregiver_id.in_(caregiver_ids),
            AvailabilityException.day.between(from_day, to_day))):
        extras, offs = dated.setdefault((cid, day), ([], []))
        (extras if kind == "extra" else offs).append((start, end))
    session.execute(delete(DayWindow).where(DayWindow.caregiver_id.in_(caregiver_ids),
                                            DayWindow.day.between(from_day, to_day)),
                    execution_options={"synchronize_session": False})
    days = [from_day + timedelta(days=n) for n in range((to_day - from_day).days + 1)]
    rows = []
    for cid in caregiver_ids:
        merged_weekly = {weekday: merge_intervals(intervals)
                         for weekday, intervals in weekly.get(cid, {}).items()}
        for day in days:
            extras, offs = dated.get((cid, day), ((), ()))
            base = merged_weekly.get(day.weekday(), [])
            intervals = day_intervals(base, extras, offs) if extras or offs else base
            rows.extend({"caregiver_id": cid, "day": day, "start_minute": start,
                         "end_minute": end} for start, end in intervals)
    for offset in range(0, len(rows), 5000):
        session.execute(insert(DayWindow), rows[offset:offset + 5000])
    return len(rows)


def rebuild_day_windows(caregiver_ids=None, from_day: date | None = None,
                        to_day: date | None = None) -> int:
    """Recompute DayWindow rows for days from_day..to_day (inclusive; default the horizon
    [today, today + AVAILABILITY_HORIZON_DAYS)) of `caregiver_ids` (default: every caregiver
    with weekly windows, exceptions or rows in that range). Batches of REBUILD_BATCH
    caregivers, one commit each. Returns the number of rows written."""
    today = local_today()
    from_day = from_day or today
    to_day = to_day or today + timedelta(days=horizon_days() - 1)
    if caregiver_ids is None:
        caregiver_ids = db.session.scalars(union(
            select(WeeklyWindow.caregiver_id),
            select(AvailabilityException.caregiver_id).where(
                AvailabilityException.day.between(from_day, to_day)),
            select(DayWindow.caregiver_id).where(DayWindow.day.between(from_day, to_day)),
        )).all()
    caregiver_ids = sorted(set(caregiver_ids))
    written = 0
    for offset in range(0, len(caregiver_ids), REBUILD_BATCH):
        batch = caregiver_ids[offset:offset + REBUILD_BATCH]
        # the same lock a caregiver's own edit takes, in id order (no deadlock between batches)
        db.session.execute(select(Caregiver.id).where(Caregiver.id.in_(batch))
                           .order_by(Caregiver.id).with_for_update())
        written += _rebuild(db.session, batch, from_day, to_day)
        db.session.commit()
    return written


ROLLED_THROUGH_KEY = "availability_rolled_through"


def roll_forward_day_windows(today: date | None = None) -> dict:
    """The daily job: drop rows before yesterday (a query may start up to a day ago), and
    materialise every horizon day not yet built: from the day after the last run's last day
    (recorded in platform_settings) to the new last day. A missed run is made up by the next
    one; without a record the whole horizon is rebuilt. Idempotent."""
    from app.settings.services import get_setting, set_setting

    today = today or local_today()
    dropped = db.session.execute(
        delete(DayWindow).where(DayWindow.day < today - timedelta(days=1)),
        execution_options={"synchronize_session": False}).rowcount
    db.session.commit()
    last = today + timedelta(days=horizon_days() - 1)
    rolled_through = get_setting(ROLLED_THROUGH_KEY)
    first = today
    if rolled_through:
        first = max(today, date.fromisoformat(rolled_through) + timedelta(days=1))
    written = rebuild_day_windows(from_day=first, to_day=last) if first <= last else 0
    set_setting(None, ROLLED_THROUGH_KEY, last.isoformat())
    db.session.commit()
    return {"dropped": dropped, "from": first.isoformat(), "to": last.isoformat(),
            "written": written}


# ---- busy blocks --------------------------------------------------------------------------------

def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def add_busy_block(caregiver_id: int, start_at: datetime, end_at: datetime, *, ref_type: str,
                   ref_id: int | None) -> list[BusyBlock]:
    """Mark [start_at, end_at) taken (aware, or naive UTC). Longer than
    AVAILABILITY_BUSY_BLOCK_MAX_DAYS → consecutive blocks. In the caller's transaction."""
    start = _naive_utc(start_at)
    end = _naive_utc(end_at)
    # whole seconds, widened (MariaDB DATETIME keeps none; a busy time never shrinks)
    start = start.replace(microsecond=0)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    if end <= start:
        raise _invalid("end", "结束时间应晚于开始时间", INVALID_TIME_RANGE)
    step = _busy_block_max()
    blocks = []
    while start < end:
        piece_end = min(end, start + step)
        blocks.append(BusyBlock(caregiver_id=caregiver_id, start_at=start, end_at=piece_end,
                                ref_type=ref_type, ref_id=ref_id))
        start = piece_end
    db.session.add_all(blocks)
    return blocks


def remove_busy_blocks(*, ref_type: str, ref_id: int | None) -> int:
    """Drop every block of that reference. In the caller's transaction; returns how many."""
    condition = (BusyBlock.ref_id.is_(None) if ref_id is None else BusyBlock.ref_id == ref_id)
    db.session.flush()
    return db.session.execute(delete(BusyBlock).where(BusyBlock.ref_type == ref_type, condition),
                              execution_options={"synchronize_session": "fetch"}).rowcount


# ---- free time ---------------------------------------------------------------------------------

def horizon_end() -> datetime:
    """Local midnight after the last materialised day."""
    return datetime.combine(local_today() + timedelta(days=horizon_days()), time(0),
                            tzinfo=LOCAL_TZ)


def check_query_window(start: datetime, end: datetime) -> None:
    """Refuse a free-time window no answer could be right for (ValidationFailed, 422)."""
    for field, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _invalid(field, "时间需带时区,例如 2026-01-01T08:00:00+08:00", TIMEZONE_REQUIRED)
    if end <= start:
        raise _invalid("end", "结束时间应晚于开始时间", INVALID_TIME_RANGE)
    longest = current_app.config["AVAILABILITY_QUERY_MAX_DAYS"]
    if end - start > timedelta(days=longest):
        raise _invalid("end", f"查询时段不能超过 {longest} 天", TIME_RANGE_TOO_LONG)
    now = utcnow().replace(tzinfo=timezone.utc)
    if start < now - timedelta(days=1):
        raise _invalid("start", "开始时间不能早于一天前", TIME_RANGE_OUTSIDE_HORIZON)
    if end > horizon_end():
        raise _invalid("end", f"只能查询 {horizon_days()} 天内的排班", TIME_RANGE_OUTSIDE_HORIZON)


def _local_segments(start: datetime, end: datetime):
    """[start, end) as local (first_day, a, last_day, b): minutes, a floored and b ceiled (the
    windows are whole minutes, so covering the widened span is the same as covering the exact
    one); an end at midnight belongs to the day before (b = 1440)."""
    s, e = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    first_day, a = s.date(), s.hour * 60 + s.minute
    last_day = e.date()
    b = e.hour * 60 + e.minute + (1 if (e.second or e.microsecond) else 0)
    if b == 0:
        last_day, b = last_day - timedelta(days=1), DAY_MINUTES
    return first_day, a, last_day, b


def _busy_overlap(caregiver_column, start_utc: datetime, end_utc: datetime):
    # a block is at most BUSY_BLOCK_MAX long, so one that overlaps ends before
    # end + max: a closed range on ix_busy_blocks_caregiver_end instead of every future block
    return and_(BusyBlock.caregiver_id == caregiver_column, BusyBlock.end_at > start_utc,
                BusyBlock.end_at < end_utc + _busy_block_max(), BusyBlock.start_at < end_utc)


def working_during_clause(caregiver_id_column, start: datetime, end: datetime):
    """TRUE iff the caregiver (correlated on `caregiver_id_column`) has DayWindow rows covering
    the whole [start, end) (aware), busy blocks NOT considered. Each local day's part is checked
    on its own; DayWindow rows of a day never touch, so a covered part lies inside one row, and
    a night across midnight is a row ending at 1440 plus the next day's row starting at 0."""
    first_day, a, last_day, b = _local_segments(start, end)

    def covered(day, low, high):
        return select(DayWindow.caregiver_id).where(
            DayWindow.caregiver_id == caregiver_id_column, DayWindow.day == day,
            DayWindow.start_minute <= low, DayWindow.end_minute >= high).exists()

    conditions = []
    if first_day == last_day:
        conditions.append(covered(first_day, a, b))
    else:
        conditions.append(covered(first_day, a, DAY_MINUTES))
        middle = (last_day - first_day).days - 1
        if middle > 0:
            full_days = select(func.count()).where(
                DayWindow.caregiver_id == caregiver_id_column,
                DayWindow.day.between(first_day + timedelta(days=1),
                                      last_day - timedelta(days=1)),
                DayWindow.start_minute == 0,
                DayWindow.end_minute == DAY_MINUTES).scalar_subquery()
            conditions.append(full_days == middle)
        conditions.append(covered(last_day, 0, b))
    return and_(*conditions)


def free_during_clause(caregiver_id_column, start: datetime, end: datetime):
    """TRUE iff the caregiver (correlated on `caregiver_id_column`) is free for the whole
    [start, end) (aware): working_during_clause and overlapping no BusyBlock. A caller with a
    short candidate list may prefer working_during_clause + busy_caregiver_ids (same answer):
    MariaDB runs this correlated NOT EXISTS on the caregiver_id prefix of the index only."""
    start_utc, end_utc = _naive_utc(start), _naive_utc(end)
    return and_(working_during_clause(caregiver_id_column, start, end),
                ~select(BusyBlock.id).where(
                    _busy_overlap(caregiver_id_column, start_utc, end_utc)).exists())


BUSY_IDS_CHUNK = 1000


def busy_caregiver_ids(caregiver_ids, start: datetime, end: datetime, *,
                       session=None) -> set[int]:
    """Those of `caregiver_ids` with a BusyBlock overlapping [start, end) (aware). One range scan
    of ix_busy_blocks_caregiver_end per chunk of at most BUSY_IDS_CHUNK ids, so
    working_during_clause minus these is exactly free_during_clause. `session`: where to read
    (default db.session; the public search passes replica.reader())."""
    session = session if session is not None else db.session
    ids = list(dict.fromkeys(caregiver_ids))
    if not ids:
        return set()
    start_utc, end_utc = _naive_utc(start), _naive_utc(end)
    busy = set()
    for offset in range(0, len(ids), BUSY_IDS_CHUNK):
        chunk = ids[offset:offset + BUSY_IDS_CHUNK]
        busy.update(session.scalars(select(BusyBlock.caregiver_id).distinct().where(
            BusyBlock.caregiver_id.in_(chunk), BusyBlock.end_at > start_utc,
            BusyBlock.end_at < end_utc + _busy_block_max(), BusyBlock.start_at < end_utc)))
    return busy


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def free_windows(caregiver_id: int, start: datetime, end: datetime) -> list[tuple]:
    """The maximal free intervals inside [start, end), as aware local datetimes."""
    start, end = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    if end <= start:
        return []
    first_day = start.date()
    last_day = (end - timedelta(microseconds=1)).date()
    working = []
    for day, low, high in db.session.execute(select(
            DayWindow.day, DayWindow.start_minute, DayWindow.end_minute).where(
            DayWindow.caregiver_id == caregiver_id,
            DayWindow.day.between(first_day, last_day))):
        midnight = _local_midnight(day)
        working.append((midnight + timedelta(minutes=low), midnight + timedelta(minutes=high)))
    working = [(max(s, start), min(e, end)) for s, e in merge_intervals(working)]
    working = [(s, e) for s, e in working if s < e]
    start_utc, end_utc = _naive_utc(start), _naive_utc(end)
    busy = [(s.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ),
             e.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ))
            for s, e in db.session.execute(select(BusyBlock.start_at, BusyBlock.end_at).where(
                _busy_overlap(caregiver_id, start_utc, end_utc)))]
    return subtract_intervals(working, busy)
