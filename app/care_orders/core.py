"""The building blocks every care-order use case shares (services, dispatch, the payment
hooks, staff, disputes): the order's locks, the caregiver's rules and free time, offers,
partial refunds, the busy block, the timeline. Nothing here commits: the use case does, once.

Lock order (docs/locking.md): caregiver → care order → payment → refund.
"""
import logging
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from app.availability.services import (add_busy_block, busy_caregiver_ids, remove_busy_blocks,
                                       working_during_clause)
from app.care_orders import pricing
from app.care_orders.models import (CareAssignment, CareOrder, CareOrderEvent,
                                    HOLDING_STATUSES)
from app.caregivers.models import CARE_TYPES, Caregiver, CaregiverPrice
from app.caregivers.ownership import listed_clause
from app.common.masking import mask_name
from app.common.time import LOCAL_TZ, to_local, utcnow
from app.errors import Conflict, NotFound
from app.extensions import db, jobs
from app.notifications.services import notify
from app.payments import services as payment_services
from app.users.models import User

log = logging.getLogger("app.care_orders")

ORDER_TYPE = "care_order"
BUSY_REF = "care_order"


class CareOrderNotFound(NotFound):
    code = "care_order_not_found"
    message = "陪护订单不存在"


class CaregiverNotListed(NotFound):
    code = "caregiver_not_found"
    message = "护工不存在或已暂停接单"


class CareTypeNotOffered(Conflict):
    code = "care_type_not_offered"
    message = "该护工不提供此类服务"


class CaregiverBusy(Conflict):
    code = "caregiver_busy"
    message = "该护工在所选时段已有其他订单"


class OutsideAvailability(Conflict):
    code = "outside_availability"
    message = "所选时段不在该护工的服务时间内"


class NightServiceDeclined(Conflict):
    code = "night_service_declined"
    message = "该护工不提供夜间服务(22:00–次日06:00)"


class UrgentDeclined(Conflict):
    code = "urgent_declined"
    message = "该护工不接急单"


class OutsideServiceArea(Conflict):
    code = "outside_service_area"
    message = "服务地点不在该护工的服务范围内"


def naive_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def aware(value: datetime) -> datetime:
    """A stored naive-UTC time as local time, in whole seconds (MariaDB keeps none; SQLite
    would, and the answer should not depend on the backend)."""
    return value.replace(tzinfo=timezone.utc, microsecond=0).astimezone(LOCAL_TZ)


def fen_to_yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def listed_caregiver(caregiver_id: int, *, lock: bool = False) -> Caregiver:
    """A caregiver the public may book (listed, and their account active), else 404; locked
    FOR UPDATE when `lock` (the first lock of a booking)."""
    if lock:
        db.session.get(Caregiver, caregiver_id, with_for_update=True, populate_existing=True)
    caregiver = db.session.scalar(select(Caregiver).join(User, User.id == Caregiver.user_id)
                                  .where(Caregiver.id == caregiver_id, listed_clause()))
    if caregiver is None:
        raise CaregiverNotListed()
    return caregiver


def caregiver_quote(caregiver: Caregiver, *, care_type: str, start: datetime, end: datetime,
                    now: datetime, place: dict, policy: dict,
                    member_discount_bp: int = 0) -> pricing.Quote:
    """The caregiver's own price for the window, after their rules; raises the Conflict that
    says which rule refuses it. Free time is the caller's (it needs the lock)."""
    price = db.session.scalar(select(CaregiverPrice.price_fen).where(
        CaregiverPrice.caregiver_id == caregiver.id, CaregiverPrice.care_type == care_type))
    if price is None:
        raise CareTypeNotOffered()
    if caregiver.city_code != place["city_code"]:
        raise OutsideServiceArea()
    quote = pricing.quote(care_type=care_type, start=start, end=end, now=now,
                          unit_price_fen=price, night_surcharge_fen=caregiver.night_surcharge_fen,
                          policy=policy, member_discount_bp=member_discount_bp)
    if (quote.nights or care_type == "night_shift") and not caregiver.night_service:
        raise NightServiceDeclined()
    if quote.urgent and not caregiver.accepts_urgent:
        raise UrgentDeclined(f"该护工不接 {policy['urgent_hours']} 小时内开始的急单")
    return quote


def dispatch_quote(*, care_type: str, start: datetime, end: datetime, now: datetime,
                   policy: dict, member_discount_bp: int = 0) -> pricing.Quote:
    return pricing.quote(care_type=care_type, start=start, end=end, now=now,
                         unit_price_fen=int(policy["dispatch_prices"][care_type]),
                         night_surcharge_fen=int(policy["dispatch_night_surcharge_fen"]),
                         policy=policy, member_discount_bp=member_discount_bp)


def is_free(caregiver_id: int, start: datetime, end: datetime) -> str | None:
    """None when the caregiver works the whole window and nothing else holds it, else the
    reason: "busy" or "outside_availability"."""
    working = db.session.scalar(select(Caregiver.id).where(
        Caregiver.id == caregiver_id, working_during_clause(Caregiver.id, start, end)))
    if working is None:
        return "outside_availability"
    if busy_caregiver_ids([caregiver_id], start, end):
        return "busy"
    return None


def refuse_unless_free(caregiver_id: int, start: datetime, end: datetime) -> None:
    reason = is_free(caregiver_id, start, end)
    if reason == "busy":
        raise CaregiverBusy()
    if reason:
        raise OutsideAvailability()


def record_event(order: CareOrder, kind: str, actor: str, note: str | None = None) -> None:
    seq = db.session.scalar(select(func.coalesce(func.max(CareOrderEvent.seq), 0)).where(
        CareOrderEvent.order_id == order.id)) + 1
    db.session.add(CareOrderEvent(order_id=order.id, seq=seq, at=utcnow(), kind=kind,
                                  status=order.status, actor=actor,
                                  note=(note or None) and note[:200]))


def order_summary(order: CareOrder) -> str:
    """The order in a message: masked patient name, never the full one (personal data)."""
    start = to_local(order.start_at).strftime("%m-%d %H:%M")
    end = to_local(order.end_at).strftime("%m-%d %H:%M")
    return f"{mask_name(order.patient_name)}的{CARE_TYPES[order.care_type][0]}({start}至{end})"


def order_subject(order: CareOrder) -> str:
    """What a pushed message is about, in a template's 20 characters: the care type and the
    hospital (or, at an address, the service day: an address is personal data). The order
    number alone is 21 characters and would be cut."""
    kind = CARE_TYPES[order.care_type][0]
    if order.hospital_id is not None:
        return f"{kind} {order.hospital.name}"
    return f"{kind} {to_local(order.start_at).strftime('%m月%d日')}"


def message_context(order: CareOrder, status: str, at: datetime | None = None) -> dict:
    """The template fields of a care-order message (app/notifications/templates.py): subject,
    a status of at most 5 characters, the time (`at`, else now), and the order's number and
    id for templates that show or link them."""
    context = {"subject": order_subject(order), "status": status,
               "order_no": order.order_no, "order_id": order.id}
    if at is not None:
        context["time"] = at
    return context


def hold_time(order: CareOrder, caregiver_id: int) -> None:
    add_busy_block(caregiver_id, order.start_at.replace(tzinfo=timezone.utc),
                   order.end_at.replace(tzinfo=timezone.utc), ref_type=BUSY_REF,
                   ref_id=order.id)


def release_time(order: CareOrder) -> None:
    remove_busy_blocks(ref_type=BUSY_REF, ref_id=order.id)


def lock_order(order_id: int) -> CareOrder | None:
    """Lock the order's caregiver (if any), then the order: the house lock order. Should the
    order move to another caregiver between the two reads, that caregiver is locked too."""
    locked = set()
    for _ in range(3):
        caregiver_id = db.session.scalar(select(CareOrder.caregiver_id).where(
            CareOrder.id == order_id))
        if caregiver_id is not None and caregiver_id not in locked:
            db.session.get(Caregiver, caregiver_id, with_for_update=True, populate_existing=True)
            locked.add(caregiver_id)
        order = db.session.get(CareOrder, order_id, with_for_update=True, populate_existing=True)
        if order is None or order.caregiver_id is None or order.caregiver_id in locked:
            return order
    return order


def current_assignment(order: CareOrder) -> CareAssignment | None:
    return db.session.scalar(select(CareAssignment).where(
        CareAssignment.order_id == order.id, CareAssignment.status == "offered")
        .order_by(CareAssignment.id.desc()).with_for_update())


def acceptance_deadline(order: CareOrder, now: datetime) -> datetime:
    """accept_minutes from now, never after the start (but at least a minute)."""
    deadline = min(now + timedelta(minutes=int(pricing.care_policy()["accept_minutes"])),
                   order.start_at)
    return max(deadline, now + timedelta(minutes=1))


def open_assignment(order: CareOrder, caregiver: Caregiver, *, by: str, quote_fen: int,
                    now: datetime) -> CareAssignment:
    """The offer's record, the caregiver's message, and its timeout job after the commit;
    the order already names the caregiver and its acceptance deadline."""
    from app.tasks.care_orders import expire_offer

    deadline = order.acceptance_deadline
    assignment = CareAssignment(order_id=order.id, caregiver_id=caregiver.id, status="offered",
                                by=by, deadline=deadline, quote_fen=quote_fen)
    db.session.add(assignment)
    db.session.flush()
    notify(caregiver.user_id, "care_order_offered", "新的陪护订单",
           f"您有一笔新订单:{order_summary(order)},请在 "
           f"{to_local(deadline).strftime('%m-%d %H:%M')} 前确认接单。",
           "care_assignment", assignment.id,
           context=message_context(order, "待接单", order.start_at))
    delay = max(1, int((deadline - now).total_seconds()) + 1)
    jobs.enqueue_after_commit(db.session, expire_offer, order.id, delay_seconds=delay,
                              job_id=f"care-offer-timeout-{assignment.id}")
    return assignment


def offer(order: CareOrder, caregiver: Caregiver, *, by: str, quote_fen: int, now=None) -> None:
    """Offer the (paid) order to `caregiver` (both locked): the acceptance deadline, the busy
    block, and the assignment (open_assignment). A re-dispatch keeps the family's price or
    better: when the family chose a caregiver and the new one asks less, the difference goes
    back to the family. A platform-dispatched order keeps the platform's published price (the
    deal the family took), whoever takes it."""
    now = now or utcnow()
    order.offer_to(caregiver.id, acceptance_deadline(order, now))
    hold_time(order, caregiver.id)
    kept = order.total_fen - order.refunded_fen
    if order.dispatch_mode == "chosen" and quote_fen < kept:
        refund_part(order, kept - quote_fen, "改派护工报价更低,退还差价")
    open_assignment(order, caregiver, by=by, quote_fen=quote_fen, now=now)


def refund_part(order: CareOrder, amount_fen: int, reason: str, requested_by: str = "system"):
    """Inside the order's transaction (locked): reserve a refund of `amount_fen` of its payment
    and count it on the order. The payments worker asks WeChat after the commit."""
    if amount_fen <= 0:
        return None
    refund = payment_services.refund_for_order(ORDER_TYPE, order.id, reason=reason,
                                               requested_by=requested_by, amount_fen=amount_fen)
    if refund is not None:
        order.refunded_fen = (order.refunded_fen or 0) + refund.amount_fen
    return refund


def withdraw_offer(order: CareOrder, status: str, reason: str | None = None) -> None:
    """The caregiver no longer holds the order (rejected, timed out, reassigned, cancelled):
    the assignment ends, the busy block goes, the order waits for dispatch."""
    assignment = current_assignment(order)
    if assignment is not None:
        assignment.decide(status, utcnow(), reason)
    release_time(order)


def holding_orders_overlapping(caregiver_id: int, start: datetime, end: datetime) -> list[int]:
    """For checks and tests: the caregiver's orders that hold time overlapping [start, end)."""
    return list(db.session.scalars(select(CareOrder.id).where(
        CareOrder.caregiver_id == caregiver_id, CareOrder.status.in_(HOLDING_STATUSES),
        CareOrder.start_at < naive_utc(end), CareOrder.end_at > naive_utc(start))))

def close_unpaid(order: CareOrder) -> None:
    """Inside the caller's transaction (order locked): unpaid at its deadline."""
    order.close(utcnow())
    release_time(order)
    from app.points.services import reverse_spend
    reverse_spend(ORDER_TYPE, order.id)  # points spent on it come back
    record_event(order, "closed", "system")
    notify(order.user_id, "care_order_closed", "订单已关闭",
           f"{order_summary(order)}超时未支付,订单已关闭。", "care_order", order.id,
           context=message_context(order, "已关闭"))
