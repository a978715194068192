"""Hospital registration (挂号): booking, cancelling, 停诊, reminders, no-shows.

Rules of a booking, cheapest first: the gate's sold-out flag (no DB work), the patient is the
caller's, real name verified, no no-show block, the schedule is open and inside its hospital's
window, no second active booking of it, the per-day cap; then the slot (gate, then the
database's conditional update), then the order row. Payment goes through app.payments.
"""
import logging
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.booking.models import ACTIVE_STATUSES, Registration
from app.booking.slots import gate, give_back_in_database, take_in_database
from app.booking_limits import services as booking_limits
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_name
from app.common.models import InvalidTransition
from app.common.pagination import paginate
from app.common.time import LOCAL_TZ, local_today, utcnow
from app.errors import AppError, Conflict, NotFound
from app.extensions import db, jobs
from app.hospital_webhooks.events import registration_event as hospital_webhook
from app.hospitals import rules
from app.hospitals.models import PERIODS, Hospital, Schedule
from app.hospitals.services import ScheduleNotFound, ScheduleStopped
from app.membership import services as membership
from app.notifications.services import notify
from app.observability.metrics import BOOKING_OUTCOMES, count_outcomes
from app.patients.models import Patient
from app.patients.services import PatientNotFound
from app.payments import services as payment_services
from app.points import services as points_services
from app.settings.booking_rules import booking_rules

log = logging.getLogger("app.booking")
ORDER_TYPE = "registration"


class RegistrationNotFound(NotFound):
    code = "registration_not_found"
    message = "挂号订单不存在"


class SlotSoldOut(Conflict):
    code = "slot_sold_out"
    message = "号源已约满"


class NotReleased(Conflict):
    code = "not_released"
    message = "号源尚未放出"


class BookingClosed(Conflict):
    code = "booking_closed"
    message = "该日预约已截止"


class AlreadyBooked(Conflict):
    code = "already_booked"
    message = "该就诊人已预约此号源"


class DailyLimitReached(Conflict):
    code = "daily_limit_reached"
    message = "该就诊人当日预约数已达上限"


class RealNameRequired(AppError):
    status = 403
    code = "real_name_required"
    message = "请先完成实名认证"


class BookingBlocked(AppError):
    status = 403
    code = "booking_blocked"
    message = "因多次爽约,暂停预约"


class VisitDayNotReached(Conflict):
    code = "visit_day_not_reached"
    message = "未到就诊日,不能标记为已就诊"


class CancelDeadlinePassed(Conflict):
    code = "cancel_deadline_passed"
    message = "已超过取消预约的截止时间"


def _local(dt: datetime) -> str:
    return dt.astimezone(LOCAL_TZ).isoformat(timespec="minutes")


def _order_no() -> str:
    return "G" + datetime.now(LOCAL_TZ).strftime("%Y%m%d%H%M%S") + secrets.token_hex(5)


# --------------------------------------------------------------------------------- booking

def no_show_block(user_id: int, today=None, config: dict | None = None):
    """(blocked_until, count) when the account has too many recent no-shows, else None.
    `config`: the booking rules when the caller has read them already."""
    config = config or booking_rules()  # staff-editable (app/settings/booking_rules.py)
    today = today or local_today()
    since = today - timedelta(days=config["no_show_window_days"])
    dates = db.session.scalars(select(Registration.visit_date).where(
        Registration.user_id == user_id, Registration.status == "no_show",
        Registration.visit_date > since).order_by(Registration.visit_date.desc())).all()
    if len(dates) < config["no_show_limit"]:
        return None
    until = dates[0] + timedelta(days=config["no_show_block_days"])
    return (until, len(dates)) if until >= today else None


@count_outcomes(BOOKING_OUTCOMES)  # /metrics: success or the refusal's code, after the fact
def book(actor, schedule_id: int, patient_id: int, now: datetime | None = None,
         points: int = 0, client=None) -> dict:
    """`client`: where the request came from (booking_limits.Client: device, address)."""
    now = now or rules.now_local()
    if gate.is_sold_out(schedule_id):
        raise SlotSoldOut()
    patient = db.session.get(Patient, patient_id, with_for_update=True)
    if patient is None or patient.user_id != actor.id or not patient.alive:
        raise PatientNotFound()
    if actor.real_name_status != "verified":
        raise RealNameRequired()
    booking_limits.check_attempts(actor.id, patient.id_number_index, client)
    booking_config = booking_rules()  # one read of the staff-editable rules per booking
    block = no_show_block(actor.id, now.date(), booking_config)
    if block:
        until, count = block
        window = booking_config["no_show_window_days"]
        raise BookingBlocked(f"您近{window}天内爽约{count}次,暂停预约至{until.isoformat()}",
                             details={"blocked_until": until.isoformat(), "no_shows": count})
    schedule = db.session.get(Schedule, schedule_id)
    hospital = db.session.get(Hospital, schedule.hospital_id) if schedule else None
    if schedule is None or not hospital.is_active:
        raise ScheduleNotFound()
    if schedule.status != "open":
        raise ScheduleStopped()
    state = rules.window_state(hospital, schedule.work_date, now)
    if state == "not_released":
        # members may book some minutes before everyone else: the same path, the same gate
        release = rules.release_at(hospital, schedule.work_date)
        early = membership.may(actor, "book_early", now=now, release_at=release)
        if not early.allowed:
            opens = early.details["opens_at"]
            raise NotReleased(f"号源将于 {_local(release)} 放出"
                              + (f"({early.reason})" if early.value else ""),
                              details={"release_at": _local(release), "opens_at": opens})
    if state == "closed":
        raise BookingClosed()
    active = select(func.count()).select_from(Registration).where(
        Registration.patient_id == patient.id, Registration.active.is_(True))
    if db.session.scalar(active.where(Registration.schedule_id == schedule.id)):
        raise AlreadyBooked()
    limit = booking_config["daily_limit"]
    if db.session.scalar(active.where(Registration.visit_date == schedule.work_date)) >= limit:
        raise DailyLimitReached(f"该就诊人同一天最多预约 {limit} 个号", details={"limit": limit})

    ticket = gate.take(schedule.id)
    if ticket is False:
        raise SlotSoldOut()
    try:
        # the caps against scalpers only for those the gate let through (a release's crowd
        # costs the database nothing more); a refusal gives the ticket back below
        booking_limits.enforce_caps(actor.id, patient.id_number_index, client,
                                    hospital_id=schedule.hospital_id,
                                    visit_date=schedule.work_date)
        taken = take_in_database(schedule.id)
        if taken:
            registration = Registration(
                order_no=_order_no(), user_id=actor.id, patient_id=patient.id,
                schedule_id=schedule.id, hospital_id=schedule.hospital_id,
                department_id=schedule.department_id, doctor_id=schedule.doctor_id,
                visit_date=schedule.work_date, period=schedule.period,
                fee_fen=schedule.fee_fen, patient_name=patient.name, status="pending_payment",
                active=True, device_index=client.device if client else None,
                ip_index=client.ip if client else None)
            db.session.add(registration)
            db.session.flush()
            # points off the fee (app/points): refused → raised here, the ticket goes back
            points_services.spend_for_order(actor, ORDER_TYPE, registration.id,
                                            price_fen=registration.fee_fen, points=points)
            _invalidate_counts(schedule.department_id, schedule.work_date)
            db.session.commit()
    except IntegrityError:
        db.session.rollback()
        gate.return_ticket(schedule.id, ticket)
        raise AlreadyBooked()
    except Exception:
        db.session.rollback()
        gate.return_ticket(schedule.id, ticket)
        raise
    if not taken:
        # The database says none are left, so the gate counted a seat that is not there: the
        # gate goes to 0 and the ticket is not given back (outside the try on purpose).
        db.session.rollback()
        gate.mark_sold_out(schedule.id, ticket)
        raise SlotSoldOut()
    gate.settle(schedule.id, ticket)
    registration_id = registration.id
    log.info("registration %s booked schedule %s", registration_id, schedule_id)
    return _with_payment(actor, registration_id)


def _with_payment(actor, registration_id: int) -> dict:
    paid = payment_services.prepay_if_possible(actor, order_type=ORDER_TYPE,
                                               order_id=registration_id)
    return {**paid, "registration": db.session.get(Registration, registration_id)}


def _invalidate_counts(department_id, work_date):
    """Hot-read caches of one department-day's counts are dropped once the change commits
    (they would catch up within a second anyway)."""
    from app.hospitals.cache import invalidate_counts

    jobs.call_after_commit(db.session, invalidate_counts, department_id, work_date)


def release_slot(registration: Registration):
    """Inside the caller's transaction, the schedule locked: while someone waits for the
    schedule the slot becomes a hold for the first waiter (app/waitlist, in this transaction;
    it never reaches `available` or the gate), else it returns to the pool (DB now, gate after
    commit)."""
    from app.waitlist.services import hand_over_slot

    if hand_over_slot(registration):
        return
    if give_back_in_database(registration.schedule_id):
        jobs.call_after_commit(db.session, gate.give_back, registration.schedule_id)
    _invalidate_counts(registration.department_id, registration.visit_date)


# ------------------------------------------------------------------------ reading orders

_PAYMENT = "_loaded_payment"  # where load_payments leaves a registration's payment


def load_payments(registrations) -> None:
    """Fetch the payments (and their refunds) of many registrations in two queries and keep
    each on its registration for registration_payment, so a page of orders costs the same
    number of queries whatever its size."""
    from app.payments.models import Payment

    wanted = [r for r in registrations if _PAYMENT not in vars(r)]
    if not wanted:
        return
    payments = db.session.scalars(select(Payment).where(
        Payment.order_type == ORDER_TYPE, Payment.order_id.in_([r.id for r in wanted]))
        .options(selectinload(Payment.refunds))).all()
    by_order = {payment.order_id: payment for payment in payments}
    for registration in wanted:
        setattr(registration, _PAYMENT, by_order.get(registration.id))


def registration_payment(registration: Registration):
    """The registration's payment (None before prepay), loaded once per instance."""
    if _PAYMENT not in vars(registration):
        load_payments([registration])
    return vars(registration)[_PAYMENT]


def list_registrations(actor, *, statuses: list[str] | None = None, page: int = 1,
                       page_size: int = 20) -> dict:
    """The caller's orders, newest first, optionally of some statuses only; what the list
    shows of each (hospital, department, doctor, schedule, payment, refunds) is loaded per
    page, not per row."""
    statement = select(Registration).where(Registration.user_id == actor.id)
    if statuses:
        statement = statement.where(Registration.status.in_(statuses))
    statement = statement.order_by(Registration.id.desc()).options(
        selectinload(Registration.hospital), selectinload(Registration.department),
        selectinload(Registration.doctor), selectinload(Registration.schedule))
    result = paginate(statement, page, page_size)
    load_payments(result["items"])
    return result


def registration_of(actor, *, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.user_id != actor.id:
        raise RegistrationNotFound()
    load_payments([registration])
    return registration


# ------------------------------------------------------------------------------ cancelling
#
# Lock order, for every use case here and in the payments hooks (docs/locking.md):
#     schedule → registration → payment → refund
# `lock_registration` takes the first two; payments takes the payment and refund rows after.
# The use cases are wrapped in retry_deadlock (a MariaDB deadlock is retried once).

def lock_registration(registration_id: int) -> Registration | None:
    """Lock the registration's schedule, then the registration (the house lock order)."""
    schedule_id = db.session.scalar(select(Registration.schedule_id).where(
        Registration.id == registration_id))
    if schedule_id is None:
        return None
    db.session.get(Schedule, schedule_id, with_for_update=True, populate_existing=True)
    return db.session.get(Registration, registration_id, with_for_update=True,
                          populate_existing=True)


def fen_to_yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def visit_time(registration: Registration) -> datetime:
    """When the clinic starts, as stored times are (naive UTC): the time a message shows."""
    start = datetime.combine(registration.visit_date, registration.schedule.start_time,
                             tzinfo=LOCAL_TZ)
    return start.astimezone(timezone.utc).replace(tzinfo=None)


def message_context(registration: Registration, status: str) -> dict:
    """What a registration's WeChat message shows besides its text: hospital and department
    (no patient name), a short status and the visit time."""
    return {"subject": f"{registration.hospital.name} {registration.department.name}",
            "status": status, "time": visit_time(registration)}


def order_summary(registration: Registration) -> str:
    """The order in a message: masked patient name, never the full one (personal data)."""
    return (f"{mask_name(registration.patient_name)}预约的{registration.hospital.name}"
            f"{registration.department.name}{registration.doctor.name}医生"
            f"{registration.visit_date.isoformat()}"
            f"{PERIODS.get(registration.period, registration.period)}")


@retry_deadlock
def cancel(actor, *, registration_id: int, now: datetime | None = None) -> Registration:
    """Unpaid: cancelled at once (the slot returns; the payment is closed by a job, and money
    that still arrives is refunded in full). Booked, before the deadline: cancelled, the slot
    returns and a full refund is reserved; the worker asks WeChat after this one commit."""
    now = now or rules.now_local()
    registration = lock_registration(registration_id)
    if registration is None or registration.user_id != actor.id:
        db.session.rollback()
        raise RegistrationNotFound()
    paid = registration.status == "booked"
    if registration.status not in ("pending_payment", "booked"):
        db.session.rollback()
        raise InvalidTransition("当前状态不可取消", details={"status": registration.status})
    if paid:
        deadline = rules.cancel_deadline(registration.hospital, registration.visit_date)
        if now >= deadline:
            _use_late_cancel(actor, registration, deadline, now)
    registration.cancel(utcnow())
    hospital_webhook(registration, "cancelled")  # after the commit, to the hospital
    release_slot(registration)
    if paid:
        payment_services.refund_for_order(ORDER_TYPE, registration_id, reason="患者取消预约")
    else:
        payment_services.close_for_order(ORDER_TYPE, registration_id)
        points_services.reverse_spend(ORDER_TYPE, registration_id)  # never paid: points back
    notify(registration.user_id, "registration_cancelled", "预约已取消",
           f"{order_summary(registration)}已取消" + (",挂号费将原路退回。" if paid else "。"),
           "registration", registration.id, context=message_context(registration, "已取消"))
    db.session.commit()
    log.info("registration %s cancelled (%s)", registration_id, "paid" if paid else "unpaid")
    return registration


def _use_late_cancel(actor, registration: Registration, deadline: datetime, now: datetime):
    """Past the hospital's deadline: a member's late free cancellation, counted against the
    month's allowance, or CancelDeadlinePassed. The caller's user row is locked (after the
    schedule and the registration: the house order) so two late cancels at once cannot both
    take the month's last one."""
    from app.users.models import User

    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    start = datetime.combine(registration.visit_date, registration.schedule.start_time,
                             tzinfo=LOCAL_TZ)
    late = membership.may(actor, "cancel_late", now=now, deadline=deadline, visit_start=start)
    if not late.allowed:
        db.session.rollback()
        raise CancelDeadlinePassed(f"取消截止时间为 {_local(deadline)}({late.reason})",
                                   details={"deadline": _local(deadline), **late.details})
    membership.record_use(actor.id, "late_cancel", ORDER_TYPE, registration.id)


@retry_deadlock
def _close_without_payment(registration_id: int) -> bool:
    """The pay deadline passed before any prepay (WeChat was down): close, return the slot."""
    registration = lock_registration(registration_id)
    if registration is None or registration.status != "pending_payment":
        db.session.rollback()
        return False
    close_unpaid(registration)
    db.session.commit()
    return True


def close_unpaid(registration: Registration):
    """Inside the caller's transaction (registration locked): unpaid at its deadline."""
    registration.close(utcnow())
    release_slot(registration)
    points_services.reverse_spend(ORDER_TYPE, registration.id)  # points spent on it come back
    notify(registration.user_id, "registration_closed", "订单已关闭",
           f"{order_summary(registration)}超时未支付,订单已关闭,号源已释放。", "registration",
           registration.id, context=message_context(registration, "已关闭"))


def close_registration(registration_id: int) -> str:
    """Job-level: close an unpaid order now, as its pay deadline would. "closed", "paid" (it
    turned out paid at WeChat) or "noop"."""
    if payment_services.payment_for_order(ORDER_TYPE, registration_id) is None:
        db.session.rollback()
        return "closed" if _close_without_payment(registration_id) else "noop"
    db.session.rollback()
    return payment_services.close_unpaid_now(ORDER_TYPE, registration_id)


# -------------------------------------------------------------------------------- 停诊

@retry_deadlock
def stop_schedule(actor, *, schedule_id: int, reason: str) -> dict:
    """Stop a clinic: every booked order becomes `stopped` with a full refund reserved, unpaid
    ones are closed (their payments closed by a job), each order keeps the reason and each
    patient is told once. One commit; the refunds go to WeChat from the worker."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    schedule = db.session.get(Schedule, schedule_id, with_for_update=True, populate_existing=True)
    if schedule is None:
        db.session.rollback()
        raise ScheduleNotFound()
    schedule.stop(reason)
    jobs.call_after_commit(db.session, gate.set_sold_out, schedule.id)
    registrations = db.session.scalars(select(Registration).where(
        Registration.schedule_id == schedule.id, Registration.status.in_(ACTIVE_STATUSES))
        .order_by(Registration.id).with_for_update()
        .execution_options(populate_existing=True)).all()
    stopped = closed = 0
    now = utcnow()
    for registration in registrations:
        if registration.status == "booked":
            registration.stop(now, reason)
            hospital_webhook(registration, "stopped")
            payment_services.refund_for_order(ORDER_TYPE, registration.id, reason="医生停诊")
            stopped += 1
            outcome = "挂号费将全额退回。"
        else:
            registration.close_for_stop(now, reason)
            payment_services.close_for_order(ORDER_TYPE, registration.id)
            closed += 1
            outcome = "订单已关闭,无需支付。"
        notify(registration.user_id, "schedule_stopped", "停诊通知",
               f"{order_summary(registration)}门诊停诊({reason}),{outcome}", "registration",
               registration.id, context=message_context(registration, "已停诊"))
    from app.waitlist.services import schedule_stopped as end_waitlist

    end_waitlist(schedule)  # holds lapse (closed above), waits end, waiters told
    _invalidate_counts(schedule.department_id, schedule.work_date)
    db.session.commit()
    log.info("schedule %s stopped: %s booked, %s unpaid", schedule_id, stopped, closed)
    return {"schedule_id": schedule_id, "stopped": stopped, "closed": closed}


# ------------------------------------------------------------------- visits and reminders

def mark_visited(actor, *, registration_id: int) -> Registration:
    from app.staff.services import require_role

    require_role(actor, "operator")
    registration = db.session.get(Registration, registration_id, with_for_update=True)
    if registration is None:
        raise RegistrationNotFound()
    if registration.status == "booked" and registration.visit_date > local_today():
        raise VisitDayNotReached()  # a visit happens on its day; earlier is a mistaken tap
    registration.mark_visited(utcnow())
    points_services.earn_for_visit(registration)  # same transaction, once per registration
    hospital_webhook(registration, "visited")
    db.session.commit()
    return registration


def send_visit_reminders(today=None) -> int:
    """The evening before: one reminder per booked order for tomorrow."""
    tomorrow = (today or local_today()) + timedelta(days=1)
    registrations = db.session.scalars(select(Registration).where(
        Registration.status == "booked", Registration.visit_date == tomorrow,
        Registration.reminded_at.is_(None)).with_for_update()).all()
    for registration in registrations:
        registration.reminded_at = utcnow()
        schedule = registration.schedule
        notify(registration.user_id, "visit_reminder", "就诊提醒",
               f"{mask_name(registration.patient_name)}明天{PERIODS.get(registration.period, '')}"
               f"{schedule.start_time.strftime('%H:%M')}在{registration.hospital.name}"
               f"{registration.department.name}就诊,就诊序号 {registration.visit_number}。",
               "registration", registration.id, context=message_context(registration, "明日就诊"))
    db.session.commit()
    return len(registrations)


def mark_no_shows(today=None) -> int:
    """At the end of a visit day: booked orders never marked visited become no_show, and the
    user is told once (the status moves once), with what repeated no-shows lead to."""
    today = today or local_today()
    registrations = db.session.scalars(select(Registration).where(
        Registration.status == "booked", Registration.visit_date <= today)
        .with_for_update()).all()
    config = booking_rules()
    for registration in registrations:
        registration.mark_no_show()
        notify(registration.user_id, "registration_no_show", "爽约提醒",
               f"{order_summary(registration)}未按时就诊,已记为爽约。"
               f"{config['no_show_window_days']}天内爽约{config['no_show_limit']}次将暂停预约"
               f"{config['no_show_block_days']}天。",
               "registration", registration.id, context=message_context(registration, "已爽约"))
    db.session.commit()
    return len(registrations)


def sweep_unpaid_without_payment(grace_seconds=60) -> int:
    """Orders whose prepay never happened (WeChat down) still give their slot back at TTL."""
    from app.payments.models import Payment

    cutoff = utcnow() - timedelta(seconds=current_app.config["PAYMENT_TTL_SECONDS"] + grace_seconds)
    ids = db.session.scalars(select(Registration.id).where(
        Registration.status == "pending_payment", Registration.created_at < cutoff,
        ~select(Payment.id).where(Payment.order_type == ORDER_TYPE,
                                  Payment.order_id == Registration.id).exists())).all()
    db.session.rollback()
    return sum(1 for registration_id in ids if _close_without_payment(registration_id))


def rebuild_gates(now: datetime | None = None) -> int:
    """The last resort (the gate heals itself within seconds, see app/booking/slots.py):
    reset every open, in-window schedule's gate to the database's count, less the tokens in
    flight."""
    now = now or rules.now_local()
    today = now.date()
    schedule_ids = db.session.scalars(select(Schedule.id).where(
        Schedule.status == "open", Schedule.work_date > today,
        Schedule.work_date <= today + timedelta(days=31))).all()
    for schedule_id in schedule_ids:
        gate.rebuild(schedule_id, overwrite=True)
    db.session.rollback()
    return len(schedule_ids)
