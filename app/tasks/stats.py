"""Statistics jobs (app/stats): the nightly summary and the flush of buffered user events."""
from app.common.jobs import job
from app.stats import events, services


@job
def summarise_stats():
    """Nightly, 00:30 Shanghai (app/tasks/cron.py): every finished business day not yet
    summarised (a missed night is caught up), and the last two days again. Idempotent: a day
    summarised twice has the same rows. Returns the days done (ISO)."""
    events.flush_events()  # the last minutes of yesterday's events first
    return [day.isoformat() for day in services.run_nightly()]


@job
def flush_user_events():
    """Every minute: buffered logins and searches (Redis) into user_events. Idempotent: each
    event has a unique key, a batch inserted twice counts once."""
    return events.flush_events()
