"""A hospital's booking window, in one place for the calendar and for booking itself."""
from datetime import date, datetime, timedelta

from app.common.time import LOCAL_TZ


def now_local() -> datetime:
    return datetime.now(LOCAL_TZ)


def release_at(hospital, day: date) -> datetime:
    """When day `day` opens for booking."""
    return datetime.combine(day - timedelta(days=hospital.booking_days_ahead),
                            hospital.release_time, LOCAL_TZ)


def stop_at(hospital, day: date) -> datetime:
    """When booking for `day` stops (on the day before)."""
    return datetime.combine(day - timedelta(days=1), hospital.stop_time, LOCAL_TZ)


def cancel_deadline(hospital, day: date) -> datetime:
    return datetime.combine(day - timedelta(days=hospital.cancel_days_before),
                            hospital.cancel_time, LOCAL_TZ)


def window_state(hospital, day: date, now: datetime | None = None) -> str:
    """"not_released" before the release time, "open" inside the window, "closed" after."""
    now = now or now_local()
    if now < release_at(hospital, day):
        return "not_released"
    if now >= stop_at(hospital, day):
        return "closed"
    return "open"


def window_days(hospital, now: datetime | None = None) -> list[date]:
    """The dates a calendar shows: tomorrow through the furthest date of the window."""
    now = now or now_local()
    today = now.date()
    return [today + timedelta(days=offset)
            for offset in range(1, hospital.booking_days_ahead + 1)]
