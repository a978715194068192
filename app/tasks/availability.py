"""Availability jobs (idempotent)."""
from app.availability import services
from app.common.jobs import job


@job
def roll_forward_day_windows():
    """Daily just after local midnight: drop old DayWindow rows, add the new horizon day."""
    return services.roll_forward_day_windows()
