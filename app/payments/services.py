"""Payments: prepay, notifications, refunds, timeouts and reconciliation for any order type.

Transactions. A request commits once and never talks to WeChat with a transaction open.
Cancels, 停诊 and staff refunds reserve the refund (payment `refunding`, a `processing` refund
row with its out_refund_no) in the request's one commit; the `submit_refund` job asks WeChat.
Prepay is the one exception to "one commit": it commits the payment row (so a notification
racing the call finds it), calls WeChat for the prepay_id, then records it in a second short
transaction. Jobs (close at the TTL, refunds, reconciliation) call WeChat between their own
short transactions.

Lock order (docs/locking.md): the order's side first (its handler's `lock_order`: the schedule
or caregiver, then the order row), then the payment, then its refunds. Every function here
that locks several rows goes through `_lock_payment_for`; the use cases are wrapped in
`retry_deadlock` (a MariaDB deadlock is retried once).

Money never stuck. A payment for an order that can no longer take it (closed, cancelled,
stopped meanwhile) is acknowledged and refunded in full. A refund WeChat refuses keeps its
out_refund_no and is sent again with exponential backoff for REFUND_RETRY_WINDOW_SECONDS,
then it is `failed`, listed for staff, who can retry it.
"""
import logging
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from app.common.deadlock import retry_deadlock
from app.common.pagination import paginate
from app.common.time import LOCAL_TZ, utcnow
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.extensions import db, jobs
from app.notifications.services import notify_staff
from app.payments.models import FAILED_REFUND, OPEN_REFUND, Payment, Refund
from app.payments.protocol import OrderNotPayable, order_type as registered_order_type
from app.tasks import payments as tasks
from app.wechat import pay as wxpay
from app.wechat.errors import PayApiError, PayOrderNotFound, PayUnavailable

log = logging.getLogger("app.payments")
PAID_STATES = ("paid", "refunding", "refunded", "partially_refunded")
REFUNDABLE_STATES = ("paid", "partially_refunded", "refunding")
PAID_AFTER_CLOSE_REASON = "订单已关闭,自动退款"


class UnknownOrderType(NotFound):
    code = "unknown_order_type"
    message = "不支持的订单类型"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "支付单不存在"


class RefundNotFound(NotFound):
    code = "refund_not_found"
    message = "退款单不存在"


class OrderAlreadyPaid(Conflict):
    code = "order_already_paid"
    message = "订单已支付"


class RefundExceedsPaid(Conflict):
    code = "refund_exceeds_paid"
    message = "退款金额超过可退金额"


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    message = "该支付单当前不可退款"


class RefundThroughOrder(Conflict):
    code = "refund_through_order"
    message = "该类订单的退款需通过订单处理(取消或纠纷裁决),以便订单与收入账目一致"


class RefundNotRetryable(Conflict):
    code = "refund_not_retryable"
    message = "只有失败的退款可以重试"


class NotificationMismatch(AppError):
    """A verified notification that does not fit our records (logged loudly)."""

    status = 400
    code = "notification_mismatch"
    message = "通知内容与订单不符"


def _handler(name):
    handler = registered_order_type(name)
    if handler is None:
        raise UnknownOrderType()
    return handler


def _serial(prefix: str) -> str:
    stamp = datetime.now(LOCAL_TZ).strftime("%Y%m%d%H%M%S")
    return f"{prefix}{stamp}{secrets.token_hex(6)}"


def _lock_payment(**criteria) -> Payment | None:
    """The payment row alone. Only for callers that already hold the order's locks (or, like
    prepay, locked the order row through payment_terms)."""
    statement = select(Payment).with_for_update().execution_options(populate_existing=True)
    for name, value in criteria.items():
        statement = statement.where(getattr(Payment, name) == value)
    return db.session.scalar(statement)


def _lock_payment_for(payment_id: int) -> Payment | None:
    """Lock in the house order: the order's side (handler.lock_order: parent resource, then
    the order row), then the payment row. order_type/order_id never change, so reading them
    without a lock first is safe."""
    found = db.session.get(Payment, payment_id)
    if found is None:
        return None
    lock_order = getattr(_handler(found.order_type), "lock_order", None)
    if lock_order is not None:
        lock_order(found.order_id)
    return _lock_payment(id=payment_id)


def _lock_refund(refund_id: int) -> Refund:
    return db.session.get(Refund, refund_id, with_for_update=True, populate_existing=True)


def _close_job(payment: Payment):
    delay = max((payment.expires_at - utcnow()).total_seconds(), 0) + 2
    jobs.enqueue_after_commit(db.session, tasks.close_expired_payment, payment.id,
                              delay_seconds=delay, job_id=f"payment-close-{payment.id}")


# ---------------------------------------------------------------------------------- prepay

@retry_deadlock
def prepay(actor, *, order_type: str, order_id: int) -> dict:
    """wx.requestPayment parameters for the caller's own unpaid order; asking again reuses the
    open prepay until the payment expires. The order row is locked (payment_terms) before the
    payment row, so prepay cannot race the order's cancel or its TTL close."""
    handler = _handler(order_type)
    terms = handler.payment_terms(actor, order_id)
    payment = _lock_payment(order_type=order_type, order_id=order_id)
    now = utcnow()
    if payment is None:
        expires_at = now + timedelta(seconds=current_app.config["PAYMENT_TTL_SECONDS"])
        if terms.pay_before and terms.pay_before < expires_at:
            expires_at = terms.pay_before
        if expires_at <= now:
            raise OrderNotPayable()
        payment = Payment(out_trade_no=_serial("P"), order_type=order_type, order_id=order_id,
                          user_id=terms.user_id, payer_openid=actor.openid,
                          description=terms.description[:127], amount_fen=terms.amount_fen,
                          refunded_fen=0, status="created", expires_at=expires_at)
        db.session.add(payment)
        try:
            db.session.flush()
        except IntegrityError:  # a concurrent prepay for the same order won
            db.session.rollback()
            return prepay(actor, order_type=order_type, order_id=order_id)
        _close_job(payment)
    elif payment.status in PAID_STATES:
        raise OrderAlreadyPaid()
    elif payment.status == "closed" or payment.expires_at <= now:
        raise OrderNotPayable("支付已超时,订单已关闭", code="payment_expired")
    elif payment.amount_fen != terms.amount_fen:
        raise OrderNotPayable("订单金额已变化,请重新下单", code="amount_changed")

    payment_id, prepay_id = payment.id, payment.prepay_id
    request = (payment.out_trade_no, payment.description, payment.amount_fen,
               payment.payer_openid, payment.expires_at, f"{order_type}:{order_id}")
    db.session.commit()
    if prepay_id is None:
        # the one WeChat call of a request, after its commit (see the module docstring)
        prepay_id = wxpay.jsapi_prepay(*request)
        payment = db.session.get(Payment, payment_id, with_for_update=True,
                                 populate_existing=True)
        if payment.prepay_id is None:
            payment.prepay_id = prepay_id
        prepay_id = payment.prepay_id
        db.session.commit()
    payment = db.session.get(Payment, payment_id)
    return {"payment": payment, "pay_params": wxpay.request_payment_params(prepay_id)}


def prepay_if_possible(actor, *, order_type: str, order_id: int) -> dict:
    """Prepay right after an order is placed, for the client's convenience: {"payment",
    "pay_params"}, both None when WeChat is unreachable (the order stands; the client asks
    again through POST /payments/prepay) or the order closed in the moment since its commit
    (it says so itself)."""
    try:
        return prepay(actor, order_type=order_type, order_id=order_id)
    except (PayUnavailable, PayApiError) as exc:
        db.session.rollback()
        log.warning("%s %s: prepay failed (%s); client may retry", order_type, order_id,
                    exc.code)
    except OrderNotPayable:
        db.session.rollback()
    return {"payment": None, "pay_params": None}


def payment_of(actor, *, payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.user_id != actor.id:
        raise PaymentNotFound()
    return payment


# ---------------------------------------------------------------------- payment results

def _parse_time(value: str | None) -> datetime:
    if not value:
        return utcnow()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return utcnow()
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TZ)
    return parsed.astimezone(timezone.utc).replace(tzinfo=None)


@retry_deadlock
def apply_transaction(resource: dict, *, source: str) -> str:
    """Apply a WeChat transaction (notification or query) at most once.

    Returns "applied", "refunding" (paid, but the order could no longer take it: refunded in
    full), "duplicate" or "ignored" (not a success). Raises for what we cannot accept: an
    unknown out_trade_no, a wrong amount, another transaction id.
    """
    out_trade_no = resource.get("out_trade_no")
    found = db.session.scalar(select(Payment.id).where(Payment.out_trade_no == out_trade_no)) \
        if out_trade_no else None
    if found is None:
        db.session.rollback()
        log.warning("%s: unknown out_trade_no %r", source, out_trade_no)
        raise NotificationMismatch("未知的商户订单号", code="unknown_out_trade_no")
    if resource.get("trade_state") != "SUCCESS":
        db.session.rollback()
        return "ignored"
    payment = _lock_payment_for(found)
    total = (resource.get("amount") or {}).get("total")
    if total != payment.amount_fen:
        db.session.rollback()
        log.error("%s: amount %r != %s for %s", source, total, payment.amount_fen, out_trade_no)
        raise NotificationMismatch("支付金额与订单不符", code="amount_mismatch")
    transaction_id = resource.get("transaction_id")
    if not transaction_id:
        db.session.rollback()
        raise NotificationMismatch("缺少微信支付单号", code="missing_transaction_id")
    if payment.transaction_id:
        db.session.rollback()
        if payment.transaction_id == transaction_id:
            return "duplicate"
        log.error("%s: second transaction %s for %s", source, transaction_id, out_trade_no)
        raise NotificationMismatch("同一订单出现不同的微信支付单号", code="transaction_conflict")

    was_closed = payment.status == "closed"
    payment.mark_paid(transaction_id, _parse_time(resource.get("success_time")))
    taken = not was_closed and _order_takes(payment)
    if taken:
        jobs.enqueue_after_commit(db.session, tasks.payment_succeeded, payment.id)
    else:
        # the money arrived for an order that can no longer take it: acknowledge, give it back
        log.warning("%s: payment %s arrived after its order closed; refunding in full", source,
                    out_trade_no)
        _reserve_refund(payment, payment.amount_fen, PAID_AFTER_CLOSE_REASON, "system")
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise NotificationMismatch("微信支付单号已被其他订单使用", code="transaction_conflict")
    log.info("%s: payment %s paid (%s)", source, out_trade_no, transaction_id)
    return "applied" if taken else "refunding"


def _order_takes(payment: Payment) -> bool:
    """Run the order type's on_paid in a savepoint: False (or a Conflict) means the order can
    no longer take the money, and whatever the hook changed is undone."""
    savepoint = db.session.begin_nested()
    try:
        taken = _handler(payment.order_type).on_paid(payment.order_id, payment) is not False
    except Conflict as refused:
        log.info("order %s:%s refused the payment: %s", payment.order_type, payment.order_id,
                 refused.code)
        taken = False
    if taken:
        savepoint.commit()
    else:
        savepoint.rollback()
    return taken


@retry_deadlock
def close_if_unpaid(payment_id: int) -> str:
    """Close an unpaid payment whose time is up: at WeChat first, then here (and its order).

    Returns what happened: "closed", "paid" (it turned out paid), "noop" or "not_due".
    """
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != "created":
        db.session.rollback()
        return "noop"
    if payment.expires_at > utcnow():
        db.session.rollback()
        return "not_due"
    out_trade_no, has_prepay = payment.out_trade_no, payment.prepay_id is not None
    db.session.rollback()
    if has_prepay:
        if _settled_at_wechat(out_trade_no):
            return "paid"
        try:
            wxpay.close_transaction(out_trade_no)
        except PayOrderNotFound:
            pass  # never reached WeChat; nothing to close there
        except PayApiError:
            if _settled_at_wechat(out_trade_no):  # paid between our query and the close
                return "paid"
            raise
    payment = _lock_payment_for(payment_id)
    if payment.status != "created":
        db.session.rollback()
        return "noop"
    payment.mark_closed(utcnow())
    _handler(payment.order_type).on_closed(payment.order_id, payment)
    db.session.commit()
    log.info("payment %s closed unpaid", out_trade_no)
    return "closed"


def _settled_at_wechat(out_trade_no: str) -> bool:
    try:
        transaction = wxpay.query_transaction(out_trade_no)
    except PayOrderNotFound:
        return False
    if transaction.get("trade_state") == "SUCCESS":
        apply_transaction(transaction, source="query")
        return True
    return False


def expired_payment_ids(limit=500) -> list[int]:
    ids = db.session.scalars(select(Payment.id).where(
        Payment.status == "created", Payment.expires_at < utcnow()).order_by(Payment.id)
        .limit(limit)).all()
    db.session.rollback()
    return list(ids)


def payments_to_reconcile(older_than_seconds: int, limit=500) -> list[int]:
    """Unpaid payments WeChat has heard of, quiet for a while: a notification may be lost."""
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    ids = db.session.scalars(select(Payment.id).where(
        Payment.status == "created", Payment.prepay_id.is_not(None),
        Payment.updated_at <= cutoff).order_by(Payment.id).limit(limit)).all()
    db.session.rollback()
    return list(ids)


def reconcile_payment(payment_id: int) -> str:
    """"paid" once WeChat says SUCCESS, whether the order took it or it is being refunded
    (either way it is settled and not asked about again), else "unpaid"."""
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.status != "created":
        db.session.rollback()
        return "noop"
    out_trade_no = payment.out_trade_no
    db.session.rollback()
    if _settled_at_wechat(out_trade_no):
        return "paid"
    return "unpaid"


# ---------------------------------------------------------------------------------- refunds

def _reserve_refund(payment: Payment, amount_fen: int, reason: str, requested_by: str) -> Refund:
    """Inside the caller's transaction, with the payment locked: the refund row and its
    out_refund_no; the submit job runs after the commit."""
    refund = Refund(out_refund_no=_serial("R"), payment=payment, amount_fen=amount_fen,
                    reason=reason[:80], requested_by=requested_by, status=OPEN_REFUND,
                    attempts=0)
    payment.start_refund()
    db.session.add(refund)
    db.session.flush()
    jobs.enqueue_after_commit(db.session, tasks.submit_refund, refund.id)
    return refund


def _checked_reservation(payment: Payment | None, amount_fen, reason, requested_by) -> Refund:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen <= 0:
        raise ValidationFailed("退款金额必须为正整数(分)", code="invalid_amount")
    if payment is None:
        raise PaymentNotFound()
    if payment.status not in REFUNDABLE_STATES:
        raise PaymentNotRefundable()
    refundable = payment.refundable_fen()
    if amount_fen > refundable:
        raise RefundExceedsPaid(details={"refundable_fen": refundable})
    return _reserve_refund(payment, amount_fen, reason, requested_by)


@retry_deadlock
def request_refund(actor, *, payment_id: int, amount_fen: int, reason: str) -> Refund:
    """Staff refund, full or partial. The amount is reserved under the payment's row lock (so
    concurrent refunds never add up to more than was paid) and committed once; the worker
    asks WeChat. Answers the refund `processing`."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    try:
        payment = _lock_payment_for(payment_id)
        # an order type that books what it keeps (care orders: the caregiver's ledger) takes
        # its refunds through its own use cases, or its books and the payment would disagree
        if payment is not None and getattr(_handler(payment.order_type),
                                           "refunds_through_order", False):
            raise RefundThroughOrder()
        refund = _checked_reservation(payment, amount_fen, reason, f"staff:{actor.id}")
    except AppError:
        db.session.rollback()
        raise
    db.session.commit()
    return refund


def refund_for_order(order_type: str, order_id: int, *, reason: str,
                     requested_by: str = "system", amount_fen: int | None = None) -> Refund | None:
    """Inside the caller's transaction, which holds the order's locks already (lock order:
    order → payment): reserve a refund of `amount_fen` (default: everything still refundable)
    of the order's payment. None when nothing was paid, nothing is left or the amount is 0;
    more than is left is RefundExceedsPaid."""
    payment = _lock_payment(order_type=order_type, order_id=order_id)
    if payment is None or payment.status not in REFUNDABLE_STATES \
            or payment.refundable_fen() <= 0:
        return None
    amount = payment.refundable_fen() if amount_fen is None else amount_fen
    if amount <= 0:
        return None
    if amount > payment.refundable_fen():
        raise RefundExceedsPaid()
    return _reserve_refund(payment, amount, reason, requested_by)


def close_for_order(order_type: str, order_id: int) -> str:
    """Inside the caller's transaction, which holds the order's locks and has already moved
    the order on (cancelled, or closed by 停诊): the unpaid payment expires now and its close
    job (WeChat first, then here) is enqueued after the commit. A payment that still arrives is
    refunded in full (the order no longer takes it). "closing", or "noop" when nothing is open."""
    payment = _lock_payment(order_type=order_type, order_id=order_id)
    if payment is None or payment.status != "created":
        return "noop"
    payment.expires_at = min(payment.expires_at, utcnow())
    jobs.enqueue_after_commit(db.session, tasks.close_expired_payment, payment.id,
                              job_id=f"payment-close-now-{payment.id}")
    return "closing"


def close_unpaid_now(order_type: str, order_id: int) -> str:
    """Job-level (not inside a transaction): the order's payment deadline is now; close it as
    the TTL job would (WeChat first, then here). What close_if_unpaid answers, or "noop"."""
    payment = payment_for_order(order_type, order_id)
    if payment is None or payment.status != "created":
        db.session.rollback()
        return "noop"
    payment = _lock_payment_for(payment.id)
    payment.expires_at = min(payment.expires_at, utcnow())
    payment_id = payment.id
    db.session.commit()
    return close_if_unpaid(payment_id)


def refund_retry_delay(attempt: int) -> int:
    """Seconds before sending a refused refund again after its `attempt`-th refusal."""
    config = current_app.config
    return min(config["REFUND_RETRY_BASE_SECONDS"] * 2 ** (attempt - 1),
               config["REFUND_RETRY_MAX_DELAY_SECONDS"])


@retry_deadlock
def submit_refund(refund_id: int) -> str:
    """Send a reserved refund to WeChat (the same out_refund_no is the same refund there, so
    this is idempotent). A notification may settle it before this returns; that is fine.

    "applied"/"ignored" (accepted, settled or processing at WeChat), "retrying" (refused; the
    next attempt is scheduled), "failed" (refused past the retry window), "pending" (WeChat
    unreachable: reconciliation sends it again), "not_due" or "noop".
    """
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != OPEN_REFUND:
        db.session.rollback()
        return "noop"
    if refund.next_attempt_at is not None and refund.next_attempt_at > utcnow():
        db.session.rollback()
        return "not_due"
    payment = refund.payment
    request = (refund.out_refund_no, payment.out_trade_no, refund.amount_fen, payment.amount_fen,
               refund.reason)
    db.session.rollback()
    try:
        result = wxpay.refund(*request)
    except PayUnavailable:
        log.warning("refund %s: WeChat unreachable; reconciliation will retry", request[0])
        return "pending"
    except PayApiError as refusal:
        return _refund_refused(refund_id, refusal)
    return _finish_refund(refund_id, result, attempted=True)


def _refund_refused(refund_id: int, refusal: PayApiError) -> str:
    refund = db.session.get(Refund, refund_id)
    _lock_payment_for(refund.payment_id)
    refund = _lock_refund(refund_id)
    if refund.status != OPEN_REFUND:
        db.session.rollback()
        return "noop"
    now = utcnow()
    reason = f"微信拒绝退款: {refusal.wechat_code} {refusal.wechat_message or ''}".strip()
    window = timedelta(seconds=current_app.config["REFUND_RETRY_WINDOW_SECONDS"])
    if now - refund.created_at >= window:
        refund.refused(reason, retry_at=None)
        log.error("refund %s refused (%s) past its retry window: failed, staff must act",
                  refund.out_refund_no, refusal.wechat_code)
        _tell_staff_refund_failed(refund)
        outcome = "failed"
    else:
        delay = refund_retry_delay(refund.attempts + 1)
        refund.refused(reason, retry_at=now + timedelta(seconds=delay))
        jobs.enqueue_after_commit(db.session, tasks.submit_refund, refund.id,
                                  delay_seconds=delay,
                                  job_id=f"refund-retry-{refund.id}-{refund.attempts}")
        log.warning("refund %s refused (%s); attempt %s, next in %ss", refund.out_refund_no,
                    refusal.wechat_code, refund.attempts, delay)
        outcome = "retrying"
    db.session.commit()
    return outcome


def _tell_staff_refund_failed(refund: Refund):
    """Inside the transaction that fails the refund: operators are told the money is still
    owed (once per refund; a staff retry that fails again shows in the failed list)."""
    yuan = f"{refund.amount_fen // 100}.{refund.amount_fen % 100:02d}"
    notify_staff("refund_failed", f"退款失败 {yuan} 元,请处理", "refund", refund.id,
                 roles=("operator",),
                 context={"subject": refund.out_refund_no, "order_no": refund.out_refund_no,
                          "amount_fen": refund.amount_fen})


def _finish_refund(refund_id: int, result: dict, attempted=False) -> str:
    refund = db.session.get(Refund, refund_id)
    payment = _lock_payment_for(refund.payment_id)
    refund = _lock_refund(refund_id)
    refund.next_attempt_at = None  # WeChat has it now: no backoff pending
    if attempted:
        refund.attempts += 1
    if result.get("refund_id") and not refund.refund_id:
        refund.refund_id = result["refund_id"]
    status = result.get("status") or result.get("refund_status")
    outcome = _settle(payment, refund, status, result)
    db.session.commit()
    return outcome


def _settle(payment: Payment, refund: Refund, status: str, result: dict) -> str:
    if refund.status == "succeeded":
        return "duplicate"
    if status == "SUCCESS":
        refund.succeed(result.get("refund_id"), _parse_time(result.get("success_time")))
        payment.refunded_fen += refund.amount_fen
        payment.settle_refund_state()
        _handler(payment.order_type).on_refunded(payment.order_id, payment, refund)
        jobs.enqueue_after_commit(db.session, tasks.refund_succeeded, refund.id)
        log.info("refund %s succeeded", refund.out_refund_no)
        return "applied"
    if refund.status != OPEN_REFUND:
        return "duplicate"
    if status in ("CLOSED", "ABNORMAL"):
        # WeChat ended it without paying out: the money is still owed, staff take over
        refund.fail(f"微信退款状态 {status}")
        log.error("refund %s ended %s at WeChat: failed, staff must act", refund.out_refund_no,
                  status)
        _tell_staff_refund_failed(refund)
        return "applied"
    return "ignored"  # PROCESSING: wait for the notification


@retry_deadlock
def apply_refund_notification(resource: dict, *, source: str) -> str:
    out_refund_no = resource.get("out_refund_no")
    found = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no)) \
        if out_refund_no else None
    if found is None:
        db.session.rollback()
        log.warning("%s: unknown out_refund_no %r", source, out_refund_no)
        raise NotificationMismatch("未知的退款单号", code="unknown_out_refund_no")
    refund_id = found.id
    payment = _lock_payment_for(found.payment_id)
    refund = _lock_refund(refund_id)
    amount = (resource.get("amount") or {}).get("refund")
    if amount != refund.amount_fen or resource.get("out_trade_no") not in (None,
                                                                          payment.out_trade_no):
        db.session.rollback()
        log.error("%s: refund %s does not match our records", source, out_refund_no)
        raise NotificationMismatch("退款金额或订单与记录不符", code="amount_mismatch")
    status = resource.get("refund_status") or resource.get("status")
    outcome = _settle(payment, refund, status, resource)
    db.session.commit()
    return outcome


def refunds_to_reconcile(older_than_seconds: int, limit=500) -> list[int]:
    """Open refunds quiet for a while (a notification or the submit job may be lost), and
    refused ones whose backoff is over."""
    now = utcnow()
    cutoff = now - timedelta(seconds=older_than_seconds)
    ids = db.session.scalars(select(Refund.id).where(
        Refund.status == OPEN_REFUND,
        or_(and_(Refund.next_attempt_at.is_(None), Refund.updated_at <= cutoff),
            Refund.next_attempt_at <= now)).order_by(Refund.id).limit(limit)).all()
    db.session.rollback()
    return list(ids)


def reconcile_refund(refund_id: int) -> str:
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != OPEN_REFUND:
        db.session.rollback()
        return "noop"
    out_refund_no = refund.out_refund_no
    db.session.rollback()
    try:
        result = wxpay.query_refund(out_refund_no)
    except PayOrderNotFound:
        return submit_refund(refund_id)  # our request never arrived, or WeChat refused it
    return _finish_refund(refund_id, result)


# ------------------------------------------------------------------------- staff: refunds

def list_refunds(actor, *, status: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    """Refunds for staff, newest first; `failed` ones are money still owed."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    statement = select(Refund)
    if status:
        statement = statement.where(Refund.status == status)
    return paginate(statement.order_by(Refund.id.desc()), page, page_size)


@retry_deadlock
def retry_refund(actor, *, refund_id: int) -> Refund:
    """Send a failed refund again, with the same out_refund_no (one attempt: refused again, it
    returns to the failed list with WeChat's answer)."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        raise RefundNotFound()
    _lock_payment_for(refund.payment_id)
    refund = _lock_refund(refund_id)
    if refund.status != FAILED_REFUND:
        db.session.rollback()
        raise RefundNotRetryable(details={"status": refund.status})
    refund.retry()
    jobs.enqueue_after_commit(db.session, tasks.submit_refund, refund.id)
    db.session.commit()
    log.info("refund %s retried by staff %s", refund.out_refund_no, actor.id)
    return refund


# ------------------------------------------------------------- entry points for order types

def payment_for_order(order_type: str, order_id: int) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.order_type == order_type,
                                                   Payment.order_id == order_id))
