"""Announcement jobs: ids in, idempotent (a batch starts after the cursor the last one
committed)."""
from app.announcements import services
from app.common.jobs import job


@job
def send_announcement_batch(announcement_id: int):
    """The next batch of recipients; enqueues their pushes and the batch after it."""
    return services.send_batch(announcement_id)


@job
def resume_announcements():
    """Every minute (cron): chains that lost their next batch job."""
    return services.resume_stalled()
