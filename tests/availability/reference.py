"""A brute-force reference for free time, straight from the raw rows (WeeklyWindow,
AvailabilityException, BusyBlock) and never from the materialised DayWindow rows: minute by
minute. Exact when busy blocks and query bounds fall on whole minutes (weekly windows and
exceptions always do). Reused by the marketplace tests to check search results."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.common.time import LOCAL_TZ

MINUTE = timedelta(minutes=1)


def load_raw(session, caregiver_id):
    """(weekly, exceptions, blocks) of one caregiver as plain tuples:
    weekly (weekday, start_minute, end_minute); exceptions (day, kind, start_minute, end_minute);
    blocks (start_at, end_at) naive UTC."""
    from app.availability.models import AvailabilityException, BusyBlock, WeeklyWindow

    weekly = session.execute(select(WeeklyWindow.weekday, WeeklyWindow.start_minute,
                                    WeeklyWindow.end_minute).where(
        WeeklyWindow.caregiver_id == caregiver_id)).all()
    exceptions = session.execute(select(
        AvailabilityException.day, AvailabilityException.kind,
        AvailabilityException.start_minute, AvailabilityException.end_minute).where(
        AvailabilityException.caregiver_id == caregiver_id)).all()
    blocks = session.execute(select(BusyBlock.start_at, BusyBlock.end_at).where(
        BusyBlock.caregiver_id == caregiver_id)).all()
    return ([tuple(r) for r in weekly], [tuple(r) for r in exceptions],
            [tuple(r) for r in blocks])


def _utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def minute_is_working(weekly, exceptions, moment: datetime) -> bool:
    """Is the local minute starting at `moment` inside the caregiver's working time?"""
    local = moment.astimezone(LOCAL_TZ)
    day, minute = local.date(), local.hour * 60 + local.minute
    on = any(wd == day.weekday() and s <= minute < e for wd, s, e in weekly) or any(
        d == day and kind == "extra" and s <= minute < e for d, kind, s, e in exceptions)
    off = any(d == day and kind == "off" and s <= minute < e for d, kind, s, e in exceptions)
    return on and not off


def minute_is_busy(blocks, moment: datetime) -> bool:
    start, end = _utc(moment), _utc(moment + MINUTE)
    return any(b_start < end and b_end > start for b_start, b_end in blocks)


def _minutes(start: datetime, end: datetime):
    """The local minutes [m, m+1) that meet [start, end)."""
    moment = start.astimezone(LOCAL_TZ).replace(second=0, microsecond=0)
    while moment < end:
        yield moment
        moment += MINUTE


def is_free(weekly, exceptions, blocks, start: datetime, end: datetime) -> bool:
    """Working for every minute of [start, end) and no block overlaps it."""
    if any(b_start < _utc(end) and b_end > _utc(start) for b_start, b_end in blocks):
        return False
    return all(minute_is_working(weekly, exceptions, m) for m in _minutes(start, end))


def free_intervals(weekly, exceptions, blocks, start: datetime, end: datetime):
    """Maximal free intervals in [start, end) (whole-minute bounds), aware local."""
    result = []
    for moment in _minutes(start, end):
        if minute_is_working(weekly, exceptions, moment) and not minute_is_busy(blocks, moment):
            if result and result[-1][1] == moment:
                result[-1] = (result[-1][0], moment + MINUTE)
            else:
                result.append((moment, moment + MINUTE))
    return result
