"""Care order use cases: quote, create, pay (order_type.py), accept / reject, service, complete,
cancel, and reading orders by role. Matching and re-dispatch live in dispatch.py, the shared
building blocks (locks, rules, offers, refunds, events) in core.py.

Lock order (docs/locking.md), for every use case here, in dispatch.py and in the payment hooks:
    caregiver → care order → payment → refund
`lock_order` takes the first two. A use case that moves an order to another caregiver locks
both caregivers (lower id first) before the order. Every use case commits once; pushes and
jobs are enqueued after the commit.
"""
import logging
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.availability.services import add_busy_block, horizon_end
from app.care_orders import pricing
from app.care_orders.core import (BUSY_REF, ORDER_TYPE, CareOrderNotFound, aware,
                                  caregiver_quote, close_unpaid, current_assignment,
                                  dispatch_quote, fen_to_yuan, hold_time, listed_caregiver,
                                  lock_order, message_context, naive_utc, order_summary,
                                  record_event,
                                  refuse_unless_free, refund_part, release_time, withdraw_offer)
from app.care_orders.models import CareOrder, CareOrderEvent, CareServiceRecord, STATUS_NAMES
from app.caregivers.models import CARE_TYPES, Caregiver, CareSkill
from app.caregivers.ownership import own_caregiver
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_name
from app.common.pagination import paginate
from app.common.time import LOCAL_TZ, utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db, jobs
from app.files.models import StoredFile
from app.hospitals.models import Hospital
from app.membership import services as membership
from app.notifications.services import notify
from app.observability.metrics import CARE_ORDER_OUTCOMES, count_outcomes
from app.patients.models import Patient
from app.patients.services import PatientNotFound
from app.payments import services as payment_services
from app.points import services as points_services

log = logging.getLogger("app.care_orders")
# the 422 codes a quote or booking answers besides the schema's validation_error
REQUEST_VALIDATION_CODES = ("timezone_required", "time_not_on_grid", "invalid_time_range",
                            "start_in_past", "time_range_too_long", "time_range_outside_horizon",
                            "escort_too_long", "unknown_skill", "place_required",
                            "location_incomplete", "unknown_care_type")
RECORD_PHOTOS_MAX = 9
RECORDS_MAX = 500  # per order


class HospitalNotFound(NotFound):
    code = "hospital_not_found"
    message = "医院不存在"


class NoCaregiverAvailable(Conflict):
    code = "no_caregiver_available"
    message = "所选时段暂无可派单的护工,请调整时间后再试"


class CancelNotAllowed(Conflict):
    code = "cancel_not_allowed"
    message = "服务已开始,不能取消;如有问题请申请纠纷处理"


class OfferExpired(Conflict):
    code = "offer_expired"
    message = "接单时间已过,订单已改派"


class TooEarlyToStart(Conflict):
    code = "too_early_to_start"
    message = "还未到服务开始时间"


class RecordLimitReached(Conflict):
    code = "record_limit_reached"
    message = f"每个订单最多 {RECORDS_MAX} 条服务记录"


class PhotoNotFound(NotFound):
    code = "file_not_found"
    message = "照片不存在"


def _invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed.for_field(field, message, code)


def _order_no() -> str:
    stamp = datetime.now(LOCAL_TZ).strftime("%Y%m%d%H%M%S")
    return f"C{stamp}{secrets.randbelow(10 ** 6):06d}"


# ---- what an order asks for ----------------------------------------------------------------------

def check_window(care_type: str, start: datetime, end: datetime, now: datetime) -> None:
    """[start, end) (aware) as a booking: on the half-hour grid, in the future, within the
    horizon and the longest booking, and an escort (陪诊) is one visit of at most 12 hours."""
    for field, value in (("start", start), ("end", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise _invalid(field, "时间需带时区,例如 2026-01-01T08:00:00+08:00",
                           "timezone_required")
        local = value.astimezone(LOCAL_TZ)
        if local.minute % pricing.GRID_MINUTES or local.second or local.microsecond:
            raise _invalid(field, "预约时间需为整点或半点", "time_not_on_grid")
    if end <= start:
        raise _invalid("end", "结束时间应晚于开始时间", "invalid_time_range")
    if start <= now:
        raise _invalid("start", "开始时间已过,请重新选择", "start_in_past")
    from flask import current_app
    longest = current_app.config["AVAILABILITY_QUERY_MAX_DAYS"]
    if end - start > timedelta(days=longest):
        raise _invalid("end", f"单次预约不能超过 {longest} 天", "time_range_too_long")
    if end > horizon_end():
        raise _invalid("end", "只能预约护工已排班的时段", "time_range_outside_horizon")
    if care_type == "escort" and end - start > pricing.ESCORT_MAX:
        raise _invalid("end", "陪诊单次不超过 12 小时", "escort_too_long")


def _known_skills(codes: list[str]) -> list[str]:
    codes = list(dict.fromkeys(codes or []))
    if not codes:
        return []
    known = set(db.session.scalars(select(CareSkill.code).where(CareSkill.code.in_(codes),
                                                                CareSkill.is_active.is_(True))))
    unknown = [code for code in codes if code not in known]
    if unknown:
        raise _invalid("skills", f"未知的技能标签:{', '.join(unknown)}", "unknown_skill")
    return codes


def _own_patient(actor, patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.user_id != actor.id or not patient.alive:
        raise PatientNotFound()
    return patient


def _place(hospital_id, address, city_code, latitude, longitude) -> dict:
    """Where the care happens: a hospital (its city and point), or an address in a city."""
    if hospital_id is not None:
        hospital = db.session.get(Hospital, hospital_id)
        if hospital is None or not hospital.is_active:
            raise HospitalNotFound()
        return {"hospital_id": hospital.id, "city_code": hospital.city_code,
                "latitude": hospital.latitude, "longitude": hospital.longitude}
    if not address or not city_code:
        raise _invalid("hospital_id", "请选择医院,或填写服务地址和城市", "place_required")
    if (latitude is None) != (longitude is None):
        raise _invalid("latitude", "经纬度需同时提供", "location_incomplete")
    return {"hospital_id": None, "city_code": city_code, "latitude": latitude,
            "longitude": longitude}


def _priced(actor, body: dict, now: datetime, *, lock: bool) -> dict:
    """Everything quote and create agree on: checks the request and prices it."""
    care_type = body["care_type"]
    if care_type not in CARE_TYPES:
        raise _invalid("care_type", "未知的服务类型", "unknown_care_type")
    start, end = body["start"], body["end"]
    check_window(care_type, start, end, now)
    patient = _own_patient(actor, body["patient_id"])
    place = _place(body.get("hospital_id"), body.get("address"), body.get("city_code"),
                   body.get("latitude"), body.get("longitude"))
    skills = _known_skills(body.get("skills") or [])
    policy = pricing.care_policy()
    member_bp = membership.may(actor, "care_discount").value * 100  # percent → basis points
    caregiver = None
    if body.get("caregiver_id") is not None:
        caregiver = listed_caregiver(body["caregiver_id"], lock=lock)
        quote = caregiver_quote(caregiver, care_type=care_type, start=start, end=end, now=now,
                                place=place, policy=policy, member_discount_bp=member_bp)
        refuse_unless_free(caregiver.id, start, end)
    else:
        quote = dispatch_quote(care_type=care_type, start=start, end=end, now=now, policy=policy,
                               member_discount_bp=member_bp)
    return {"care_type": care_type, "start": start, "end": end, "patient": patient,
            "place": place, "skills": skills, "caregiver": caregiver, "quote": quote,
            "policy": policy}


def quote_order(actor, now: datetime | None = None, **body) -> dict:
    """The price breakdown of what create would charge now (nothing is held)."""
    now = now or datetime.now(LOCAL_TZ)
    priced = _priced(actor, body, now, lock=False)
    if priced["caregiver"] is None:
        from app.care_orders.dispatch import candidates
        if not candidates(care_type=priced["care_type"], start=priced["start"],
                          end=priced["end"], place=priced["place"], skills=priced["skills"],
                          budget_fen=priced["quote"].total_fen, now=now, limit=1,
                          member_discount_bp=priced["quote"].member_discount_bp):
            db.session.rollback()
            raise NoCaregiverAvailable()
    # what the body's points would take off (checked as booking would; nothing written)
    points = points_services.quote_points(actor.id, price_fen=priced["quote"].total_fen,
                                          points=body.get("points") or 0)
    db.session.rollback()
    return {**priced["quote"].as_dict(), **points, "caregiver_id": body.get("caregiver_id"),
            "dispatch_mode": "chosen" if body.get("caregiver_id") is not None else "platform",
            "start": priced["start"], "end": priced["end"]}


# ---- events ------------------------------------------------------------------------------------

# ---- create ------------------------------------------------------------------------------------

def create_order(actor, now: datetime | None = None, **body) -> dict:
    """Book (place_order), then the pay parameters (after its commit)."""
    return _with_payment(actor, place_order(actor, now, **body))


@count_outcomes(CARE_ORDER_OUTCOMES)  # /metrics: success or the refusal's code
@retry_deadlock
def place_order(actor, now: datetime | None = None, **body) -> int:
    """The order and its busy block, one commit. The caregiver's row is locked first, so two
    families racing for overlapping windows of one caregiver take turns and the second finds
    the first one's busy block."""
    now = now or datetime.now(LOCAL_TZ)
    priced = _priced(actor, body, now, lock=True)
    caregiver, quote, place = priced["caregiver"], priced["quote"], priced["place"]
    if caregiver is None:
        from app.care_orders.dispatch import candidates
        if not candidates(care_type=priced["care_type"], start=priced["start"],
                          end=priced["end"], place=place, skills=priced["skills"],
                          budget_fen=quote.total_fen, now=now, limit=1,
                          member_discount_bp=quote.member_discount_bp):
            db.session.rollback()
            raise NoCaregiverAvailable()
    order = CareOrder(
        order_no=_order_no(), user_id=actor.id, patient_id=priced["patient"].id,
        patient_name=priced["patient"].name, caregiver_id=caregiver.id if caregiver else None,
        dispatch_mode="chosen" if caregiver else "platform", care_type=priced["care_type"],
        start_at=naive_utc(priced["start"]), end_at=naive_utc(priced["end"]),
        city_code=place["city_code"], hospital_id=place["hospital_id"],
        department=body.get("department") or None, bed=body.get("bed") or None,
        address=body.get("address") or None, latitude=place["latitude"],
        longitude=place["longitude"], skills=priced["skills"], needs=body.get("needs") or None,
        units=quote.units, unit_price_fen=quote.unit_price_fen, base_fen=quote.base_fen,
        night_fen=quote.night_fen, urgent_fen=quote.urgent_fen, discount_fen=quote.discount_fen,
        member_discount_bp=quote.member_discount_bp,
        member_discount_fen=quote.member_discount_fen,
        dispatch_priority=membership.may(actor, "dispatch_priority").value,
        total_fen=quote.total_fen, refunded_fen=0, status="pending_payment", dispatch_count=0)
    db.session.add(order)
    db.session.flush()
    try:  # points off the price (app/points): total_fen is what the family pays
        order.total_fen -= points_services.spend_for_order(
            actor, ORDER_TYPE, order.id, price_fen=quote.total_fen, points=body.get("points") or 0)
    except (Conflict, ValidationFailed):
        db.session.rollback()
        raise
    if caregiver is not None:
        hold_time(order, caregiver.id)
    record_event(order, "created", "family")
    order_id = order.id
    db.session.commit()
    log.info("care order %s created (%s, caregiver %s)", order_id, order.dispatch_mode,
             order.caregiver_id)
    return order_id


def _with_payment(actor, order_id: int) -> dict:
    paid = payment_services.prepay_if_possible(actor, order_type=ORDER_TYPE, order_id=order_id)
    return {**paid, "order": order_view(db.session.get(CareOrder, order_id), "family")}


# ---- locks -------------------------------------------------------------------------------------

def _family_order(actor, order_id: int) -> CareOrder:
    order = lock_order(order_id)
    if order is None or order.user_id != actor.id:
        db.session.rollback()
        raise CareOrderNotFound()
    return order


def _caregiver_order(actor, order_id: int) -> tuple[Caregiver, CareOrder]:
    """The caller's caregiver row, then an order currently theirs (both locked)."""
    caregiver = own_caregiver(actor, lock=True)
    order = db.session.get(CareOrder, order_id, with_for_update=True, populate_existing=True)
    if order is None or order.caregiver_id != caregiver.id:
        db.session.rollback()
        raise CareOrderNotFound()
    return caregiver, order


# ---- offers ------------------------------------------------------------------------------------

# ---- the caregiver's answer --------------------------------------------------------------------

@retry_deadlock
def accept(actor, *, order_id: int) -> dict:
    caregiver, order = _caregiver_order(actor, order_id)
    now = utcnow()
    if order.status == "awaiting_acceptance" and order.acceptance_deadline \
            and order.acceptance_deadline <= now:
        db.session.rollback()
        raise OfferExpired()
    order.accept(now)
    assignment = current_assignment(order)
    if assignment is not None:
        assignment.decide("accepted", now)
    record_event(order, "accepted", "caregiver")
    notify(order.user_id, "care_order_accepted", "护工已接单",
           f"{order_summary(order)}已由护工接单,请留意服务开始时间。", "care_assignment",
           assignment.id if assignment else order.id,
           context=message_context(order, "已接单", order.start_at))
    db.session.commit()
    return order_view(order, "caregiver")


@retry_deadlock
def reject(actor, *, order_id: int, reason: str) -> dict:
    """Refuse an offered order (with a reason): it goes to the next best free caregiver, or
    back to the family in full when there is none (dispatch job, after the commit)."""
    from app.tasks.care_orders import dispatch_order

    caregiver, order = _caregiver_order(actor, order_id)
    if order.status != "awaiting_acceptance":
        db.session.rollback()
        from app.common.models import InvalidTransition
        raise InvalidTransition(details={"from": order.status, "to": "rejected"})
    withdraw_offer(order, "rejected", reason)
    order.caregiver_id, order.acceptance_deadline = None, utcnow()
    record_event(order, "rejected", "caregiver", reason)
    jobs.enqueue_after_commit(db.session, dispatch_order, order.id,
                              job_id=f"care-dispatch-{order.id}-{order.dispatch_count}")
    view = order_view(order, "caregiver")
    db.session.commit()
    return view


# ---- service -----------------------------------------------------------------------------------

@retry_deadlock
def start_service(actor, *, order_id: int, latitude: float | None = None,
                  longitude: float | None = None) -> dict:
    """Check in: from start_early_minutes before the booked start."""
    caregiver, order = _caregiver_order(actor, order_id)
    now = utcnow()
    early = timedelta(minutes=int(pricing.care_policy()["start_early_minutes"]))
    if order.status == "accepted" and now < order.start_at - early:
        db.session.rollback()
        raise TooEarlyToStart(f"最早可在开始前 {int(early.total_seconds() // 60)} 分钟签到")
    order.start(now, latitude, longitude)
    record_event(order, "started", "caregiver")
    notify(order.user_id, "care_service_started", "服务已开始",
           f"{order_summary(order)}已开始服务。", "care_order", order.id,
           context=message_context(order, "服务中", now))
    db.session.commit()
    return order_view(order, "caregiver")


def _own_photos(actor, file_ids: list[int]) -> list[int]:
    file_ids = list(dict.fromkeys(file_ids or []))
    if len(file_ids) > RECORD_PHOTOS_MAX:
        raise _invalid("photo_file_ids", f"最多 {RECORD_PHOTOS_MAX} 张照片", "too_many_photos")
    if file_ids:
        owned = set(db.session.scalars(select(StoredFile.id).where(
            StoredFile.id.in_(file_ids), StoredFile.owner_user_id == actor.id)))
        if owned != set(file_ids):
            raise PhotoNotFound()
    return file_ids


@retry_deadlock
def add_record(actor, *, order_id: int, condition: str | None = None,
               care_given: str | None = None, photo_file_ids=()) -> CareServiceRecord:
    caregiver, order = _caregiver_order(actor, order_id)
    if order.status not in ("in_service", "awaiting_confirmation"):
        db.session.rollback()
        from app.common.models import InvalidTransition
        raise InvalidTransition("服务开始后才能填写服务记录",
                                details={"from": order.status, "to": "record"})
    if not (condition or care_given or photo_file_ids):
        db.session.rollback()
        raise _invalid("condition", "请填写病情、护理内容或上传照片", "record_empty")
    photos = _own_photos(actor, list(photo_file_ids or []))
    count = db.session.scalar(select(func.count()).select_from(CareServiceRecord).where(
        CareServiceRecord.order_id == order.id))
    if count >= RECORDS_MAX:
        db.session.rollback()
        raise RecordLimitReached()
    record = CareServiceRecord(order_id=order.id, caregiver_id=caregiver.id,
                               recorded_at=utcnow(), condition=condition or None,
                               care_given=care_given or None, photo_file_ids=photos)
    db.session.add(record)
    db.session.flush()
    record_event(order, "record", "caregiver")
    # what was written may be medical: the family reads it in the app, never in a message
    notify(order.user_id, "care_service_record_added", "新的服务记录", "护工新增了一条服务记录",
           "care_service_record", record.id,
           context=message_context(order, "新记录", record.recorded_at))
    db.session.commit()
    return record_view(record, "caregiver")


@retry_deadlock
def end_service(actor, *, order_id: int) -> dict:
    """The caregiver ends the service: the family confirms, or it completes by itself after
    auto_complete_hours. Time booked after an early end is given back."""
    from app.tasks.care_orders import auto_complete

    caregiver, order = _caregiver_order(actor, order_id)
    now = utcnow()
    order.end(now)
    if now < order.end_at:
        release_time(order)
        if now > order.start_at:
            add_busy_block(caregiver.id, order.start_at.replace(tzinfo=timezone.utc),
                           now.replace(tzinfo=timezone.utc), ref_type=BUSY_REF, ref_id=order.id)
    record_event(order, "ended", "caregiver")
    hours = int(pricing.care_policy()["auto_complete_hours"])
    notify(order.user_id, "care_service_ended", "服务已结束,请确认",
           f"{order_summary(order)}已结束服务,请确认完成并评价;{hours} 小时后将自动确认。",
           "care_order", order.id, context=message_context(order, "待确认", now))
    jobs.enqueue_after_commit(db.session, auto_complete, order.id,
                              delay_seconds=hours * 3600 + 5,
                              job_id=f"care-auto-complete-{order.id}")
    db.session.commit()
    return order_view(order, "caregiver")


def _complete(order: CareOrder, by: str) -> None:
    """Inside the transaction (caregiver → order locked): completed, the earnings booked."""
    from app.earnings.ledger import record_earning

    order.complete(utcnow(), by)
    caregiver = db.session.get(Caregiver, order.caregiver_id)
    caregiver.completed_orders = (caregiver.completed_orders or 0) + 1
    record_earning(order, order.total_fen - order.refunded_fen, "completion")
    points_services.earn_for_care_order(order)  # the family's points, once per order
    record_event(order, "completed", "family" if by == "family" else "system")
    notify(caregiver.user_id, "care_order_completed", "订单已完成",
           f"{order_summary(order)}已完成,收入将在结算后到账。", "care_order", order.id,
           context=message_context(order, "已完成"))


@retry_deadlock
def confirm_completion(actor, *, order_id: int) -> dict:
    order = _family_order(actor, order_id)
    _complete(order, "family")
    db.session.commit()
    return order_view(order, "family")


@retry_deadlock
def auto_complete_order(order_id: int) -> str:
    """Job: complete an order the family did not confirm in time. Idempotent."""
    order = lock_order(order_id)
    hours = int(pricing.care_policy()["auto_complete_hours"])
    if order is None or order.status != "awaiting_confirmation" \
            or order.ended_at + timedelta(hours=hours) > utcnow():
        db.session.rollback()
        return "noop"
    _complete(order, "auto")
    db.session.commit()
    return "completed"


def orders_to_auto_complete(limit: int = 500) -> list[int]:
    hours = int(pricing.care_policy()["auto_complete_hours"])
    ids = db.session.scalars(select(CareOrder.id).where(
        CareOrder.status == "awaiting_confirmation",
        CareOrder.ended_at <= utcnow() - timedelta(hours=hours)).limit(limit)).all()
    db.session.rollback()
    return list(ids)


# ---- cancel ------------------------------------------------------------------------------------

@retry_deadlock
def cancel_by_family(actor, *, order_id: int, reason: str | None = None) -> dict:
    """Unpaid: cancelled, the payment closed. Paid, not yet accepted: full refund. Accepted,
    before the start: the policy's share back, the rest to the caregiver (less commission).
    Started: no (a dispute is the way)."""
    from app.earnings.ledger import record_earning

    order = _family_order(actor, order_id)
    now = utcnow()
    status = order.status
    if status in ("in_service", "awaiting_confirmation") or (
            status == "accepted" and now >= order.start_at):
        db.session.rollback()
        raise CancelNotAllowed()
    order.cancel(now, "family", reason, {"pending_payment", "awaiting_acceptance", "accepted"})
    if status == "pending_payment":
        release_time(order)
        payment_services.close_for_order(ORDER_TYPE, order.id)
        points_services.reverse_spend(ORDER_TYPE, order.id)  # never paid: points back
        outcome = "。"
    else:
        if status == "awaiting_acceptance":
            withdraw_offer(order, "withdrawn", "用户取消")
            refund = order.total_fen - order.refunded_fen
        else:
            release_time(order)
            kept = order.total_fen - order.refunded_fen
            refund = pricing.share(kept, pricing.care_policy()["cancel_after_accept_refund_bp"])
            record_earning(order, kept - refund, "cancellation")
            caregiver = db.session.get(Caregiver, order.caregiver_id)
            notify(caregiver.user_id, "care_order_cancelled", "订单已取消",
                   f"{order_summary(order)}已被用户取消。", "care_order", order.id,
                   context=message_context(order, "已取消"))
        refund_part(order, refund, "用户取消陪护订单")
        outcome = f",将退款 {fen_to_yuan(refund)} 元。"
    record_event(order, "cancelled", "family", reason)
    notify(order.user_id, "care_order_cancelled", "订单已取消",
           f"{order_summary(order)}已取消{outcome}", "care_order", order.id,
           context=message_context(order, "已取消"))
    db.session.commit()
    return order_view(order, "family")


# ---- reading -----------------------------------------------------------------------------------

def _photo_urls(record: CareServiceRecord, role: str) -> list[str]:
    """The photos are the caregiver's files; each side reads them through the order."""
    prefix = "/api/v1/caregiver/care-orders" if role == "caregiver" else "/api/v1/care-orders"
    return [f"{prefix}/{record.order_id}/records/{record.id}/photos/{index}"
            for index, _ in enumerate(record.photo_file_ids or [])]


def order_view(order: CareOrder, role: str) -> dict:
    """What each side sees of an order. The family sees its own patient and place; the
    caregiver a masked name, the place and the needs while the order is theirs; staff all."""
    caregiver = order.caregiver if order.caregiver_id else None
    hospital = order.hospital if order.hospital_id else None
    view = {
        "id": order.id, "order_no": order.order_no, "status": order.status,
        "status_name": STATUS_NAMES[order.status], "dispatch_mode": order.dispatch_mode,
        "care_type": order.care_type, "care_type_name": CARE_TYPES[order.care_type][0],
        "start": aware(order.start_at), "end": aware(order.end_at),
        "city_code": order.city_code,
        "hospital": {"id": hospital.id, "name": hospital.name} if hospital else None,
        "department": order.department, "skills": order.skills or [],
        "price": {"units": order.units, "unit_price_fen": order.unit_price_fen,
                  "base_fen": order.base_fen, "night_fen": order.night_fen,
                  "urgent_fen": order.urgent_fen, "discount_fen": order.discount_fen,
                  "member_discount_fen": order.member_discount_fen,
                  "points_used": order.points_used,
                  "points_discount_fen": order.points_discount_fen,
                  "total_fen": order.total_fen},
        "refunded_fen": order.refunded_fen,
        "caregiver": ({"id": caregiver.id, "name": mask_name(caregiver.name),
                       "photo_url": f"/api/v1/caregivers/{caregiver.id}/photo"
                       if caregiver.photo_file_id else None}
                      if caregiver else None),
        "acceptance_deadline": aware(order.acceptance_deadline)
        if order.acceptance_deadline else None,
        "created_at": aware(order.created_at),
        "paid_at": aware(order.paid_at) if order.paid_at else None,
        "accepted_at": aware(order.accepted_at) if order.accepted_at else None,
        "started_at": aware(order.started_at) if order.started_at else None,
        "ended_at": aware(order.ended_at) if order.ended_at else None,
        "completed_at": aware(order.completed_at) if order.completed_at else None,
        "cancelled_at": aware(order.cancelled_at) if order.cancelled_at else None,
        "cancel_reason": order.cancel_reason,
        "patient_name": mask_name(order.patient_name),
        "bed": None, "address": None, "needs": None,
    }
    if role in ("family", "staff") or order.status not in ("completed", "cancelled", "refunded",
                                                           "closed", "resolved"):
        view.update(bed=order.bed, address=order.address, needs=order.needs)
    if role == "family":
        view["patient_name"] = order.patient_name
    return view


def list_family_orders(actor, *, statuses=None, page: int = 1, page_size: int = 20) -> dict:
    statement = select(CareOrder).where(CareOrder.user_id == actor.id)
    if statuses:
        statement = statement.where(CareOrder.status.in_(statuses))
    statement = statement.order_by(CareOrder.id.desc()).options(
        selectinload(CareOrder.caregiver), selectinload(CareOrder.hospital))
    result = paginate(statement, page, page_size)
    result["items"] = [order_view(order, "family") for order in result["items"]]
    return result


def family_order(actor, *, order_id: int) -> dict:
    order = db.session.get(CareOrder, order_id)
    if order is None or order.user_id != actor.id:
        raise CareOrderNotFound()
    return {**order_view(order, "family"), "timeline": timeline(order.id)}


def timeline(order_id: int) -> list[dict]:
    return [{"at": aware(event.at), "kind": event.kind, "status": event.status,
             "status_name": STATUS_NAMES[event.status], "actor": event.actor, "note": event.note}
            for event in db.session.scalars(select(CareOrderEvent).where(
                CareOrderEvent.order_id == order_id).order_by(CareOrderEvent.seq))]


CAREGIVER_VIEWS = {
    "inbox": ("awaiting_acceptance",),
    "schedule": ("accepted", "in_service", "awaiting_confirmation"),
    "history": ("completed", "cancelled", "refunded", "resolved", "disputed"),
}


def list_caregiver_orders(actor, *, view: str, page: int = 1, page_size: int = 20) -> dict:
    """inbox: offered to me, soonest deadline first; schedule: what I am to do, soonest start
    first; history: done. Orders re-dispatched away from me are not mine any more."""
    caregiver = own_caregiver(actor)
    statement = select(CareOrder).where(CareOrder.caregiver_id == caregiver.id,
                                        CareOrder.status.in_(CAREGIVER_VIEWS[view]))
    if view == "inbox":
        statement = statement.order_by(CareOrder.acceptance_deadline, CareOrder.id)
    elif view == "schedule":
        statement = statement.order_by(CareOrder.start_at, CareOrder.id)
    else:
        statement = statement.order_by(CareOrder.id.desc())
    result = paginate(statement.options(selectinload(CareOrder.hospital)), page, page_size)
    result["items"] = [order_view(order, "caregiver") for order in result["items"]]
    return result


def caregiver_order(actor, *, order_id: int) -> dict:
    caregiver = own_caregiver(actor)
    order = db.session.get(CareOrder, order_id)
    if order is None or order.caregiver_id != caregiver.id:
        raise CareOrderNotFound()
    return order_view(order, "caregiver")


def record_view(record: CareServiceRecord, role: str = "family") -> dict:
    return {"id": record.id, "recorded_at": aware(record.recorded_at),
            "condition": record.condition, "care_given": record.care_given,
            "photo_urls": _photo_urls(record, role)}


def _records(order_id: int, role: str = "family") -> list[dict]:
    return [record_view(record, role) for record in db.session.scalars(
        select(CareServiceRecord).where(CareServiceRecord.order_id == order_id)
        .order_by(CareServiceRecord.id))]


def service_records(actor, *, order_id: int, as_caregiver: bool = False) -> list[dict]:
    """The family of the order, or its caregiver, reads the records as they are written."""
    order = db.session.get(CareOrder, order_id)
    if order is None:
        raise CareOrderNotFound()
    if as_caregiver:
        caregiver = own_caregiver(actor)
        if order.caregiver_id != caregiver.id:
            raise CareOrderNotFound()
    elif order.user_id != actor.id:
        raise CareOrderNotFound()
    return _records(order.id, "caregiver" if as_caregiver else "family")


# ---- unpaid orders whose prepay never happened -------------------------------------------------

@retry_deadlock
def _close_without_payment(order_id: int) -> bool:
    order = lock_order(order_id)
    if order is None or order.status != "pending_payment":
        db.session.rollback()
        return False
    close_unpaid(order)
    db.session.commit()
    return True


def sweep_unpaid_without_payment(grace_seconds: int = 60) -> int:
    """Orders whose prepay never happened (WeChat down) still give their time back at the TTL
    (or at their start, if sooner)."""
    from flask import current_app

    from app.payments.models import Payment

    now = utcnow()
    cutoff = now - timedelta(seconds=current_app.config["PAYMENT_TTL_SECONDS"] + grace_seconds)
    ids = db.session.scalars(select(CareOrder.id).where(
        CareOrder.status == "pending_payment",
        (CareOrder.created_at < cutoff) | (CareOrder.start_at <= now),
        ~select(Payment.id).where(Payment.order_type == ORDER_TYPE,
                                  Payment.order_id == CareOrder.id).exists())).all()
    db.session.rollback()
    return sum(1 for order_id in ids if _close_without_payment(order_id))
