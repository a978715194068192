"""The waitlist (候补) of sold-out schedules.

A user joins a sold-out schedule's waitlist for one of their patients. Joining costs nothing:
paying up front would lock money for slots most waiters never get and turn every expiry into
a refund. When a slot returns (a cancel, an unpaid order closed at its deadline, a staff cancel,
added capacity), it goes to the first waiter (higher membership priority first, then join
order) as a *hold*: an ordinary `pending_payment` registration created for the waiter, paid
through the same prepay endpoint as any order, whose pay window is WAITLIST_HOLD_SECONDS
(never past the day's booking stop). Unpaid at the deadline, the ordinary close path runs
again and the slot moves to the next waiter; with nobody left it goes back to the public.

Allocation is inline: `hand_over_slot` runs inside the transaction that releases the slot
(`booking.services.release_slot`), where the schedule row is already locked, so a returned
slot is either a hold for exactly one waiter or a public seat, decided in the one commit that
freed it, and a dead worker cannot lose it. While a waiter takes it the slot never touches
`schedules.available` nor the Redis gate. Added capacity goes through `offer_free_seats`, in
the transaction that raised the total.

Lock order (docs/locking.md): schedule → (the released registration → its payment) →
waitlist entries → the hold's new registration row. Every write of a waitlist entry happens
with its schedule locked; patient rows are only read, never locked, under the schedule lock
(`book()` locks the patient before the schedule); joining locks the user row after the
schedule (as a member's late cancel does) so the per-user cap holds under concurrency.
"""
import logging
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.booking import services as booking
from app.booking.models import Registration
from app.booking.slots import give_back_in_database, take_in_database
from app.booking_limits import services as booking_limits
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_name
from app.common.pagination import paginate
from app.common.time import LOCAL_TZ, utcnow
from app.errors import AppError, Conflict, NotFound
from app.extensions import db, jobs
from app.hospitals import rules
from app.hospitals.models import PERIODS, Hospital, Schedule
from app.hospitals.services import ScheduleNotFound, ScheduleStopped
from app.notifications.services import notify
from app.patients.models import Patient
from app.patients.services import PatientNotFound
from app.settings.booking_rules import booking_rules
from app.waitlist.models import WaitlistEntry

log = logging.getLogger("app.waitlist")


class WaitlistEntryNotFound(NotFound):
    code = "waitlist_entry_not_found"
    message = "候补记录不存在"


class ScheduleHasSeats(Conflict):
    code = "waitlist_schedule_has_seats"
    message = "该号源尚有余号,请直接预约"


class AlreadyWaiting(Conflict):
    code = "waitlist_already_joined"
    message = "该就诊人已在此号源的候补队列中"


class NotWaiting(Conflict):
    code = "waitlist_not_waiting"
    message = "当前候补状态不可退出"


# ------------------------------------------------------------------------------- helpers

def _utc(moment: datetime) -> datetime:
    """Aware → naive UTC, as stored."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def _local(moment: datetime) -> str:
    return moment.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).isoformat(
        timespec="minutes")


def _priority(user) -> int:
    """The membership level's waitlist priority, read once at join time."""
    from app.membership.services import waitlist_priority
    return waitlist_priority(user)


def _summary(entry: WaitlistEntry, patient_name: str) -> str:
    schedule = entry.schedule
    return (f"{mask_name(patient_name)}候补的{schedule.hospital.name}{schedule.department.name}"
            f"{schedule.doctor.name}医生{schedule.work_date.isoformat()}"
            f"{PERIODS.get(schedule.period, schedule.period)}")


def _patient_name(entry: WaitlistEntry) -> str:
    patient = db.session.get(Patient, entry.patient_id)
    return patient.name if patient is not None else ""


def _context(entry: WaitlistEntry, status: str) -> dict:
    schedule = entry.schedule
    return {"subject": f"{schedule.hospital.name} {schedule.department.name}", "status": status,
            "time": _visit_time(schedule)}


def _visit_time(schedule: Schedule) -> datetime:
    start = datetime.combine(schedule.work_date, schedule.start_time, tzinfo=LOCAL_TZ)
    return _utc(start)


def _lock_schedule(schedule_id: int) -> Schedule | None:
    return db.session.get(Schedule, schedule_id, with_for_update=True, populate_existing=True)


def _waiting(schedule_id: int):
    return select(WaitlistEntry).where(WaitlistEntry.schedule_id == schedule_id,
                                       WaitlistEntry.status == "waiting")


def _first_waiting(schedule_id: int) -> WaitlistEntry | None:
    return db.session.scalar(
        _waiting(schedule_id).order_by(WaitlistEntry.priority.desc(), WaitlistEntry.id)
        .limit(1).with_for_update().execution_options(populate_existing=True))


# ------------------------------------------------------------------------------- joining

@retry_deadlock
def join(actor, *, schedule_id: int, patient_id: int, now: datetime | None = None,
         client=None) -> WaitlistEntry:
    """Wait for a slot of a sold-out schedule. The checks of a booking (the caller's living
    patient, real name, no no-show block, an open, released, not closed schedule, no active
    booking of it, the per-day cap), then: sold out in the database (409
    waitlist_schedule_has_seats otherwise), not already waiting, under the caps of each scope
    (app/booking_limits; `client`: where the request came from)."""
    try:
        return _join(actor, schedule_id, patient_id, now or rules.now_local(), client)
    except AppError:
        db.session.rollback()
        raise


def _join(actor, schedule_id, patient_id, now, client) -> WaitlistEntry:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.user_id != actor.id or not patient.alive:
        raise PatientNotFound()
    if actor.real_name_status != "verified":
        raise booking.RealNameRequired()
    config = booking_rules()
    block = booking.no_show_block(actor.id, now.date(), config)
    if block:
        until, count = block
        raise booking.BookingBlocked(
            f"您近{config['no_show_window_days']}天内爽约{count}次,暂停预约至{until.isoformat()}",
            details={"blocked_until": until.isoformat(), "no_shows": count})
    # the caps of each scope (account, ID number, device, address) first: their rows come
    # before the schedule's, as in a booking
    booking_limits.enforce_waitlist_caps(actor.id, patient.id_number_index, client)
    # the schedule row is the queue's lock: a join and a slot's return never cross
    schedule = _lock_schedule(schedule_id)
    hospital = db.session.get(Hospital, schedule.hospital_id) if schedule else None
    if schedule is None or not hospital.is_active:
        raise ScheduleNotFound()
    if schedule.status != "open":
        raise ScheduleStopped()
    state = rules.window_state(hospital, schedule.work_date, now)
    if state == "not_released":
        raise booking.NotReleased()
    if state == "closed":
        raise booking.BookingClosed()
    if schedule.available > 0:
        raise ScheduleHasSeats(details={"available": schedule.available})
    active = select(func.count()).select_from(Registration).where(
        Registration.patient_id == patient.id, Registration.active.is_(True))
    if db.session.scalar(active.where(Registration.schedule_id == schedule.id)):
        raise booking.AlreadyBooked()
    limit = config["daily_limit"]
    if db.session.scalar(active.where(Registration.visit_date == schedule.work_date)) >= limit:
        raise booking.DailyLimitReached(f"该就诊人同一天最多预约 {limit} 个号",
                                        details={"limit": limit})
    if db.session.scalar(select(WaitlistEntry.id).where(
            WaitlistEntry.patient_id == patient.id, WaitlistEntry.schedule_id == schedule.id,
            WaitlistEntry.active.is_(True))):
        raise AlreadyWaiting()
    entry = WaitlistEntry(user_id=actor.id, patient_id=patient.id, schedule_id=schedule.id,
                          priority=_priority(actor), status="waiting", active=True,
                          device_index=client.device if client else None,
                          ip_index=client.ip if client else None)
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError:
        raise AlreadyWaiting() from None
    db.session.commit()
    log.info("waitlist entry %s joined schedule %s", entry.id, schedule_id)
    return with_positions([entry])[0]


# ----------------------------------------------------------------- a slot comes back

def hand_over_slot(registration: Registration) -> bool:
    """Inside the transaction that frees `registration`'s slot, its schedule locked (called by
    booking.services.release_slot). A hold that ended unpaid or cancelled lapses; then the slot
    becomes a hold for the first waiter who can take it. True when a waiter took it (the slot
    must then not be given back to the public), False when nobody did."""
    now = utcnow()
    ended = db.session.scalar(select(WaitlistEntry).where(
        WaitlistEntry.registration_id == registration.id).with_for_update()
        .execution_options(populate_existing=True))
    if ended is not None and ended.status == "offered":
        ended.lapse(now, "unpaid" if registration.status == "closed" else registration.status)
    return _offer_next(db.session.get(Schedule, registration.schedule_id), now) is not None


def offer_free_seats(schedule_id: int) -> int:
    """Inside the caller's transaction: seats free in the database (added capacity) go to
    waiters first, one hold per seat, taken with the same conditional update as a booking. The
    caller commits (and rebuilds the gate from the database after). How many holds were made."""
    schedule = _lock_schedule(schedule_id)
    if schedule is None:
        return 0
    now, made = utcnow(), 0
    while db.session.scalar(_waiting(schedule_id).with_only_columns(WaitlistEntry.id).limit(1)):
        if not take_in_database(schedule_id):
            break
        if _offer_next(schedule, now) is None:
            give_back_in_database(schedule_id)
            break
        made += 1
    if made:
        log.info("schedule %s: %s added seats went to waiters", schedule_id, made)
    return made


def _offer_next(schedule: Schedule, now: datetime) -> WaitlistEntry | None:
    """The first waiter who can still take a slot gets a hold on this one (schedule locked)."""
    hospital = schedule.hospital
    if schedule.status != "open" or not hospital.is_active:
        return None
    local_now = rules.now_local()
    if rules.window_state(hospital, schedule.work_date, local_now) != "open":
        return None  # booking for the day has stopped: the sweep ends the waits
    deadline = min(now + timedelta(seconds=current_app.config["WAITLIST_HOLD_SECONDS"]),
                   _utc(rules.stop_at(hospital, schedule.work_date)))
    config = booking_rules()
    while (entry := _first_waiting(schedule.id)) is not None:
        patient = db.session.get(Patient, entry.patient_id)  # read, never locked here
        reason = _cannot_take(entry, patient, schedule, config)
        if reason:
            _end(entry, now, reason, patient.name if patient is not None else "")
            continue
        registration = Registration(
            order_no=booking._order_no(), user_id=entry.user_id, patient_id=patient.id,
            schedule_id=schedule.id, hospital_id=schedule.hospital_id,
            department_id=schedule.department_id, doctor_id=schedule.doctor_id,
            visit_date=schedule.work_date, period=schedule.period, fee_fen=schedule.fee_fen,
            patient_name=patient.name, status="pending_payment", active=True)
        db.session.add(registration)
        db.session.flush()
        entry.offer(registration.id, deadline, now)
        notify(entry.user_id, "waitlist_offered", "候补成功,请尽快支付",
               f"{_summary(entry, patient.name)}已为您保留号源,请在{_local(deadline)}前完成支付,"
               "逾期未付号源将转给下一位候补者。", "registration", registration.id,
               context={**_context(entry, "待支付"), "order_no": registration.order_no})
        from app.tasks.waitlist import expire_waitlist_hold
        jobs.enqueue_after_commit(db.session, expire_waitlist_hold, entry.id,
                                  delay_seconds=(deadline - now).total_seconds() + 2,
                                  job_id=f"waitlist-hold-{entry.id}")
        log.info("schedule %s: slot held for waitlist entry %s (registration %s)",
                 schedule.id, entry.id, registration.id)
        return entry
    return None


def _cannot_take(entry, patient, schedule, config) -> str | None:
    """Why this waiter can no longer take a slot (the wait then ends), or None."""
    from app.users.models import User

    if patient is None or not patient.alive or patient.user_id != entry.user_id:
        return "patient_removed"
    user = db.session.get(User, entry.user_id)
    if user is None or user.status != "active":
        return "account_inactive"
    active = select(func.count()).select_from(Registration).where(
        Registration.patient_id == patient.id, Registration.active.is_(True))
    if db.session.scalar(active.where(Registration.schedule_id == schedule.id)):
        return "already_booked"
    if db.session.scalar(active.where(Registration.visit_date == schedule.work_date)) \
            >= config["daily_limit"]:
        return "daily_limit"
    return None


_END_TEXT = {"booking_closed": "该日预约已截止,候补结束。", "stopped": "医生停诊,候补结束。",
             "patient_removed": "就诊人已删除,候补结束。", "account_inactive": "账号不可用,候补结束。",
             "already_booked": "该就诊人已预约此号源,候补结束。",
             "daily_limit": "该就诊人当日预约数已达上限,候补结束。"}


def _end(entry: WaitlistEntry, now: datetime, reason: str, patient_name: str | None = None):
    """A waiting entry ends without a slot (the schedule locked), and its user is told."""
    entry.expire(now, reason)
    name = patient_name if patient_name is not None else _patient_name(entry)
    notify(entry.user_id, "waitlist_ended", "候补已结束",
           f"{_summary(entry, name)}{_END_TEXT.get(reason, '候补结束。')}", "waitlist_entry",
           entry.id, context={**_context(entry, "候补结束"), "reason": _END_TEXT.get(reason)})


# ------------------------------------------------------------ the hold's payment hooks

def hold_deadline(registration_id: int) -> datetime | None:
    """The pay deadline of a hold (naive UTC), None for an ordinary registration."""
    return db.session.scalar(select(WaitlistEntry.hold_expires_at).where(
        WaitlistEntry.registration_id == registration_id, WaitlistEntry.status == "offered"))


def hold_paid(registration: Registration):
    """Inside the payment's transaction (schedule, registration, payment locked): a paid hold
    makes its entry booked."""
    entry = db.session.scalar(select(WaitlistEntry).where(
        WaitlistEntry.registration_id == registration.id).with_for_update()
        .execution_options(populate_existing=True))
    if entry is not None and entry.status == "offered":
        entry.mark_booked(utcnow())


def schedule_stopped(schedule: Schedule):
    """Inside 停诊's transaction (schedule locked; the holds' registrations already closed):
    holds lapse, waits end and their users are told."""
    now = utcnow()
    entries = db.session.scalars(select(WaitlistEntry).where(
        WaitlistEntry.schedule_id == schedule.id, WaitlistEntry.active.is_(True))
        .order_by(WaitlistEntry.id).with_for_update()
        .execution_options(populate_existing=True)).all()
    for entry in entries:
        if entry.status == "offered":
            entry.lapse(now, "stopped")
        else:
            _end(entry, now, "stopped")


# ----------------------------------------------------------------------- leaving, reading

@retry_deadlock
def leave(actor, *, entry_id: int) -> WaitlistEntry:
    """Leave a wait (only while waiting: a hold is given up by cancelling its order)."""
    schedule_id = db.session.scalar(select(WaitlistEntry.schedule_id).where(
        WaitlistEntry.id == entry_id, WaitlistEntry.user_id == actor.id))
    if schedule_id is None:
        db.session.rollback()
        raise WaitlistEntryNotFound()
    _lock_schedule(schedule_id)
    entry = db.session.get(WaitlistEntry, entry_id, with_for_update=True, populate_existing=True)
    if entry.status != "waiting":
        db.session.rollback()
        raise NotWaiting(details={"status": entry.status})
    entry.leave(utcnow())
    db.session.commit()
    log.info("waitlist entry %s left", entry_id)
    return with_positions([entry])[0]


_POSITION = "_position"


def position_of(entry: WaitlistEntry) -> int | None:
    return vars(entry).get(_POSITION)


def with_positions(entries: list) -> list:
    """Each waiting entry's 1-based place among its schedule's waiters (None otherwise), kept
    on the instance for the schema."""
    for entry in entries:
        position = None
        if entry.status == "waiting":
            ahead = db.session.scalar(select(func.count()).select_from(WaitlistEntry).where(
                WaitlistEntry.schedule_id == entry.schedule_id,
                WaitlistEntry.status == "waiting",
                or_(WaitlistEntry.priority > entry.priority,
                    and_(WaitlistEntry.priority == entry.priority,
                         WaitlistEntry.id < entry.id))))
            position = ahead + 1
        vars(entry)[_POSITION] = position
    return entries


def list_entries(actor, *, statuses: list[str] | None = None, page: int = 1,
                 page_size: int = 20) -> dict:
    """The caller's waits, newest first, with their place in the queue."""
    statement = select(WaitlistEntry).where(WaitlistEntry.user_id == actor.id)
    if statuses:
        statement = statement.where(WaitlistEntry.status.in_(statuses))
    result = paginate(statement.order_by(WaitlistEntry.id.desc()), page, page_size)
    with_positions(result["items"])
    return result


def schedule_waitlist(actor, *, schedule_id: int, statuses: list[str] | None = None,
                      page: int = 1, page_size: int = 20) -> dict:
    """Staff (operator): a schedule's waitlist in queue order, patient names masked."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    if db.session.get(Schedule, schedule_id) is None:
        raise ScheduleNotFound()
    statement = select(WaitlistEntry).where(WaitlistEntry.schedule_id == schedule_id)
    if statuses:
        statement = statement.where(WaitlistEntry.status.in_(statuses))
    statement = statement.order_by(WaitlistEntry.priority.desc(), WaitlistEntry.id)
    result = paginate(statement, page, page_size)
    with_positions(result["items"])
    names = dict(db.session.execute(select(Patient.id, Patient.name).where(
        Patient.id.in_({entry.patient_id for entry in result["items"]}))).all()) \
        if result["items"] else {}
    for entry in result["items"]:
        vars(entry)["_masked_name"] = mask_name(names.get(entry.patient_id) or "")
    return result


# ------------------------------------------------------------------------- jobs, sweep

def expire_hold(entry_id: int) -> str:
    """Job-level: a hold past its deadline is closed as an unpaid order would be (which hands
    the slot to the next waiter). Idempotent: "noop" when the hold is no longer open."""
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.status != "offered":
        db.session.rollback()
        return "noop"
    if entry.hold_expires_at > utcnow():
        db.session.rollback()
        return "not_due"
    registration_id = entry.registration_id
    db.session.rollback()
    outcome = booking.close_registration(registration_id)
    if outcome == "noop":
        _settle_hold(entry_id)
    return outcome


@retry_deadlock
def _settle_hold(entry_id: int):
    """A hold whose order is no longer pending (moved without our hooks): its entry follows."""
    schedule_id = db.session.scalar(select(WaitlistEntry.schedule_id).where(
        WaitlistEntry.id == entry_id))
    _lock_schedule(schedule_id)
    entry = db.session.get(WaitlistEntry, entry_id, with_for_update=True, populate_existing=True)
    registration = db.session.get(Registration, entry.registration_id, populate_existing=True)
    if entry.status == "offered" and registration.status != "pending_payment":
        if registration.paid_at is not None:
            entry.mark_booked(registration.paid_at)
        else:
            entry.lapse(utcnow(), "unpaid" if registration.status == "closed"
                        else registration.status)
    db.session.commit()


@retry_deadlock
def end_waits(schedule_id: int, reason: str) -> int:
    """The schedule's remaining waits end (booking for its day closed, or it stopped)."""
    schedule = _lock_schedule(schedule_id)
    entries = db.session.scalars(_waiting(schedule_id).order_by(WaitlistEntry.id)
                                 .with_for_update()
                                 .execution_options(populate_existing=True)).all() \
        if schedule is not None else []
    now = utcnow()
    for entry in entries:
        _end(entry, now, reason)
    db.session.commit()
    return len(entries)


@retry_deadlock
def _offer_free_seats_now(schedule_id: int) -> int:
    made = offer_free_seats(schedule_id)
    db.session.commit()
    return made


def sweep(now: datetime | None = None, grace_seconds: int = 5) -> dict:
    """Every minute (cron): holds past their deadline whose job was lost are closed, waits on
    schedules whose booking closed (or that stopped) end, and a schedule with free seats and
    waiters (a raise that skipped the waitlist) offers them. Idempotent."""
    now = now or rules.now_local()
    now_utc = _utc(now)
    due = db.session.scalars(select(WaitlistEntry.id).where(
        WaitlistEntry.status == "offered",
        WaitlistEntry.hold_expires_at < now_utc - timedelta(seconds=grace_seconds))
        .order_by(WaitlistEntry.id).limit(500)).all()
    rows = db.session.execute(
        select(Schedule.id, Schedule.status, Schedule.available, Schedule.work_date, Hospital)
        .join(Hospital, Hospital.id == Schedule.hospital_id)
        .where(Schedule.id.in_(select(WaitlistEntry.schedule_id)
                               .where(WaitlistEntry.status == "waiting")))).all()
    work = []  # (schedule id, what to do), decided before this read transaction ends
    for schedule_id, status, available, work_date, hospital in rows:
        if status != "open" or not hospital.is_active:
            work.append((schedule_id, "stopped"))
        elif rules.window_state(hospital, work_date, now) == "closed":
            work.append((schedule_id, "booking_closed"))
        elif available > 0:
            work.append((schedule_id, "offer"))
    db.session.rollback()
    result = {"holds_closed": 0, "waits_ended": 0, "seats_offered": 0}
    for entry_id in due:
        if expire_hold(entry_id) == "closed":
            result["holds_closed"] += 1
    for schedule_id, action in work:
        if action == "offer":
            result["seats_offered"] += _offer_free_seats_now(schedule_id)
        else:
            result["waits_ended"] += end_waits(schedule_id, action)
    return result
