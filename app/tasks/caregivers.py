"""Caregiver jobs (idempotent)."""
from app.common.jobs import job
from app.qualifications import services as qualifications


@job
def check_qualification_expiry():
    """Daily: warn 30 days before a document expires; suspend a caregiver whose required
    document has lapsed."""
    return qualifications.check_qualification_expiry()
