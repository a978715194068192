"""Earnings jobs: the weekly settlement (marking due entries settled in a batch per caregiver;
the payout to WeChat is not part of it, see app/earnings/services.py)."""
from app.common.jobs import job
from app.earnings import services


@job
def settle_earnings():
    """Monday 02:00 Shanghai (app/tasks/cron.py). Idempotent within a week."""
    return services.settle_due_entries()
