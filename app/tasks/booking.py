"""Registration jobs (ids in, idempotent)."""
from app.booking import services


def refund_registration(registration_id: int, reason: str = "订单退款"):
    return services.refund_registration(registration_id, reason)


def close_registration(registration_id: int):
    return services.close_registration(registration_id)


def send_visit_reminders():
    return services.send_visit_reminders()


def mark_no_shows():
    return services.mark_no_shows()


def sweep_unpaid_registrations():
    return services.sweep_unpaid_without_payment()


def rebuild_booking_gates():
    return services.rebuild_gates()
