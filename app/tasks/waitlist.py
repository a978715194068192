"""Waitlist (候补) jobs (ids in, idempotent)."""
from app.common.jobs import job
from app.waitlist import services


@job
def expire_waitlist_hold(entry_id: int):
    """A hold's pay deadline passed: close it unpaid (the slot moves to the next waiter)."""
    return services.expire_hold(entry_id)


@job
def sweep_waitlist():
    return services.sweep()
