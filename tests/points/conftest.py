"""Helpers for the points tests: grant points directly, read balances and the ledger."""
from datetime import timedelta

from sqlalchemy import func, select

from app.common.time import utcnow
from app.extensions import db


def grant(app, user_id, points, *, ref, days_ago=0):
    """An earn of `points` (order type "grant", id `ref`) made `days_ago` days ago."""
    from app.points.services import earn

    with app.app_context():
        earn(user_id, order_type="grant", order_id=ref, points=points, description="测试发放",
             now=utcnow() - timedelta(days=days_ago))
        db.session.commit()
        db.session.remove()


def balance(app, user_id):
    from app.points.models import PointBalance

    with app.app_context():
        value = db.session.scalar(select(PointBalance.balance).where(
            PointBalance.user_id == user_id))
        db.session.remove()
    return value or 0


def _pairs(result) -> dict:
    return {key: value for key, value in result.all()}


def ledger_problems(app):
    """Everything that breaks the ledger's invariants (empty when it holds): per user
    balance = Σ user entries = Σ lots remaining ≥ 0, each lot's remaining = amount + Σ moves
    (0 ≤ remaining ≤ amount), each transaction two entries summing to zero."""
    from app.points.models import (PointBalance, PointEntry, PointLot, PointLotMove,
                                   PointTransaction)

    problems = []
    with app.app_context():
        balances = _pairs(db.session.execute(select(PointBalance.user_id, PointBalance.balance)))
        entries = _pairs(db.session.execute(select(PointEntry.user_id, func.sum(PointEntry.amount))
                                          .where(PointEntry.account == "user")
                                          .group_by(PointEntry.user_id)))
        lots = _pairs(db.session.execute(select(PointLot.user_id, func.sum(PointLot.remaining))
                                       .group_by(PointLot.user_id)))
        for user_id in set(balances) | set(entries) | set(lots):
            values = (balances.get(user_id, 0), int(entries.get(user_id) or 0),
                      int(lots.get(user_id) or 0))
            if len(set(values)) != 1 or values[0] < 0:
                problems.append(("balance", user_id, values))
        moves = _pairs(db.session.execute(select(PointLotMove.lot_id, func.sum(PointLotMove.points))
                                        .group_by(PointLotMove.lot_id)))
        for lot in db.session.scalars(select(PointLot)):
            if lot.remaining != lot.amount + int(moves.get(lot.id) or 0) \
                    or not 0 <= lot.remaining <= lot.amount:
                problems.append(("lot", lot.id, lot.amount, lot.remaining, moves.get(lot.id)))
        sums = db.session.execute(select(PointEntry.transaction_id, func.sum(PointEntry.amount),
                                         func.count()).group_by(PointEntry.transaction_id)).all()
        for transaction_id, total, count in sums:
            if int(total) != 0 or count < 2:
                problems.append(("transaction", transaction_id, int(total), count))
        user_side = _pairs(db.session.execute(select(PointEntry.transaction_id, PointEntry.amount)
                                            .where(PointEntry.account == "user")))
        for transaction in db.session.scalars(select(PointTransaction)):
            if user_side.get(transaction.id) != transaction.points:
                problems.append(("points", transaction.id))
        if len(sums) != db.session.scalar(select(func.count()).select_from(PointTransaction)):
            problems.append(("transactions without entries",))
        db.session.remove()
    return problems
