"""Registration jobs (ids in, idempotent)."""
from app.booking import services
from app.common.jobs import job


@job
def send_visit_reminders():
    return services.send_visit_reminders()


@job
def mark_no_shows():
    return services.mark_no_shows()


@job
def sweep_unpaid_registrations():
    return services.sweep_unpaid_without_payment()


@job
def rebuild_booking_gates():
    return services.rebuild_gates()
