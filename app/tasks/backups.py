"""Backup jobs (app/backups/services.py): the nightly run, and the job that writes one
archive (queued by the nightly run and by the console's button, with a long timeout)."""
from app.backups import services
from app.common.jobs import job


@job
def nightly_backup():
    """Daily 03:30 Shanghai (app/tasks/cron.py), quick: queues write_backup for today's
    nightly backup unless it exists. Idempotent: every run of a day queues the same name."""
    return services.nightly_backup()


@job
def write_backup(name: str):
    """Write backup `name`, then apply retention (BACKUP_KEEP_DAYS). Idempotent: when the name
    exists already (a retry, a duplicate) no archive is written."""
    return services.write_backup(name)
