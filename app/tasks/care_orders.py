"""Care order jobs (ids in, idempotent): dispatch, offer timeouts, auto-completion, and the
sweep that catches any of them a dead worker lost."""
import logging

from app.care_orders import dispatch, services
from app.common.jobs import job

log = logging.getLogger("app.tasks.care_orders")


@job
def dispatch_order(order_id: int):
    return dispatch.dispatch(order_id)


@job
def expire_offer(order_id: int):
    return dispatch.expire_offer(order_id)


@job
def auto_complete(order_id: int):
    return services.auto_complete_order(order_id)


@job
def sweep_care_orders():
    """Every minute: offers past their deadline, orders waiting for a caregiver, services
    ended long enough ago, unpaid orders whose prepay never happened. One failure is logged
    and the rest go on."""
    counts = {"dispatched": 0, "completed": 0, "closed": 0}
    for order_id in dispatch.orders_due_for_dispatch():
        counts["dispatched"] += _safely(dispatch.expire_offer, order_id) not in (None, "noop")
    for order_id in services.orders_to_auto_complete():
        counts["completed"] += _safely(services.auto_complete_order, order_id) == "completed"
    counts["closed"] = services.sweep_unpaid_without_payment()
    return counts


def _safely(function, order_id):
    from app.extensions import db

    try:
        return function(order_id)
    except Exception:  # one bad order must not stop the sweep
        db.session.rollback()
        log.exception("care order %s: %s failed", order_id, function.__name__)
        return None
