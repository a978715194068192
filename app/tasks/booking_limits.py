"""Booking-limit jobs: ids in, idempotent (an account has at most one open flag)."""
from app.booking_limits import services
from app.common.jobs import job


@job
def flag_account(user_id: int, limit: str, trips: int):
    return services.flag_account(user_id, limit, trips)
