"""Matching and re-dispatch.

`candidates` ranks the free caregivers for a window, best first, by (in this order):
skills fit (how many of the needed skills they hold), place (serves the order's hospital,
then distance in 5 km bands), rating, their own price for the window, and recent load (orders
in the last 30 days). A caregiver is a candidate only when listed, in the order's city,
offering the care type, working the whole window and not busy, following their own rules
(night, urgent), and when their own quote is no more than what the family pays for the
order: a re-dispatch keeps the family's price or better (services.offer).

`dispatch(order_id)` offers a paid order that has no caregiver to the best candidate, under
the house lock order (caregiver → order): the candidate is chosen without locks, then locked
and checked again; if someone else took them meanwhile the next one is tried. When nobody is
left (or the order was offered max_dispatches times) the family is refunded in full.
"""
import logging
import math
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, func, select

from app.availability.services import busy_caregiver_ids, working_during_clause
from app.care_orders import pricing
from app.care_orders.core import (caregiver_quote, is_free, lock_order, message_context, offer,
                                  order_summary, record_event, refund_part, withdraw_offer)
from app.care_orders.models import CareAssignment, CareOrder
from app.caregivers.models import (Caregiver, CaregiverHospital, CaregiverPrice,
                                   CaregiverSkill)
from app.common.deadlock import retry_deadlock
from app.common.time import LOCAL_TZ, utcnow
from app.errors import Conflict
from app.extensions import db
from app.notifications.services import notify
from app.users.models import User

log = logging.getLogger("app.care_orders.dispatch")
EARTH_RADIUS_KM = 6371.0
DISTANCE_BAND_KM = 5.0
LOAD_DAYS = 30
TRIES_PER_DISPATCH = 5


def _km(a, b) -> float | None:
    if None in (a[0], a[1], b[0], b[1]):
        return None
    lat1, lng1, lat2, lng2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def candidates(*, care_type: str, start: datetime, end: datetime, place: dict, skills: list,
               budget_fen: int, now: datetime, exclude=(), limit: int | None = None,
               member_discount_bp: int = 0) -> list[dict]:
    """Free caregivers for [start, end) (aware) at `place`, best first (see the module)."""
    policy = pricing.care_policy()
    rows = db.session.execute(
        select(Caregiver, CaregiverPrice.price_fen)
        .join(User, User.id == Caregiver.user_id)
        .join(CaregiverPrice, and_(CaregiverPrice.caregiver_id == Caregiver.id,
                                   CaregiverPrice.care_type == care_type))
        .where(Caregiver.status == "approved", User.status == "active",
               Caregiver.city_code == place["city_code"],
               Caregiver.id.not_in(list(exclude) or [0]),
               working_during_clause(Caregiver.id, start, end))).all()
    if not rows:
        return []
    busy = busy_caregiver_ids([caregiver.id for caregiver, _ in rows], start, end)
    free = [(caregiver, price) for caregiver, price in rows if caregiver.id not in busy]
    ids = [caregiver.id for caregiver, _ in free]
    if not ids:
        return []
    held = {}
    if skills:
        held = dict(db.session.execute(
            select(CaregiverSkill.caregiver_id, func.count()).where(
                CaregiverSkill.caregiver_id.in_(ids), CaregiverSkill.skill_code.in_(skills))
            .group_by(CaregiverSkill.caregiver_id)).all())
    serving = set()
    if place.get("hospital_id"):
        serving = set(db.session.scalars(select(CaregiverHospital.caregiver_id).where(
            CaregiverHospital.hospital_id == place["hospital_id"],
            CaregiverHospital.caregiver_id.in_(ids))))
    since = utcnow() - timedelta(days=LOAD_DAYS)
    load = dict(db.session.execute(
        select(CareOrder.caregiver_id, func.count()).where(
            CareOrder.caregiver_id.in_(ids), CareOrder.created_at >= since,
            CareOrder.status.not_in(("closed", "cancelled", "refunded")))
        .group_by(CareOrder.caregiver_id)).all())
    ranked = []
    for caregiver, _price in free:
        try:
            quote = caregiver_quote(caregiver, care_type=care_type, start=start, end=end,
                                    now=now, place=place, policy=policy,
                                    member_discount_bp=member_discount_bp)
        except Conflict:
            continue  # their rules refuse it (night, urgent)
        if quote.total_fen > budget_fen:
            continue
        km = _km((place.get("latitude"), place.get("longitude")),
                 (caregiver.latitude, caregiver.longitude))
        band = math.floor(km / DISTANCE_BAND_KM) if km is not None else 10 ** 6
        ranked.append(((-held.get(caregiver.id, 0), caregiver.id not in serving, band,
                        -(caregiver.rating_avg or 0.0), quote.total_fen,
                        load.get(caregiver.id, 0), caregiver.id),
                       {"caregiver_id": caregiver.id, "quote_fen": quote.total_fen,
                        "skills_held": held.get(caregiver.id, 0),
                        "serves_hospital": caregiver.id in serving, "km": km,
                        "rating": caregiver.rating_avg,
                        "recent_orders": load.get(caregiver.id, 0)}))
    ranked.sort(key=lambda pair: pair[0])
    result = [candidate for _, candidate in ranked]
    return result[:limit] if limit else result


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=timezone.utc)


def order_place(order: CareOrder) -> dict:
    return {"hospital_id": order.hospital_id, "city_code": order.city_code,
            "latitude": order.latitude, "longitude": order.longitude}


def tried_caregivers(order_id: int) -> set[int]:
    return set(db.session.scalars(select(CareAssignment.caregiver_id).where(
        CareAssignment.order_id == order_id)))


def order_candidates(order: CareOrder, *, limit: int | None = None, now=None) -> list[dict]:
    """Who could take this order now (never one it was offered to before)."""
    return candidates(care_type=order.care_type, start=_aware(order.start_at),
                      end=_aware(order.end_at), place=order_place(order),
                      skills=order.skills or [],
                      # the price before points (total_fen is net of them): like with like
                      budget_fen=order.total_fen + order.points_discount_fen - order.refunded_fen,
                      now=now or datetime.now(LOCAL_TZ), exclude=tried_caregivers(order.id),
                      limit=limit, member_discount_bp=order.member_discount_bp)


def _needs_dispatch(order: CareOrder | None) -> bool:
    return order is not None and order.status == "awaiting_acceptance" \
        and order.caregiver_id is None


def dispatch(order_id: int) -> str:
    """Job-level: offer a paid order without a caregiver to the best free one, else refund it
    in full. "offered", "refunded" or "noop". Idempotent."""
    order = db.session.get(CareOrder, order_id)
    if not _needs_dispatch(order):
        db.session.rollback()
        return "noop"
    policy = pricing.care_policy()
    if order.dispatch_count < int(policy["max_dispatches"]):
        ranked = order_candidates(order, limit=TRIES_PER_DISPATCH)
        db.session.rollback()
        for candidate in ranked:
            outcome = _offer_to(order_id, candidate["caregiver_id"])
            if outcome != "taken":
                return outcome
    else:
        db.session.rollback()
    return _refund_unmatched(order_id)


@retry_deadlock
def _offer_to(order_id: int, caregiver_id: int) -> str:
    """Lock the candidate, then the order; check both again; offer. "taken" when the
    candidate is no longer free or no longer fits (the caller tries the next one)."""
    caregiver = db.session.get(Caregiver, caregiver_id, with_for_update=True,
                               populate_existing=True)
    order = db.session.get(CareOrder, order_id, with_for_update=True, populate_existing=True)
    if not _needs_dispatch(order):
        db.session.rollback()
        return "noop"
    user = db.session.get(User, caregiver.user_id)
    if not caregiver.is_listed or user is None or user.status != "active" \
            or caregiver.id in tried_caregivers(order.id) \
            or is_free(caregiver.id, _aware(order.start_at), _aware(order.end_at)):
        db.session.rollback()
        return "taken"
    try:
        quote = caregiver_quote(caregiver, care_type=order.care_type,
                                start=_aware(order.start_at), end=_aware(order.end_at),
                                now=datetime.now(LOCAL_TZ), place=order_place(order),
                                policy=pricing.care_policy(),
                                member_discount_bp=order.member_discount_bp)
    except Conflict:
        db.session.rollback()
        return "taken"
    if quote.total_fen > order.total_fen + order.points_discount_fen - order.refunded_fen:
        db.session.rollback()
        return "taken"
    offer(order, caregiver, by="match", quote_fen=quote.total_fen)
    record_event(order, "offered", "system")
    if order.dispatch_count > 1:
        notify(order.user_id, "care_order_redispatched", "订单已改派",
               "原护工无法接单,平台已为您改派新的护工,费用不变或更低。", "care_assignment",
               db.session.scalar(select(func.max(CareAssignment.id)).where(
                   CareAssignment.order_id == order.id)),
               context=message_context(order, "已改派"))
    db.session.commit()
    log.info("care order %s offered to caregiver %s (dispatch %s)", order_id, caregiver_id,
             order.dispatch_count)
    return "offered"


@retry_deadlock
def _refund_unmatched(order_id: int) -> str:
    order = db.session.get(CareOrder, order_id, with_for_update=True, populate_existing=True)
    if not _needs_dispatch(order):
        db.session.rollback()
        return "noop"
    order.refund_unmatched(utcnow())
    refund_part(order, order.total_fen - order.refunded_fen, "暂无护工接单,全额退款")
    record_event(order, "refunded", "system", "暂无可接单的护工")
    notify(order.user_id, "care_order_unmatched", "暂无护工接单",
           f"很抱歉,{order_summary(order)}暂无可接单的护工,费用将全额原路退回。",
           "care_order", order.id, context=message_context(order, "无人接单"))
    db.session.commit()
    log.info("care order %s refunded: no caregiver free", order_id)
    return "refunded"


@retry_deadlock
def _expire(order_id: int) -> str:
    order = lock_order(order_id)
    if order is None or order.status != "awaiting_acceptance" or order.caregiver_id is None \
            or order.acceptance_deadline is None or order.acceptance_deadline > utcnow():
        db.session.rollback()
        return "noop"
    withdraw_offer(order, "timed_out", "超时未接单")
    order.caregiver_id, order.acceptance_deadline = None, utcnow()
    record_event(order, "timed_out", "system")
    db.session.commit()
    return "expired"


def expire_offer(order_id: int) -> str:
    """Job-level: an offer not answered by its deadline goes to the next caregiver. Also
    dispatches an order left without a caregiver (a rejection whose job was lost)."""
    outcome = _expire(order_id)
    result = dispatch(order_id)
    return result if result != "noop" else outcome


def orders_due_for_dispatch(limit: int = 500) -> list[int]:
    """Awaiting acceptance past the deadline, or with no caregiver: the sweep's work."""
    ids = db.session.scalars(select(CareOrder.id).where(
        CareOrder.status == "awaiting_acceptance",
        CareOrder.acceptance_deadline <= utcnow())
        # members' orders first (their level's dispatch priority, kept on the order)
        .order_by(CareOrder.dispatch_priority.desc(), CareOrder.acceptance_deadline)
        .limit(limit)).all()
    db.session.rollback()
    return list(ids)
