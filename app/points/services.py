"""Points (积分): earn on a completed visit or care order, spend as a discount when an order
is placed, expire after `expire_months` (FIFO, daily job), reverse when an order is refunded
in full or closes unpaid. The ledger and its projections are described in models.py.

Every function here works inside the caller's transaction (no commit), except the expiry job.
Lock order (docs/locking.md): the user's `point_balances` row is taken after whatever the
caller holds (schedule or caregiver → order → payment → refund), then the user's lots. Every
points operation locks the balance row first, so one user's operations take turns while
different users never meet.

Decisions:
- A reverse_spend puts the points back into the lots the spend took them from, keeping their
  original expiry: placing and cancelling an order must not be a way to renew old points. A
  lot already past its expiry then expires at the next run of the expiry job.
- Only a refund in full reverses (spend back, earn taken back). A partial refund leaves the
  points alone: the order was partly delivered and kept, the discount was part of the price
  the family agreed to, and proportional shares of points would mean rounding on every side.
- A reverse_earn takes back what the user still holds, at most what was earned (never below
  zero): points already spent stay spent.
- A payment is never 0 fen (WeChat Pay refuses it): points pay at most the price less 1 fen.
"""
import calendar
import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.common.deadlock import retry_deadlock
from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.points.models import (PLATFORM_ACCOUNTS, USER_ACCOUNT, PointBalance, PointEntry,
                               PointLot, PointLotMove, PointTransaction)
from app.settings.points_rules import points_rules

log = logging.getLogger("app.points")

ORDER_NAMES = {"registration": "挂号", "care_order": "陪护订单"}


class PointsInsufficient(Conflict):
    code = "points_insufficient"
    message = "积分余额不足"


class PointsOverLimit(ValidationFailed):
    code = "points_over_limit"
    message = "使用的积分超过本单可抵扣的上限"


# ---- helpers -------------------------------------------------------------------------------------

def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months (the 31st becomes the month's last day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def max_points_for(price_fen: int, rules: dict | None = None) -> int:
    """The most points one order of `price_fen` may use: the rules' share of the price, and
    never the whole price (a payment is at least 1 fen)."""
    rules = rules or points_rules()
    per_point = rules["fen_per_point"]
    by_share = price_fen * rules["max_share_percent"] // 100 // per_point
    return max(0, min(by_share, (price_fen - 1) // per_point))


def _key_exists(key: str) -> bool:
    return db.session.scalar(select(PointTransaction.id).where(
        PointTransaction.idempotency_key == key)) is not None


def _transaction(key: str) -> PointTransaction | None:
    return db.session.scalar(select(PointTransaction).where(
        PointTransaction.idempotency_key == key))


def _lock_balance(user_id: int) -> PointBalance:
    """The user's balance row, created at 0 when missing, locked (FOR UPDATE)."""
    if db.session.scalar(select(PointBalance.user_id).where(
            PointBalance.user_id == user_id)) is None:
        try:
            with db.session.begin_nested():
                db.session.add(PointBalance(user_id=user_id, balance=0))
        except IntegrityError:
            pass  # a concurrent first operation created it
    return db.session.get(PointBalance, user_id, with_for_update=True, populate_existing=True)


def _move_balance(user_id: int, delta: int) -> None:
    """The projection's one write: a conditional UPDATE that never leaves the balance below 0."""
    if delta == 0:
        return
    result = db.session.execute(
        update(PointBalance)
        .where(PointBalance.user_id == user_id, PointBalance.balance + delta >= 0)
        .values(balance=PointBalance.balance + delta)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        balance = db.session.scalar(select(PointBalance.balance).where(
            PointBalance.user_id == user_id)) or 0
        raise PointsInsufficient(f"积分余额不足,当前可用 {balance} 积分",
                                 details={"balance": balance, "points": -delta})


def _record(user_id: int, kind: str, points: int, key: str, description: str, now: datetime,
            order_type: str | None = None, order_id: int | None = None) -> PointTransaction:
    """One transaction and its two entries (user's account, platform's), summing to zero."""
    transaction = PointTransaction(user_id=user_id, kind=kind, points=points,
                                   order_type=order_type, order_id=order_id,
                                   idempotency_key=key, description=description[:80],
                                   created_at=now)
    db.session.add(transaction)
    db.session.flush()
    db.session.add_all([
        PointEntry(transaction_id=transaction.id, account=USER_ACCOUNT, user_id=user_id,
                   amount=points, created_at=now),
        PointEntry(transaction_id=transaction.id, account=PLATFORM_ACCOUNTS[kind], user_id=None,
                   amount=-points, created_at=now)])
    return transaction


def _lots(user_id: int, now: datetime, *, due: bool):
    """The user's lots with points left, locked: past expiry (due) or still valid, oldest
    expiry first."""
    statement = select(PointLot).where(PointLot.user_id == user_id, PointLot.remaining > 0)
    statement = statement.where(PointLot.expires_at <= now) if due \
        else statement.where(PointLot.expires_at > now)
    return db.session.scalars(statement.order_by(PointLot.expires_at, PointLot.id)
                              .with_for_update().execution_options(populate_existing=True)).all()


def _expire_due(user_id: int, now: datetime) -> int:
    """Inside a transaction holding the user's balance lock: expire what is past its date."""
    expired = 0
    for lot in _lots(user_id, now, due=True):
        points = lot.remaining
        transaction = _record(user_id, "expire", -points,
                              f"expire:lot:{lot.id}:{(lot.expirations or 0) + 1}", "积分过期",
                              now)
        _move_balance(user_id, -points)
        db.session.add(PointLotMove(transaction_id=transaction.id, lot_id=lot.id, points=-points))
        lot.remaining, lot.expirations = 0, (lot.expirations or 0) + 1
        expired += 1
    return expired


def _take(transaction: PointTransaction, points: int, now: datetime,
          first_lot_id: int | None = None) -> None:
    """Take `points` from the user's valid lots, oldest expiry first (`first_lot_id` before
    the others), recording each take."""
    lots = list(_lots(transaction.user_id, now, due=False))
    lots.sort(key=lambda lot: lot.id != first_lot_id)  # stable: FIFO otherwise
    left = points
    for lot in lots:
        if left <= 0:
            break
        taken = min(lot.remaining, left)
        lot.remaining -= taken
        left -= taken
        db.session.add(PointLotMove(transaction_id=transaction.id, lot_id=lot.id, points=-taken))
    if left:  # the balance said yes: the lots must hold it (tests hold the invariant)
        raise RuntimeError(f"points lots of user {transaction.user_id} short by {left}")


def _order(order_type: str, order_id: int):
    if order_type == "registration":
        from app.booking.models import Registration
        return db.session.get(Registration, order_id)
    if order_type == "care_order":
        from app.care_orders.models import CareOrder
        return db.session.get(CareOrder, order_id)
    return None  # an order type without points columns (tests)


# ---- earn ----------------------------------------------------------------------------------------

def earn(user_id: int, *, order_type: str, order_id: int, points: int, description: str,
         now: datetime | None = None) -> PointTransaction | None:
    """Inside the caller's transaction: `points` for the order, once (None when already
    earned or nothing to earn). The lot expires `expire_months` after now."""
    if points <= 0:
        return None
    now = now or utcnow()
    key = f"earn:{order_type}:{order_id}"
    _lock_balance(user_id)
    if _key_exists(key):
        return None
    transaction = _record(user_id, "earn", points, key, description, now, order_type, order_id)
    _move_balance(user_id, points)
    db.session.add(PointLot(user_id=user_id, transaction_id=transaction.id, amount=points,
                            remaining=points, expirations=0, earned_at=now,
                            expires_at=add_months(now, points_rules()["expire_months"])))
    db.session.flush()
    return transaction


def earn_for_visit(registration, now: datetime | None = None):
    """A registration became `visited` (same transaction)."""
    return earn(registration.user_id, order_type="registration", order_id=registration.id,
                points=points_rules()["points_per_visit"], description="就诊完成奖励积分",
                now=now)


def earn_for_care_order(order, now: datetime | None = None):
    """A care order completed (same transaction): per whole yuan the family kept paying."""
    kept_fen = max(0, order.total_fen - (order.refunded_fen or 0))
    return earn(order.user_id, order_type="care_order", order_id=order.id,
                points=kept_fen * points_rules()["points_per_yuan"] // 100,
                description="陪护订单完成奖励积分", now=now)


# ---- spend ---------------------------------------------------------------------------------------

def _check_limit(price_fen: int, points: int, rules: dict) -> None:
    limit = max_points_for(price_fen, rules)
    if points > limit:
        raise PointsOverLimit(f"本单最多可使用 {limit} 积分",
                              details={"max_points": limit, "points": points})


def quote_points(user_id: int, *, price_fen: int, points: int,
                 now: datetime | None = None) -> dict:
    """What `points` would do to a price (nothing is written): {points_used,
    points_discount_fen, payable_fen}; PointsOverLimit / PointsInsufficient as a spend would."""
    rules = points_rules()
    points = points or 0
    if points:
        _check_limit(price_fen, points, rules)
        available = available_balance(user_id, now)
        if points > available:
            raise PointsInsufficient(f"积分余额不足,当前可用 {available} 积分",
                                     details={"balance": available, "points": points})
    discount = points * rules["fen_per_point"]
    return {"points_used": points, "points_discount_fen": discount,
            "payable_fen": price_fen - discount}


def spend_for_order(actor, order_type: str, order_id: int, *, price_fen: int, points: int,
                    now: datetime | None = None) -> int:
    """Inside the caller's transaction, right after the order row is flushed: `points` of the
    actor's pay part of the order's price. Records the spend (FIFO lots), stores `points_used`
    and `points_discount_fen` on the order and returns the discount in fen (0 for no points).
    Over the cap: PointsOverLimit (422, details.max_points); more than held:
    PointsInsufficient (409); the caller's rollback then leaves nothing changed."""
    if not points:
        return 0
    now = now or utcnow()
    rules = points_rules()
    _check_limit(price_fen, points, rules)
    key = f"spend:{order_type}:{order_id}"
    _lock_balance(actor.id)
    existing = _transaction(key)
    if existing is not None:
        return -existing.points * rules["fen_per_point"]
    _expire_due(actor.id, now)
    _move_balance(actor.id, -points)
    name = ORDER_NAMES.get(order_type, "订单")
    transaction = _record(actor.id, "spend", -points, key, f"{name}抵扣", now, order_type,
                          order_id)
    _take(transaction, points, now)
    discount = points * rules["fen_per_point"]
    order = _order(order_type, order_id)
    if order is not None:
        order.points_used, order.points_discount_fen = points, discount
    db.session.flush()
    return discount


# ---- reverse -------------------------------------------------------------------------------------

def reverse_spend(order_type: str, order_id: int, now: datetime | None = None):
    """Inside the caller's transaction: the order's spent points go back into the lots they
    came from (their original expiry). Once; None when nothing was spent."""
    spend = _transaction(f"spend:{order_type}:{order_id}")
    if spend is None:
        return None
    now = now or utcnow()
    key = f"reverse_spend:{order_type}:{order_id}"
    _lock_balance(spend.user_id)
    if _key_exists(key):
        return None
    points = -spend.points
    transaction = _record(spend.user_id, "reverse_spend", points, key, "订单取消或退款,退回抵扣的积分",
                          now, order_type, order_id)
    _move_balance(spend.user_id, points)
    moves = db.session.scalars(select(PointLotMove).where(
        PointLotMove.transaction_id == spend.id).order_by(PointLotMove.id)).all()
    for move in moves:
        lot = db.session.get(PointLot, move.lot_id, with_for_update=True, populate_existing=True)
        lot.remaining += -move.points
        db.session.add(PointLotMove(transaction_id=transaction.id, lot_id=lot.id,
                                    points=-move.points))
    db.session.flush()
    return transaction


def reverse_earn(order_type: str, order_id: int, now: datetime | None = None):
    """Inside the caller's transaction: take back what the order earned, as far as the user
    still holds it (never below zero), from the earn's own lot first. Once."""
    earned = _transaction(f"earn:{order_type}:{order_id}")
    if earned is None:
        return None
    now = now or utcnow()
    key = f"reverse_earn:{order_type}:{order_id}"
    balance = _lock_balance(earned.user_id)
    if _key_exists(key):
        return None
    _expire_due(earned.user_id, now)
    db.session.refresh(balance)
    points = min(earned.points, balance.balance)
    transaction = _record(earned.user_id, "reverse_earn", -points, key, "订单退款,扣回奖励积分",
                          now, order_type, order_id)
    _move_balance(earned.user_id, -points)
    if points:
        first = db.session.scalar(select(PointLot.id).where(
            PointLot.transaction_id == earned.id))
        _take(transaction, points, now, first_lot_id=first)
    db.session.flush()
    return transaction


def reverse_order(order_type: str, order_id: int, now: datetime | None = None) -> None:
    """The order was refunded in full: spent points back, then earned points taken back."""
    reverse_spend(order_type, order_id, now)
    reverse_earn(order_type, order_id, now)


# ---- expiry (daily job) --------------------------------------------------------------------------

@retry_deadlock
def _expire_user(user_id: int, now: datetime) -> int:
    _lock_balance(user_id)
    expired = _expire_due(user_id, now)
    db.session.commit()
    return expired


def expire_due_lots(now: datetime | None = None) -> int:
    """Job: expire whatever is left of lots past their date, one transaction per user.
    Idempotent (a lot with nothing left is not touched again). Lots expired."""
    now = now or utcnow()
    user_ids = db.session.scalars(select(PointLot.user_id).where(
        PointLot.remaining > 0, PointLot.expires_at <= now).distinct()).all()
    db.session.rollback()
    expired = sum(_expire_user(user_id, now) for user_id in user_ids)
    if expired:
        log.info("points: %s lots of %s users expired", expired, len(user_ids))
    return expired


# ---- reading -------------------------------------------------------------------------------------

def available_balance(user_id: int, now: datetime | None = None) -> int:
    """The balance less what is past its expiry and waiting for the daily job."""
    now = now or utcnow()
    balance = db.session.scalar(select(PointBalance.balance).where(
        PointBalance.user_id == user_id)) or 0
    due = db.session.scalar(select(func.coalesce(func.sum(PointLot.remaining), 0)).where(
        PointLot.user_id == user_id, PointLot.remaining > 0, PointLot.expires_at <= now))
    return balance - int(due or 0)


def my_points(actor, *, page: int = 1, page_size: int = 20, now: datetime | None = None) -> dict:
    """{balance, expiring_soon: [{points, expires_at}], history: a page of transactions}."""
    now = now or utcnow()
    soon = now + timedelta(days=current_app.config["POINTS_EXPIRING_SOON_DAYS"])
    lots = db.session.execute(select(PointLot.remaining, PointLot.expires_at).where(
        PointLot.user_id == actor.id, PointLot.remaining > 0, PointLot.expires_at > now,
        PointLot.expires_at <= soon).order_by(PointLot.expires_at, PointLot.id)).all()
    history = paginate(select(PointTransaction).where(PointTransaction.user_id == actor.id)
                       .order_by(PointTransaction.id.desc()), page, page_size)
    result = {"balance": available_balance(actor.id, now),
              "expiring_soon": [{"points": points, "expires_at": expires_at}
                                for points, expires_at in lots],
              "history": history}
    return result


def earned_since(user_id: int, since: datetime) -> int:
    """Points earned since `since` (naive UTC) less what refunds took back of them: the
    membership levels' rolling window."""
    total = db.session.scalar(select(func.coalesce(func.sum(PointTransaction.points), 0)).where(
        PointTransaction.user_id == user_id,
        PointTransaction.kind.in_(("earn", "reverse_earn")),
        PointTransaction.created_at >= since))
    return int(total or 0)
