"""Payment jobs. Each takes ids and is idempotent: a second run finds nothing left to do."""
import logging

from flask import current_app

from app.common.jobs import job
from app.extensions import db
from app.payments import services
from app.payments.models import Payment, Refund
from app.payments.protocol import order_type

log = logging.getLogger("app.tasks.payments")


@job
def close_expired_payment(payment_id: int):
    """Delayed job at the payment's TTL, and at once after a user cancel or 停诊."""
    return services.close_if_unpaid(payment_id)


@job
def sweep_expired_payments():
    """Cron backstop for close jobs lost with Redis (or a worker killed mid-job)."""
    outcomes = {}
    for payment_id in services.expired_payment_ids():
        outcomes[payment_id] = _safely(services.close_if_unpaid, payment_id)
    return outcomes


@job
def reconcile_payments(older_than_seconds: int | None = None):
    """Cron: ask WeChat about quiet unpaid payments and open refunds (lost notifications),
    and send refunds whose backoff is over (lost retry jobs)."""
    if older_than_seconds is None:
        older_than_seconds = current_app.config["PAY_RECONCILE_AFTER_SECONDS"]
    outcomes = {}
    for payment_id in services.payments_to_reconcile(older_than_seconds):
        outcomes[f"payment:{payment_id}"] = _safely(services.reconcile_payment, payment_id)
    for refund_id in services.refunds_to_reconcile(older_than_seconds):
        outcomes[f"refund:{refund_id}"] = _safely(services.reconcile_refund, refund_id)
    return outcomes


def _safely(function, object_id):
    """One bad payment must not stop a sweep."""
    try:
        return function(object_id)
    except Exception:
        db.session.rollback()
        log.exception("%s(%s)", function.__name__, object_id)
        return "error"


@job
def submit_refund(refund_id: int):
    """Send a reserved refund to WeChat; a refusal schedules the next attempt itself."""
    return services.submit_refund(refund_id)


@job
def payment_succeeded(payment_id: int):
    """Follow-ups of a paid order (messages, points, hospital sync) through its order type."""
    payment = db.session.get(Payment, payment_id)
    handler = order_type(payment.order_type) if payment else None
    if handler is not None and hasattr(handler, "after_paid"):
        handler.after_paid(payment.order_id, payment_id)
    db.session.rollback()


@job
def refund_succeeded(refund_id: int):
    refund = db.session.get(Refund, refund_id)
    handler = order_type(refund.payment.order_type) if refund else None
    if handler is not None and hasattr(handler, "after_refunded"):
        handler.after_refunded(refund.payment.order_id, refund_id)
    db.session.rollback()
