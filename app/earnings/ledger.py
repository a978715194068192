"""Writing the caregiver's ledger, inside the care-order use case's transaction (the order
and its caregiver are locked by the caller). See app/earnings/models.py for the invariant."""
from datetime import timedelta

from app.care_orders.pricing import care_policy, share
from app.common.time import utcnow
from app.earnings.models import EarningEntry
from app.extensions import db


def record_earning(order, amount_fen: int, kind: str) -> EarningEntry | None:
    """`amount_fen` of the order's money stays with the platform side (it may be negative: a
    correction after money went back). The platform takes its commission; the rest is the
    caregiver's, due after the hold (the dispute window). None when there is nothing to book
    or no caregiver to book it to."""
    if amount_fen == 0 or order.caregiver_id is None:
        return None
    policy = care_policy()
    commission_bp = int(policy["commission_bp"])
    # a negative correction takes back commission in proportion, rounded the same way
    commission = share(amount_fen, commission_bp) if amount_fen > 0 \
        else -share(-amount_fen, commission_bp)
    now = utcnow()
    entry = EarningEntry(caregiver_id=order.caregiver_id, order_id=order.id, kind=kind,
                         amount_fen=amount_fen, commission_fen=commission,
                         net_fen=amount_fen - commission, commission_bp=commission_bp,
                         status="pending",
                         due_at=now + timedelta(days=int(policy["settlement_hold_days"])))
    db.session.add(entry)
    return entry
