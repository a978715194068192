"""Points jobs: the daily expiry (app/points/services.py)."""
from app.common.jobs import job
from app.points import services


@job
def expire_points():
    """Daily 00:10 Shanghai (app/tasks/cron.py): what is left of lots past their expiry
    expires. Idempotent: a lot with nothing left is not touched again."""
    return services.expire_due_lots()
