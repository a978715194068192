"""Payments: prepay, notifications, refunds, timeouts and reconciliation for any order type.

WeChat calls are never made inside an open transaction: a row we depend on is committed
first (so a notification racing the call finds it), values needed for the call are copied
out before that commit, and the outcome is recorded in a second short transaction. That is
why the services here commit more than once; every other rule of the house holds (locks,
checked transitions, jobs only after commit).
"""
import logging
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.common.time import LOCAL_TZ, utcnow
from app.errors import AppError, Conflict, NotFound, ValidationFailed
from app.extensions import db, jobs
from app.payments.models import OPEN_REFUND, Payment, Refund
from app.payments.protocol import OrderNotPayable, order_type
from app.wechat import pay as wxpay
from app.wechat.errors import PayApiError, PayOrderNotFound, PayUnavailable

log = logging.getLogger("app.payments")
PAID_STATES = ("paid", "refunding", "refunded", "partially_refunded")


class UnknownOrderType(NotFound):
    code = "unknown_order_type"
    message = "不支持的订单类型"


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "支付单不存在"


class OrderAlreadyPaid(Conflict):
    code = "order_already_paid"
    message = "订单已支付"


class RefundExceedsPaid(Conflict):
    code = "refund_exceeds_paid"
    message = "退款金额超过可退金额"


class PaymentNotRefundable(Conflict):
    code = "payment_not_refundable"
    message = "该支付单当前不可退款"


class NotificationMismatch(AppError):
    """A verified notification that does not fit our records (logged loudly)."""

    status = 400
    code = "notification_mismatch"
    message = "通知内容与订单不符"


def _handler(name):
    handler = order_type(name)
    if handler is None:
        raise UnknownOrderType()
    return handler


def _serial(prefix: str) -> str:
    stamp = datetime.now(LOCAL_TZ).strftime("%Y%m%d%H%M%S")
    return f"{prefix}{stamp}{secrets.token_hex(6)}"


def _lock_payment(**criteria) -> Payment | None:
    statement = select(Payment).with_for_update()
    for name, value in criteria.items():
        statement = statement.where(getattr(Payment, name) == value)
    return db.session.scalar(statement)


def _close_job(payment: Payment):
    delay = max((payment.expires_at - utcnow()).total_seconds(), 0) + 2
    jobs.enqueue_after_commit(db.session, "app.tasks.payments.close_expired_payment", payment.id,
                              delay_seconds=delay, job_id=f"payment-close-{payment.id}")


# ---------------------------------------------------------------------------------- prepay

def prepay(actor, order_type_name: str, order_id: int) -> dict:
    """wx.requestPayment parameters for the caller's own unpaid order; asking again reuses the
    open prepay until the payment expires."""
    handler = _handler(order_type_name)
    terms = handler.payment_terms(actor, order_id)
    payment = _lock_payment(order_type=order_type_name, order_id=order_id)
    now = utcnow()
    if payment is None:
        expires_at = now + timedelta(seconds=current_app.config["PAYMENT_TTL_SECONDS"])
        if terms.pay_before and terms.pay_before < expires_at:
            expires_at = terms.pay_before
        if expires_at <= now:
            raise OrderNotPayable()
        payment = Payment(out_trade_no=_serial("P"), order_type=order_type_name, order_id=order_id,
                          user_id=terms.user_id, payer_openid=actor.openid,
                          description=terms.description[:127], amount_fen=terms.amount_fen,
                          refunded_fen=0, status="created", expires_at=expires_at)
        db.session.add(payment)
        try:
            db.session.flush()
        except IntegrityError:  # a concurrent prepay for the same order won
            db.session.rollback()
            return prepay(actor, order_type_name, order_id)
        _close_job(payment)
    elif payment.status in PAID_STATES:
        raise OrderAlreadyPaid()
    elif payment.status == "closed" or payment.expires_at <= now:
        raise OrderNotPayable("支付已超时,订单已关闭", code="payment_expired")
    elif payment.amount_fen != terms.amount_fen:
        raise OrderNotPayable("订单金额已变化,请重新下单", code="amount_changed")

    payment_id, prepay_id = payment.id, payment.prepay_id
    request = (payment.out_trade_no, payment.description, payment.amount_fen,
               payment.payer_openid, payment.expires_at, f"{order_type_name}:{order_id}")
    db.session.commit()
    if prepay_id is None:
        prepay_id = wxpay.jsapi_prepay(*request)
        payment = db.session.get(Payment, payment_id, with_for_update=True)
        if payment.prepay_id is None:
            payment.prepay_id = prepay_id
        prepay_id = payment.prepay_id
        db.session.commit()
    payment = db.session.get(Payment, payment_id)
    return {"payment": payment, "pay_params": wxpay.request_payment_params(prepay_id)}


def payment_of(actor, payment_id: int) -> Payment:
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


def apply_transaction(resource: dict, source: str) -> str:
    """Apply a WeChat transaction (notification or query) at most once.

    Returns "applied", "duplicate" or "ignored" (not a success). Raises for what we cannot
    accept: an unknown out_trade_no, a wrong amount, another transaction id.
    """
    out_trade_no = resource.get("out_trade_no")
    payment = _lock_payment(out_trade_no=out_trade_no) if out_trade_no else None
    if payment is None:
        db.session.rollback()
        log.warning("%s: unknown out_trade_no %r", source, out_trade_no)
        raise NotificationMismatch("未知的商户订单号", code="unknown_out_trade_no")
    if resource.get("trade_state") != "SUCCESS":
        db.session.rollback()
        return "ignored"
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
    if was_closed:
        # money for an order we had already closed: keep the order closed, give it back
        log.error("%s: payment %s arrived after close; refunding in full", source, out_trade_no)
        refund = _reserve_refund(payment, payment.amount_fen, "订单已关闭,自动退款", "system")
        jobs.enqueue_after_commit(db.session, "app.tasks.payments.submit_refund", refund.id)
    else:
        _handler(payment.order_type).on_paid(payment.order_id, payment)
        jobs.enqueue_after_commit(db.session, "app.tasks.payments.payment_succeeded", payment.id)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise NotificationMismatch("微信支付单号已被其他订单使用", code="transaction_conflict")
    log.info("%s: payment %s paid (%s)", source, out_trade_no, transaction_id)
    return "applied"


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
    payment = _lock_payment(id=payment_id)
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
        apply_transaction(transaction, "query")
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
    refund = Refund(out_refund_no=_serial("R"), payment=payment, amount_fen=amount_fen,
                    reason=reason[:80], requested_by=requested_by, status=OPEN_REFUND)
    payment.start_refund()
    db.session.add(refund)
    db.session.flush()
    return refund


def request_refund(payment_id: int, amount_fen: int, reason: str, requested_by: str) -> Refund:
    """Reserve the amount under the payment's row lock (so concurrent refunds can never add
    up to more than was paid), then ask WeChat."""
    if not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationFailed("退款金额必须为正整数(分)", code="invalid_amount")
    payment = _lock_payment(id=payment_id)
    if payment is None:
        raise PaymentNotFound()
    if payment.status not in ("paid", "partially_refunded", "refunding"):
        db.session.rollback()
        raise PaymentNotRefundable()
    refundable = payment.refundable_fen()
    if amount_fen > refundable:
        db.session.rollback()
        raise RefundExceedsPaid(details={"refundable_fen": refundable})
    refund = _reserve_refund(payment, amount_fen, reason, requested_by)
    refund_id = refund.id
    db.session.commit()
    submit_refund(refund_id)
    return db.session.get(Refund, refund_id)


def submit_refund(refund_id: int, raise_errors=True) -> str:
    """Send a reserved refund to WeChat (idempotent: the same out_refund_no is the same
    refund there). A notification may settle it before this returns; that is fine."""
    refund = db.session.get(Refund, refund_id)
    if refund is None or refund.status != OPEN_REFUND:
        db.session.rollback()
        return "noop"
    payment = refund.payment
    request = (refund.out_refund_no, payment.out_trade_no, refund.amount_fen, payment.amount_fen,
               refund.reason)
    db.session.rollback()
    try:
        result = wxpay.refund(*request)
    except PayUnavailable:
        log.warning("refund %s: WeChat unreachable; reconciliation will retry", request[0])
        return "pending"
    except PayApiError as exc:
        _finish_refund(refund_id, {"status": "CLOSED"}, reason=exc.message)
        if raise_errors:
            raise
        return "rejected"
    return _finish_refund(refund_id, result)


def _finish_refund(refund_id: int, result: dict, reason: str | None = None) -> str:
    refund = db.session.get(Refund, refund_id)
    payment = _lock_payment(id=refund.payment_id)
    refund = db.session.get(Refund, refund_id, with_for_update=True, populate_existing=True)
    if result.get("refund_id") and not refund.refund_id:
        refund.refund_id = result["refund_id"]
    status = result.get("status") or result.get("refund_status")
    outcome = _settle(payment, refund, status, result, reason)
    db.session.commit()
    return outcome


def _settle(payment: Payment, refund: Refund, status: str, result: dict, reason=None) -> str:
    if refund.status != OPEN_REFUND:
        return "duplicate"
    if status == "SUCCESS":
        refund.succeed(result.get("refund_id"), _parse_time(result.get("success_time")))
        payment.refunded_fen += refund.amount_fen
        payment.settle_refund_state()
        _handler(payment.order_type).on_refunded(payment.order_id, payment, refund)
        jobs.enqueue_after_commit(db.session, "app.tasks.payments.refund_succeeded", refund.id)
        log.info("refund %s succeeded", refund.out_refund_no)
        return "applied"
    if status in ("CLOSED", "ABNORMAL"):
        refund.fail(status.lower(), reason or f"微信退款状态 {status}")
        payment.settle_refund_state()
        log.warning("refund %s ended %s", refund.out_refund_no, status)
        return "applied"
    return "ignored"  # PROCESSING: wait for the notification


def apply_refund_notification(resource: dict, source: str) -> str:
    out_refund_no = resource.get("out_refund_no")
    found = db.session.scalar(select(Refund).where(Refund.out_refund_no == out_refund_no)) \
        if out_refund_no else None
    if found is None:
        db.session.rollback()
        log.warning("%s: unknown out_refund_no %r", source, out_refund_no)
        raise NotificationMismatch("未知的退款单号", code="unknown_out_refund_no")
    payment = _lock_payment(id=found.payment_id)
    refund = db.session.get(Refund, found.id, with_for_update=True, populate_existing=True)
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
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    ids = db.session.scalars(select(Refund.id).where(
        Refund.status == OPEN_REFUND, Refund.updated_at <= cutoff).order_by(Refund.id)
        .limit(limit)).all()
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
        return submit_refund(refund_id, raise_errors=False)  # our request never arrived
    return _finish_refund(refund_id, result)


# ------------------------------------------------------------- entry points for order types

def payment_for_order(order_type_name: str, order_id: int) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.order_type == order_type_name,
                                                   Payment.order_id == order_id))


def close_for_order(order_type_name: str, order_id: int) -> str:
    """The user gave up before paying: close now instead of at the TTL. The order type's
    on_closed hook runs as for a timeout. "noop" when there is nothing unpaid to close."""
    payment = _lock_payment(order_type=order_type_name, order_id=order_id)
    if payment is None or payment.status != "created":
        db.session.rollback()
        return "noop"
    payment.expires_at = min(payment.expires_at, utcnow())
    payment_id = payment.id
    db.session.commit()
    return close_if_unpaid(payment_id)


def refund_order(order_type_name: str, order_id: int, amount_fen: int, reason: str,
                 requested_by: str = "system") -> Refund:
    """Refund part or all of an order's payment (cancellations, 停诊)."""
    payment = payment_for_order(order_type_name, order_id)
    if payment is None:
        raise PaymentNotFound()
    payment_id = payment.id
    db.session.rollback()
    return request_refund(payment_id, amount_fen, reason, requested_by)
