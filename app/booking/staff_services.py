"""Registrations (挂号) for staff (运营): search, the whole story of one order, and cancel with a
full refund. Marking a visit and 停诊 live in app/booking/services.py.

What leaves here is already masked (patient name, phone, ID number), so the API and the
console show the same thing.

Lock order as everywhere (docs/locking.md): schedule → registration → payment → refund.
`cancel_registration` takes the first two with `lock_registration`; payments takes the payment
row after, inside the same transaction.
"""
import logging
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.booking.models import STATUS_NAMES, Registration
from app.booking.services import (ORDER_TYPE, RegistrationNotFound, fen_to_yuan, load_payments,
                                  lock_registration, message_context, order_summary,
                                  registration_payment, release_slot)
from app.common.crypto import cipher
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_id_number, mask_name, mask_phone
from app.common.models import InvalidTransition
from app.common.pagination import paginate, where_given
from app.common.time import LOCAL_TZ, local_today, utcnow
from app.extensions import db
from app.hospital_webhooks.events import registration_event as hospital_webhook
from app.hospitals import rules
from app.hospitals.models import PERIODS
from app.notifications.models import Notification
from app.notifications.services import notify
from app.patients.models import GENDERS, Patient
from app.payments import services as payment_services
from app.points.services import reverse_spend
from app.staff.models import StaffUser
from app.staff.services import require_role

log = logging.getLogger("app.booking.staff")
# staff may cancel an order that still holds its slot, paid or not, whatever the user's deadline
STAFF_CANCELLABLE = ("pending_payment", "booked")
REFUND_STATUS_NAMES = {"processing": "退款中", "succeeded": "已退款", "failed": "退款失败"}


def _local(value: datetime | None) -> datetime | None:
    """Stored times are naive UTC; staff read local ones."""
    return value.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ) if value else None


# ---- reading -----------------------------------------------------------------------------------

def _row(registration: Registration) -> dict:
    schedule = registration.schedule
    return {
        "id": registration.id, "order_no": registration.order_no,
        "status": registration.status, "status_name": STATUS_NAMES[registration.status],
        "user_id": registration.user_id, "patient_id": registration.patient_id,
        "patient_name": mask_name(registration.patient_name),
        "hospital": {"id": registration.hospital.id, "name": registration.hospital.name},
        "department": {"id": registration.department.id, "name": registration.department.name},
        "doctor": {"id": registration.doctor.id, "name": registration.doctor.name,
                   "title": registration.doctor.title},
        "schedule_id": registration.schedule_id,
        "visit_date": registration.visit_date, "period": registration.period,
        "period_name": PERIODS.get(registration.period, registration.period),
        "start_time": schedule.start_time.strftime("%H:%M"),
        "end_time": schedule.end_time.strftime("%H:%M"),
        "fee_fen": registration.fee_fen, "visit_number": registration.visit_number,
        "refunded_fen": _refunded_fen(registration),
        "created_at": _local(registration.created_at), "paid_at": _local(registration.paid_at),
    }


def _refunded_fen(registration: Registration) -> int:
    payment = registration_payment(registration)
    return (payment.refunded_fen or 0) if payment is not None else 0


def search_registrations(actor: StaffUser, *, statuses=None, order_no: str | None = None,
                         hospital_id: int | None = None, user_id: int | None = None,
                         patient_phone: str | None = None, visit_from=None, visit_to=None,
                         page: int = 1, page_size: int = 20) -> dict:
    """Registrations by any of the filters (all must hold), newest first. visit_from / visit_to
    are local dates, both inclusive; a patient's phone is matched in full through its blind
    index (the number is never stored in clear)."""
    require_role(actor, "operator")
    statement = where_given(
        select(Registration), (Registration.status, statuses),
        (Registration.order_no, order_no), (Registration.hospital_id, hospital_id),
        (Registration.user_id, user_id))
    if patient_phone:
        statement = statement.where(Registration.patient_id.in_(select(Patient.id).where(
            Patient.phone_index == cipher().blind_index(patient_phone, "phone"))))
    if visit_from is not None:
        statement = statement.where(Registration.visit_date >= visit_from)
    if visit_to is not None:
        statement = statement.where(Registration.visit_date <= visit_to)
    statement = statement.order_by(Registration.id.desc()).options(
        selectinload(Registration.hospital), selectinload(Registration.department),
        selectinload(Registration.doctor), selectinload(Registration.schedule))
    result = paginate(statement, page, page_size)
    load_payments(result["items"])  # one query per page, not per row
    result["items"] = [_row(registration) for registration in result["items"]]
    return result


def _patient(patient_id: int) -> dict | None:
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        return None
    return {"id": patient.id, "name": mask_name(patient.name), "phone": mask_phone(patient.phone),
            "id_type": patient.id_type, "id_number": mask_id_number(patient.id_number),
            "gender": patient.gender, "gender_name": GENDERS.get(patient.gender, patient.gender),
            "deleted": not patient.alive}


def _payment(registration: Registration) -> tuple[dict | None, list[dict]]:
    payment = registration_payment(registration)
    if payment is None:
        return None, []
    return ({"id": payment.id, "out_trade_no": payment.out_trade_no, "status": payment.status,
             "amount_fen": payment.amount_fen, "refunded_fen": payment.refunded_fen or 0,
             "paid_at": _local(payment.paid_at), "closed_at": _local(payment.closed_at)},
            [{"id": refund.id, "out_refund_no": refund.out_refund_no,
              "amount_fen": refund.amount_fen, "status": refund.status,
              "status_name": REFUND_STATUS_NAMES.get(refund.status, refund.status),
              "reason": refund.reason, "requested_by": refund.requested_by,
              "failure_reason": refund.failure_reason, "created_at": _local(refund.created_at),
              "succeeded_at": _local(refund.succeeded_at)} for refund in payment.refunds])


# what each of the order's own times means on the timeline
_STEPS = (("created_at", "created", "下单"), ("paid_at", "paid", "支付成功,已预约"),
          ("closed_at", "closed", "订单已关闭"), ("cancelled_at", "cancelled", "已取消"),
          ("stopped_at", "stopped", "医生停诊"), ("visited_at", "visited", "已就诊"),
          ("refunded_at", "refunded", "退款完成"))


def _timeline(registration: Registration, refunds: list[dict]) -> list[dict]:
    """Registrations keep no event table: their own times, the refunds and the messages the
    user was sent (which carry a staff cancel's reason), in time order."""
    events = []
    for attribute, kind, title in _STEPS:
        at = getattr(registration, attribute)
        if at is not None:
            note = None
            if kind == "paid" and registration.visit_number:
                note = f"就诊序号 {registration.visit_number}"
            elif kind in ("stopped", "closed") and registration.stop_reason:
                note = registration.stop_reason
            events.append({"at": _local(at), "kind": kind, "title": title, "note": note})
    for refund in refunds:
        by = "平台" if refund["requested_by"].startswith("staff:") else "系统"
        events.append({"at": refund["created_at"], "kind": "refund_requested",
                       "title": f"{by}发起退款 ¥{fen_to_yuan(refund['amount_fen'])}",
                       "note": refund["reason"]})
        if refund["succeeded_at"] is not None:
            events.append({"at": refund["succeeded_at"], "kind": "refund_succeeded",
                           "title": f"退款到账 ¥{fen_to_yuan(refund['amount_fen'])}",
                           "note": None})
    refund_ids = [refund["id"] for refund in refunds]
    messages = db.session.scalars(select(Notification).where(
        Notification.user_id == registration.user_id,
        ((Notification.ref_type == "registration") & (Notification.ref_id == registration.id))
        | ((Notification.ref_type == "refund") & Notification.ref_id.in_(refund_ids or [0])))
        .order_by(Notification.id)).all()
    for message in messages:
        events.append({"at": _local(message.created_at), "kind": "message",
                       "title": f"通知用户:{message.title}", "note": message.body})
    # a stable order for events of the same second: the order of the list above
    return sorted(events, key=lambda event: event["at"])


def _detail(registration: Registration) -> dict:
    payment, refunds = _payment(registration)
    return {**_row(registration), "patient": _patient(registration.patient_id),
            "stop_reason": registration.stop_reason,
            "cancel_deadline": rules.cancel_deadline(registration.hospital,
                                                     registration.visit_date),
            "cancellable": registration.status in STAFF_CANCELLABLE,
            "visitable": (registration.status == "booked"
                          and registration.visit_date <= local_today()),
            "payment": payment, "refunds": refunds,
            "timeline": _timeline(registration, refunds)}


def registration_detail(actor: StaffUser, *, registration_id: int) -> dict:
    require_role(actor, "operator")
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        raise RegistrationNotFound()
    return _detail(registration)


# ---- cancel ------------------------------------------------------------------------------------

@retry_deadlock
def cancel_registration(actor: StaffUser, *, registration_id: int, reason: str) -> dict:
    """Cancel an order that still holds its slot, whatever the user's own deadline: the slot
    returns; unpaid, its payment is closed (by a job; money that still arrives is refunded in
    full); paid, everything still refundable is reserved as a refund the worker sends to WeChat
    after this one commit. The user is told once, with the reason."""
    require_role(actor, "operator")
    registration = lock_registration(registration_id)
    try:
        if registration is None:
            raise RegistrationNotFound()
        status = registration.status
        if status not in STAFF_CANCELLABLE:
            raise InvalidTransition("订单已结束,不能取消",
                                    details={"from": status, "to": "cancelled"})
        registration.cancel(utcnow())
        hospital_webhook(registration, "cancelled")
    except Exception:
        db.session.rollback()
        raise
    release_slot(registration)
    refunded = 0
    if status == "booked":
        refund = payment_services.refund_for_order(ORDER_TYPE, registration.id, reason=reason,
                                                   requested_by=f"staff:{actor.id}")
        refunded = refund.amount_fen if refund is not None else 0
        payment = registration_payment(registration)
        if refund is None and payment is not None and payment.status == "refunded":
            # staff had already given all of it back: nothing will come to mark it refunded
            registration.mark_refunded(utcnow())
            hospital_webhook(registration, "refunded")
        outcome = f"挂号费 {fen_to_yuan(refunded)} 元将原路退回。" if refunded else ""
    else:
        payment_services.close_for_order(ORDER_TYPE, registration.id)
        reverse_spend(ORDER_TYPE, registration.id)  # never paid: the points spent come back
        outcome = "无需支付。"
    notify(registration.user_id, "registration_cancelled", "预约已取消",
           f"{order_summary(registration)}已由平台取消。{outcome}原因:{reason}",
           "registration", registration.id,
           context={**message_context(registration, "已取消"), "reason": reason})
    db.session.commit()
    log.info("staff %s cancelled registration %s (%s, refund %s)", actor.id, registration_id,
             status, refunded)
    return _detail(registration)
