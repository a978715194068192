"""Care orders for staff (运营): search, the whole story of one order, reassign by hand, cancel
with a refund staff choose, and the care policy (prices, deadlines, shares) staff may change.

Lock order as everywhere (docs/locking.md): caregiver → care order → payment → refund.
Reassigning locks both caregivers (the current one and the new one, lower id first) before
the order, and checks after the order's lock that its caregiver is still the one locked.
"""
import logging
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.care_orders import core, pricing
from app.care_orders.dispatch import order_place
from app.care_orders.models import (CareAssignment, CareOrder, CareServiceRecord,
                                    PAID_STATUSES)
from app.care_orders.core import (ORDER_TYPE, CareOrderNotFound, fen_to_yuan, order_summary,
                                  record_event)
from app.care_orders.services import order_view, timeline
from app.care_disputes.models import CareDispute
from app.caregivers.models import CARE_TYPES, Caregiver
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_name
from app.common.models import InvalidTransition, transition
from app.common.pagination import paginate, where_given
from app.common.time import LOCAL_TZ, utcnow
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.notifications.services import notify
from app.payments import services as payment_services
from app.points.services import reverse_spend
from app.payments.models import Refund
from app.settings.models import PlatformSetting
from app.settings.services import set_setting
from app.staff.models import StaffUser
from app.staff.services import require_role
from app.users.models import User

log = logging.getLogger("app.care_orders.staff")
REASSIGNABLE = ("awaiting_acceptance", "accepted")
# staff may cancel an unpaid order, or a paid one until it completes
STAFF_CANCELLABLE = ("pending_payment",) + PAID_STATUSES
LOCK_TRIES = 3


class ReassignNotAllowed(Conflict):
    code = "reassign_not_allowed"
    message = "只有服务开始前、待接单或待服务的订单可以改派"


class SameCaregiver(Conflict):
    code = "same_caregiver"
    message = "订单已是该护工,无需改派"


class CaregiverDeclinedBefore(Conflict):
    code = "caregiver_declined_before"
    message = "该护工已拒绝或超时未接此订单,不能再派给他"


class QuoteAboveOrder(Conflict):
    code = "caregiver_price_too_high"
    message = "该护工的报价高于订单剩余金额,改派不能增加用户的费用"


class OrderMoving(Conflict):
    code = "order_busy"
    message = "订单正在被处理,请稍后重试"


class PolicyBusy(Conflict):
    code = "settings_busy"
    message = "陪护规则正在被其他人修改,请稍后重试"


def _invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed.for_field(field, message, code)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc)


def _local(value: datetime | None) -> datetime | None:
    return _aware(value).astimezone(LOCAL_TZ) if value else None


def _local_midnight_utc(day) -> datetime:
    """The start of a local calendar day, as the naive UTC the database holds."""
    return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).astimezone(timezone.utc) \
        .replace(tzinfo=None)


# ---- reading -----------------------------------------------------------------------------------

def _row(order: CareOrder) -> dict:
    return {**order_view(order, "staff"), "user_id": order.user_id,
            "caregiver_id": order.caregiver_id}


def search_orders(actor: StaffUser, *, statuses=None, order_no: str | None = None,
                  caregiver_id: int | None = None, user_id: int | None = None,
                  city_code: str | None = None, start_from=None, start_to=None,
                  dispatch_mode: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    """Orders by any of the filters (all must hold), newest first. start_from / start_to are
    local dates, both inclusive, on the booked start."""
    require_role(actor, "operator")
    statement = where_given(
        select(CareOrder), (CareOrder.status, statuses), (CareOrder.order_no, order_no),
        (CareOrder.caregiver_id, caregiver_id), (CareOrder.user_id, user_id),
        (CareOrder.city_code, city_code), (CareOrder.dispatch_mode, dispatch_mode))
    if start_from is not None:
        statement = statement.where(CareOrder.start_at >= _local_midnight_utc(start_from))
    if start_to is not None:
        statement = statement.where(
            CareOrder.start_at < _local_midnight_utc(start_to + timedelta(days=1)))
    statement = statement.order_by(CareOrder.id.desc()).options(
        selectinload(CareOrder.caregiver), selectinload(CareOrder.hospital))
    result = paginate(statement, page, page_size)
    result["items"] = [_row(order) for order in result["items"]]
    return result


def _assignments(order_id: int) -> list[dict]:
    rows = db.session.execute(
        select(CareAssignment, Caregiver.name).join(Caregiver,
                                                    Caregiver.id == CareAssignment.caregiver_id)
        .where(CareAssignment.order_id == order_id).order_by(CareAssignment.id)).all()
    return [{"id": assignment.id, "caregiver_id": assignment.caregiver_id,
             "caregiver_name": mask_name(name), "status": assignment.status, "by": assignment.by,
             "deadline": _local(assignment.deadline), "decided_at": _local(assignment.decided_at),
             "reason": assignment.reason, "quote_fen": assignment.quote_fen}
            for assignment, name in rows]


def _payment(order_id: int) -> tuple[dict | None, list[dict]]:
    payment = payment_services.payment_for_order(ORDER_TYPE, order_id)
    if payment is None:
        return None, []
    refunds = db.session.scalars(select(Refund).where(Refund.payment_id == payment.id)
                                 .order_by(Refund.id)).all()
    return ({"id": payment.id, "status": payment.status, "amount_fen": payment.amount_fen,
             "refunded_fen": payment.refunded_fen, "paid_at": _local(payment.paid_at)},
            [{"id": refund.id, "amount_fen": refund.amount_fen, "status": refund.status,
              "reason": refund.reason, "requested_by": refund.requested_by,
              "created_at": _local(refund.created_at),
              "succeeded_at": _local(refund.succeeded_at)} for refund in refunds])


def _dispute(order_id: int) -> dict | None:
    dispute = db.session.scalar(select(CareDispute).where(CareDispute.order_id == order_id))
    if dispute is None:
        return None
    return {"id": dispute.id, "status": dispute.status, "outcome": dispute.outcome,
            "opened_by": dispute.opened_by, "refund_fen": dispute.refund_fen,
            "opened_at": _local(dispute.created_at), "resolved_at": _local(dispute.resolved_at)}


def _detail(order: CareOrder) -> dict:
    payment, refunds = _payment(order.id)
    records = db.session.scalar(select(func.count()).select_from(CareServiceRecord).where(
        CareServiceRecord.order_id == order.id))
    return {**_row(order), "timeline": timeline(order.id),
            "assignments": _assignments(order.id), "payment": payment, "refunds": refunds,
            "dispute": _dispute(order.id), "service_record_count": records}


def order_detail(actor: StaffUser, *, order_id: int) -> dict:
    require_role(actor, "operator")
    order = db.session.get(CareOrder, order_id)
    if order is None:
        raise CareOrderNotFound()
    return _detail(order)


# ---- reassign by hand --------------------------------------------------------------------------

def _lock_for_reassign(order_id: int, caregiver_id: int) -> CareOrder:
    """Both caregivers (the order's current one, if any, and the new one), lower id first, then
    the order. Should the order have moved to another caregiver between the first read and its
    lock, everything is let go and taken again (a lock is never asked for upwards)."""
    for _ in range(LOCK_TRIES):
        current = db.session.execute(select(CareOrder.id, CareOrder.caregiver_id).where(
            CareOrder.id == order_id)).first()
        if current is None:
            raise CareOrderNotFound()
        for locked_id in sorted({current.caregiver_id, caregiver_id} - {None}):
            db.session.get(Caregiver, locked_id, with_for_update=True, populate_existing=True)
        order = db.session.get(CareOrder, order_id, with_for_update=True, populate_existing=True)
        if order.caregiver_id == current.caregiver_id:
            return order
        db.session.rollback()
    raise OrderMoving()


def _end_accepted_assignment(order: CareOrder, reason: str) -> CareAssignment | None:
    """An accepted order's assignment is over too when staff move it (withdraw_offer ends only
    an open offer)."""
    assignment = db.session.scalar(select(CareAssignment).where(
        CareAssignment.order_id == order.id, CareAssignment.caregiver_id == order.caregiver_id,
        CareAssignment.status == "accepted").order_by(CareAssignment.id.desc()).with_for_update())
    if assignment is not None:
        transition(assignment, "status", {"accepted"}, "withdrawn")
        assignment.decided_at, assignment.reason = utcnow(), reason
    return assignment


@retry_deadlock
def reassign(actor: StaffUser, *, order_id: int, caregiver_id: int, reason: str) -> dict:
    """Move a paid order that has not started to `caregiver_id`, who must accept it again.
    The new caregiver must be listed, in the city, offer the type, follow their own rules, be
    free, and quote no more than the order still holds (a lower quote refunds the family the
    difference: core.offer)."""
    require_role(actor, "operator")
    try:
        order = _lock_for_reassign(order_id, caregiver_id)
        now = utcnow()
        if order.status not in REASSIGNABLE or now >= order.start_at:
            raise ReassignNotAllowed(details={"status": order.status})
        if order.caregiver_id == caregiver_id:
            raise SameCaregiver()
        caregiver = db.session.get(Caregiver, caregiver_id)  # locked above
        user = db.session.get(User, caregiver.user_id) if caregiver else None
        if caregiver is None or not caregiver.is_listed or user is None \
                or user.status != "active":
            raise core.CaregiverNotListed()
        declined = db.session.scalar(select(CareAssignment.id).where(
            CareAssignment.order_id == order.id, CareAssignment.caregiver_id == caregiver.id,
            CareAssignment.status.in_(("rejected", "timed_out"))).limit(1))
        if declined is not None:
            raise CaregiverDeclinedBefore()
        start, end = _aware(order.start_at), _aware(order.end_at)
        quote = core.caregiver_quote(caregiver, care_type=order.care_type, start=start,
                                         end=end, now=datetime.now(LOCAL_TZ),
                                         place=order_place(order), policy=pricing.care_policy(),
                                         member_discount_bp=order.member_discount_bp)
        free = core.is_free(caregiver.id, start, end)
        if free == "busy":
            raise core.CaregiverBusy()
        if free:
            raise core.OutsideAvailability()
        # the price before points (total_fen is net of them), as dispatch compares
        kept = order.total_fen + order.points_discount_fen - order.refunded_fen
        if quote.total_fen > kept:
            raise QuoteAboveOrder(f"该护工的报价 {fen_to_yuan(quote.total_fen)} 元高于订单剩余金额 "
                                  f"{fen_to_yuan(kept)} 元,改派不能增加用户的费用")
    except Exception:
        db.session.rollback()
        raise
    previous_id = order.caregiver_id
    difference = kept - quote.total_fen
    if previous_id is not None:
        if order.status == "accepted":
            _end_accepted_assignment(order, reason)
        core.withdraw_offer(order, "withdrawn", reason)
    core.offer(order, caregiver, by="staff", quote_fen=quote.total_fen)
    record_event(order, "reassigned", "staff", reason)
    assignment_id = db.session.scalar(select(func.max(CareAssignment.id)).where(
        CareAssignment.order_id == order.id))
    if previous_id is not None:
        previous = db.session.get(Caregiver, previous_id)
        notify(previous.user_id, "care_order_reassigned", "订单已改派",
               f"{order_summary(order)}已由平台改派给其他护工,该时段已释放。原因:{reason}",
               "care_assignment", assignment_id, context=core.message_context(order, "已改派"))
    money = f"新护工报价更低,差价 {fen_to_yuan(difference)} 元将原路退回。" if difference > 0 \
        else "费用不变。"
    notify(order.user_id, "care_order_reassigned", "订单已更换护工",
           f"{order_summary(order)}已由平台更换护工,等待新护工接单;{money}",
           "care_assignment", assignment_id, context=core.message_context(order, "已改派"))
    db.session.commit()
    log.info("staff %s reassigned care order %s from caregiver %s to %s", actor.id, order.id,
             previous_id, caregiver.id)
    return _detail(order)


# ---- cancel ------------------------------------------------------------------------------------

@retry_deadlock
def cancel_order(actor: StaffUser, *, order_id: int, reason: str,
                 refund_fen: int | None = None) -> dict:
    """Cancel an order that has not completed. Unpaid: closed, nothing to refund. Paid:
    `refund_fen` of what the order still holds goes back (default: all of it); the rest is
    the caregiver's (less commission), so paid = refunded + net + commission still holds."""
    from app.earnings.ledger import record_earning

    require_role(actor, "operator")
    order = core.lock_order(order_id)
    try:
        if order is None:
            raise CareOrderNotFound()
        status = order.status
        if status not in STAFF_CANCELLABLE:
            raise InvalidTransition("订单已结束或在纠纷处理中,不能取消",
                                    details={"from": status, "to": "cancelled"})
        kept = order.total_fen - order.refunded_fen if status != "pending_payment" else 0
        refund = kept if refund_fen is None else refund_fen
        if status == "pending_payment" and refund:
            raise _invalid("refund_fen", "订单未支付,无需退款", "nothing_to_refund")
        if refund > kept:
            raise _invalid("refund_fen", f"退款金额不能超过订单剩余的 {fen_to_yuan(kept)} 元",
                           "refund_exceeds_kept")
        if refund < kept and order.caregiver_id is None:
            # the money kept would belong to nobody
            raise _invalid("refund_fen", "订单暂无护工,只能全额退款", "full_refund_required")
        order.cancel(utcnow(), "staff", reason, set(STAFF_CANCELLABLE))
    except Exception:
        db.session.rollback()
        raise
    if status == "pending_payment":
        core.release_time(order)
        payment_services.close_for_order(ORDER_TYPE, order.id)
        reverse_spend(ORDER_TYPE, order.id)  # never paid: the points spent come back
        outcome = "。"
    else:
        if status == "awaiting_acceptance":
            core.withdraw_offer(order, "withdrawn", "平台取消")
        else:
            core.release_time(order)
        core.refund_part(order, refund, "平台取消陪护订单", requested_by=f"staff:{actor.id}")
        record_earning(order, kept - refund, "staff_cancellation")
        outcome = f",将退款 {fen_to_yuan(refund)} 元。" if refund else ",本单不退款。"
    record_event(order, "cancelled", "staff", reason)
    notify(order.user_id, "care_order_cancelled", "订单已取消",
           f"{order_summary(order)}已由平台取消{outcome}原因:{reason}", "care_order", order.id,
           context=core.message_context(order, "已取消"))
    if order.caregiver_id is not None:
        caregiver = db.session.get(Caregiver, order.caregiver_id)
        earned = kept - refund
        tail = f"本单保留 {fen_to_yuan(earned)} 元计入您的收入(扣除平台服务费)。" if earned > 0 else ""
        notify(caregiver.user_id, "care_order_cancelled", "订单已取消",
               f"{order_summary(order)}已由平台取消,该时段已释放。{tail}", "care_order", order.id,
               context=core.message_context(order, "已取消"))
    db.session.commit()
    log.info("staff %s cancelled care order %s (%s, refund %s of %s)", actor.id, order.id,
             status, refund, kept)
    return _detail(order)


# ---- the care policy ---------------------------------------------------------------------------

def _lock_stored_policy() -> dict:
    """What staff saved so far, its row locked (when there is one) before it is read, so two
    admins changing different keys at once both keep their change."""
    row = db.session.scalar(select(PlatformSetting).where(
        PlatformSetting.key == pricing.POLICY_KEY).with_for_update()
        .execution_options(populate_existing=True))
    stored = row.value if row is not None else None
    return dict(stored) if isinstance(stored, dict) else {}


def get_policy(actor: StaffUser) -> dict:
    require_role(actor, "operator")
    return pricing.care_policy()


def update_policy(actor: StaffUser, *, changes: dict) -> dict:
    """Save the keys given over what is saved (the others keep their values). The schema
    checked each value; the dispatch prices must also lie within the platform's price
    standards (app.caregivers.services.price_limits), which staff change elsewhere."""
    from app.caregivers.services import price_limits

    require_role(actor, "admin")
    if not changes:
        raise ValidationFailed("请至少修改一项规则", code="nothing_to_change")
    value = _lock_stored_policy()
    current = pricing.care_policy()
    value = {key: item for key, item in value.items() if key in current}
    if "dispatch_prices" in changes:
        limits = price_limits()
        errors = {}
        for care_type, price in changes["dispatch_prices"].items():
            low, high = limits[care_type]
            if not low <= price <= high:
                errors[care_type] = [f"应在 {fen_to_yuan(low)} 到 {fen_to_yuan(high)} 元之间"]
        if errors:
            db.session.rollback()
            raise ValidationFailed("平台派单价格超出服务价格标准", code="price_out_of_range",
                                   details={"dispatch_prices": errors})
        changes = {**changes, "dispatch_prices": {
            care_type: int(changes["dispatch_prices"].get(care_type,
                                                          current["dispatch_prices"][care_type]))
            for care_type in CARE_TYPES}}
    if "long_order_discounts" in changes:
        changes = {**changes, "long_order_discounts": sorted(
            [list(tier) for tier in changes["long_order_discounts"]])}
    value.update(changes)
    set_setting(actor, pricing.POLICY_KEY, value)
    try:
        db.session.commit()
    except IntegrityError:  # another admin's first-ever save won the insert
        db.session.rollback()
        raise PolicyBusy()
    log.info("staff %s changed the care policy: %s", actor.id, sorted(changes))
    return pricing.care_policy()
