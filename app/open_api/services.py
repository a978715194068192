"""What a hospital's own system does through the open API, always as that hospital (`caller`,
from the signature check) and only to its own rows.

Batches are all or nothing: every item is checked first (per-item errors come back together,
422 `batch_rejected`, details {"items": {"<index>": {field: [message]}}}) and nothing is written
unless every item passes. Items are identified by the hospital's own ids (see models.py), so
sending the same batch twice changes nothing the second time ("unchanged").

停诊 and visits reuse the booking services staff use (app/booking/services.py). Those services
take an actor and require the operator role; `HospitalSystem` is that actor, built only after
this module checked that the schedule or registration belongs to the calling hospital.
"""
import base64
import binascii
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.booking import services as booking_services
from app.booking.models import Registration
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_name
from app.common.time import local_today, utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.hospitals import cache as catalogue_cache
from app.hospitals.models import Department, Doctor, Schedule
from app.open_api.models import ExternalId

log = logging.getLogger("app.open_api")

DEFAULT_PERIOD_TIMES = None  # filled lazily from app.hospitals.services (one source of truth)


class BatchRejected(ValidationFailed):
    code = "batch_rejected"
    message = "批量数据有误,未做任何修改"


class BatchTooLarge(ValidationFailed):
    code = "batch_too_large"
    message = "单次最多提交 {limit} 项"


class BatchConflict(Conflict):
    code = "batch_conflict"
    message = "数据正被同时修改,未做任何修改,请重试"


class OpenScheduleNotFound(NotFound):
    code = "schedule_not_found"
    message = "排班不存在"


class OpenRegistrationNotFound(NotFound):
    code = "registration_not_found"
    message = "挂号订单不存在"


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"
    message = "cursor 无效"


@dataclass(frozen=True)
class HospitalSystem:
    """The calling hospital's system as the actor of shared booking services (see above)."""
    hospital_id: int
    key_id: str
    id = None
    is_active = True

    @staticmethod
    def has_role(role: str) -> bool:
        return role == "operator"


class _Errors:
    def __init__(self):
        self.by_index: dict[str, dict[str, list[str]]] = {}

    def add(self, index: int, field: str, message: str):
        self.by_index.setdefault(str(index), {}).setdefault(field, []).append(message)

    def raise_if_any(self):
        if self.by_index:
            db.session.rollback()
            raise BatchRejected(details={"items": self.by_index})


def _check_size(items: list):
    limit = current_app.config["OPEN_API_BATCH_MAX"]
    if len(items) > limit:
        raise BatchTooLarge(BatchTooLarge.message.format(limit=limit),
                            details={"items": [f"最多 {limit} 项"]})


def _duplicates(items: list, errors: _Errors):
    seen = set()
    for index, item in enumerate(items):
        if item["external_id"] in seen:
            errors.add(index, "external_id", "同一批次中编号重复")
        seen.add(item["external_id"])


def _translate(hospital_id: int, kind: str, ids, source, target) -> dict:
    ids = list({i for i in ids if i is not None})
    if not ids:
        return {}
    return dict(db.session.execute(select(source, target).where(
        ExternalId.hospital_id == hospital_id, ExternalId.kind == kind, source.in_(ids))).all())


def _mapped(hospital_id: int, kind: str, external_ids) -> dict[str, int]:
    """The hospital's ids → our row ids, for those it has."""
    return _translate(hospital_id, kind, external_ids, ExternalId.external_id,
                      ExternalId.internal_id)


def _external(hospital_id: int, kind: str, internal_ids) -> dict[int, str]:
    """Our row ids → the hospital's ids (rows staff made have none)."""
    return _translate(hospital_id, kind, internal_ids, ExternalId.internal_id,
                      ExternalId.external_id)


def _commit():
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise BatchConflict() from None


def _result(outcomes: list[tuple[str, str]]) -> dict:
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for _, outcome in outcomes:
        counts[outcome] += 1
    return {**counts, "items": [{"external_id": ext, "result": outcome}
                                for ext, outcome in outcomes]}


# optional fields and their values for a new row; an item that leaves one out keeps what is
# stored (staff may have written a department's intro in the console), null clears it
DEPARTMENT_OPTIONAL = {"intro": None, "sort_order": 0}
DOCTOR_OPTIONAL = {"specialty": None, "intro": None, "avatar_url": None}


def _given(item: dict, optional: dict) -> dict:
    return {name: item[name] for name in optional if name in item}


def _assign(row, values: dict) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


# ---- departments -----------------------------------------------------------------------------

def upsert_departments(caller, *, items: list[dict]) -> dict:
    """Top-level departments (no parent_external_id) and second-level ones under a top-level
    one, which may be in the same batch. The hospital's id is also the department's code."""
    _check_size(items)
    hospital_id = caller.hospital_id
    errors = _Errors()
    _duplicates(items, errors)
    ids = {item["external_id"] for item in items}
    mapped = _mapped(hospital_id, "department", ids | {i["parent_external_id"] for i in items
                                                        if i["parent_external_id"]})
    rows = {d.id: d for d in db.session.scalars(select(Department).where(
        Department.id.in_(list(mapped.values())))).all()} if mapped else {}
    batch_top = {item["external_id"] for item in items if item["parent_external_id"] is None}
    with_children = set(db.session.scalars(select(Department.parent_id).where(
        Department.parent_id.in_(list(mapped.values())))).all()) if mapped else set()
    new_codes = [item["external_id"].lower() for item in items if item["external_id"] not in mapped]
    taken = set(db.session.scalars(select(func.lower(Department.code)).where(
        Department.hospital_id == hospital_id,
        func.lower(Department.code).in_(new_codes))).all()) if new_codes else set()
    for index, item in enumerate(items):
        parent = item["parent_external_id"]
        if item["external_id"] not in mapped and item["external_id"].lower() in taken:
            errors.add(index, "external_id", "该编号已被平台创建的科室使用")
        if parent is None:
            continue
        if parent == item["external_id"]:
            errors.add(index, "parent_external_id", "上级科室不能是自己")
        elif parent in batch_top:
            pass
        elif parent in mapped and rows[mapped[parent]].parent_id is None and not any(
                i["external_id"] == parent and i["parent_external_id"] for i in items):
            pass
        else:
            errors.add(index, "parent_external_id", "上级科室不存在或不是一级科室")
        if item["external_id"] in mapped and mapped[item["external_id"]] in with_children:
            errors.add(index, "parent_external_id", "该科室下还有二级科室,不能再作为二级科室")
    errors.raise_if_any()

    outcomes = {}
    # parents first, so children can point at them
    for index, item in sorted(enumerate(items),
                              key=lambda pair: pair[1]["parent_external_id"] is not None):
        parent_id = mapped[item["parent_external_id"]] if item["parent_external_id"] else None
        values = {"name": item["name"], "parent_id": parent_id,
                  **_given(item, DEPARTMENT_OPTIONAL)}
        if item["external_id"] in mapped:
            changed = _assign(rows[mapped[item["external_id"]]], values)
            outcomes[index] = (item["external_id"], "updated" if changed else "unchanged")
        else:
            department = Department(hospital_id=hospital_id, code=item["external_id"],
                                    **{**DEPARTMENT_OPTIONAL, **values})
            db.session.add(department)
            db.session.flush()
            db.session.add(ExternalId(hospital_id=hospital_id, kind="department",
                                      external_id=item["external_id"], internal_id=department.id))
            mapped[item["external_id"]] = department.id
            outcomes[index] = (item["external_id"], "created")
    _commit()
    catalogue_cache.invalidate_catalogue()
    return _result([outcomes[i] for i in range(len(items))])


# ---- doctors ---------------------------------------------------------------------------------

def upsert_doctors(caller, *, items: list[dict]) -> dict:
    _check_size(items)
    hospital_id = caller.hospital_id
    errors = _Errors()
    _duplicates(items, errors)
    departments = _mapped(hospital_id, "department",
                          (item["department_external_id"] for item in items))
    mapped = _mapped(hospital_id, "doctor", (item["external_id"] for item in items))
    rows = {d.id: d for d in db.session.scalars(select(Doctor).where(
        Doctor.id.in_(list(mapped.values())))).all()} if mapped else {}
    for index, item in enumerate(items):
        if item["department_external_id"] not in departments:
            errors.add(index, "department_external_id", "科室不存在")
    errors.raise_if_any()
    outcomes = []
    for item in items:
        values = {"department_id": departments[item["department_external_id"]],
                  "name": item["name"], "title": item["title"],
                  **_given(item, DOCTOR_OPTIONAL)}
        if item["external_id"] in mapped:
            changed = _assign(rows[mapped[item["external_id"]]], values)
            outcomes.append((item["external_id"], "updated" if changed else "unchanged"))
        else:
            doctor = Doctor(hospital_id=hospital_id, **{**DOCTOR_OPTIONAL, **values})
            db.session.add(doctor)
            db.session.flush()
            db.session.add(ExternalId(hospital_id=hospital_id, kind="doctor",
                                      external_id=item["external_id"], internal_id=doctor.id))
            outcomes.append((item["external_id"], "created"))
    _commit()
    catalogue_cache.invalidate_catalogue()
    return _result(outcomes)


# ---- schedules -------------------------------------------------------------------------------

def _period_times():
    global DEFAULT_PERIOD_TIMES
    if DEFAULT_PERIOD_TIMES is None:
        from app.hospitals.services import DEFAULT_PERIOD_TIMES as defaults
        DEFAULT_PERIOD_TIMES = defaults
    return DEFAULT_PERIOD_TIMES


def _clash(a: dict, b: dict) -> bool:
    return (a["doctor_id"] == b["doctor_id"] and a["work_date"] == b["work_date"]
            and (a["period"] == b["period"]
                 or (a["start_time"] < b["end_time"] and b["start_time"] < a["end_time"])))


_PLACE = ("doctor_id", "department_id", "work_date", "period", "start_time", "end_time")


@retry_deadlock
def upsert_schedules(caller, *, items: list[dict]) -> dict:
    """Create or change clinics. Refused (per item, nothing written): a date in the past, a
    clinic overlapping another of the same doctor (the same period, or times that intersect:
    in the batch or already stored), a total below what is already booked, moving a clinic
    (doctor, date, period, times) that has bookings, changing a stopped one. A clinic sent
    again unchanged is "unchanged", whatever its date. Existing clinics change through one
    conditional UPDATE each (total never below booked, a move only while nothing is booked),
    so a booking landing meanwhile is never lost: the batch is then refused as a conflict."""
    _check_size(items)
    hospital_id = caller.hospital_id
    errors = _Errors()
    _duplicates(items, errors)
    doctors_ext = _mapped(hospital_id, "doctor", (item["doctor_external_id"] for item in items))
    doctors = {d.id: d for d in db.session.scalars(select(Doctor).where(
        Doctor.id.in_(list(doctors_ext.values())))).all()} if doctors_ext else {}
    mapped = _mapped(hospital_id, "schedule", (item["external_id"] for item in items))
    rows = {s.id: s for s in db.session.scalars(select(Schedule).where(
        Schedule.id.in_(list(mapped.values())))).all()} if mapped else {}
    today = local_today()
    times = _period_times()

    plans = []  # (index, item, existing row or None, final values, changed)
    for index, item in enumerate(items):
        if item["doctor_external_id"] not in doctors_ext:
            errors.add(index, "doctor_external_id", "医生不存在")
            continue
        doctor = doctors[doctors_ext[item["doctor_external_id"]]]
        default_start, default_end = times[item["period"]]
        final = {"doctor_id": doctor.id, "department_id": doctor.department_id,
                 "work_date": item["work_date"], "period": item["period"],
                 "start_time": item["start_time"] or default_start,
                 "end_time": item["end_time"] or default_end,
                 "total": item["total"], "fee_fen": item["fee_fen"]}
        if final["start_time"] >= final["end_time"]:
            errors.add(index, "end_time", "结束时间应晚于开始时间")
        row = rows.get(mapped.get(item["external_id"]))
        if row is not None:
            if row.doctor_id == doctor.id:
                final["department_id"] = row.department_id  # a moved doctor's clinics stay
            changed = any(getattr(row, name) != value for name, value in final.items())
            if changed:
                booked = row.total - row.available
                if row.status != "open":
                    errors.add(index, "external_id", "该排班已停诊,不能修改")
                elif row.work_date < today:
                    errors.add(index, "work_date", "过去的排班不能修改")
                if final["work_date"] < today and final["work_date"] != row.work_date:
                    errors.add(index, "work_date", "不能为过去的日期排班")
                if final["total"] < booked:
                    errors.add(index, "total", f"号源总数不能少于已预约的 {booked} 个")
                if booked and any(getattr(row, name) != final[name] for name in _PLACE):
                    errors.add(index, "work_date", "已有预约的排班不能更改医生、日期、时段或时间")
        else:
            changed = True
            if final["work_date"] < today:
                errors.add(index, "work_date", "不能为过去的日期排班")
        plans.append((index, item, row, final, changed))

    # overlaps: within the batch, and with stored clinics the batch does not also redefine
    redefined = {row.id for _, _, row, _, _ in plans if row is not None}
    doctor_ids = {final["doctor_id"] for _, _, _, final, _ in plans}
    dates = {final["work_date"] for _, _, _, final, _ in plans}
    stored = db.session.scalars(select(Schedule).where(
        Schedule.doctor_id.in_(list(doctor_ids)), Schedule.work_date.in_(list(dates)))).all() \
        if plans else []
    stored_ext = _external(hospital_id, "schedule", (s.id for s in stored))
    by_day: dict = {}
    for plan in plans:
        by_day.setdefault((plan[3]["doctor_id"], plan[3]["work_date"]), []).append(plan)
    for (doctor_id, work_date), day_plans in by_day.items():
        for position, (index, item, _, final, changed) in enumerate(day_plans):
            for other_index, other_item, _, other, _ in day_plans[:position]:
                if _clash(final, other):
                    errors.add(index, "period", f"与同批次的排班 {other_item['external_id']} 时间重叠")
            for schedule in stored:
                if schedule.id in redefined or schedule.doctor_id != doctor_id \
                        or schedule.work_date != work_date:
                    continue
                if _clash(final, {c: getattr(schedule, c) for c in _PLACE}):
                    name = stored_ext.get(schedule.id) or f"平台排班#{schedule.id}"
                    errors.add(index, "period", f"与已有排班 {name} 时间重叠")
    errors.raise_if_any()

    outcomes, touched, rebuild = [], set(), []
    for index, item, row, final, changed in plans:
        if row is None:
            schedule = Schedule(hospital_id=hospital_id, available=final["total"],
                                numbers_issued=0, status="open", **final)
            db.session.add(schedule)
            db.session.flush()
            db.session.add(ExternalId(hospital_id=hospital_id, kind="schedule",
                                      external_id=item["external_id"], internal_id=schedule.id))
            touched.add((final["department_id"], final["work_date"]))
            outcomes.append((item["external_id"], "created"))
            continue
        if not changed:
            outcomes.append((item["external_id"], "unchanged"))
            continue
        moving = any(getattr(row, name) != final[name] for name in _PLACE)
        conditions = [Schedule.id == row.id, Schedule.status == "open",
                      Schedule.total - Schedule.available <= final["total"]]
        if moving:
            conditions.append(Schedule.available == Schedule.total)
        touched.update({(row.department_id, row.work_date),
                        (final["department_id"], final["work_date"])})
        # available first: MySQL evaluates SET left to right with the new values
        result = db.session.execute(
            update(Schedule).where(*conditions).ordered_values(
                (Schedule.available, Schedule.available + (final["total"] - Schedule.total)),
                (Schedule.total, final["total"]),
                *((getattr(Schedule, name), final[name]) for name in _PLACE + ("fee_fen",)),
                (Schedule.updated_at, utcnow()))
            .execution_options(synchronize_session=False))
        if result.rowcount != 1:
            db.session.rollback()
            raise BatchConflict("排班刚刚有新的预约或已停诊,未做任何修改,请重试",
                                details={"items": {str(index): {"external_id": ["排班已被同时修改"]}}})
        if row.total != final["total"]:
            rebuild.append(row.id)
            if final["total"] > row.total:  # added seats go to waiters first (app/waitlist)
                from app.waitlist.services import offer_free_seats
                offer_free_seats(row.id)
        outcomes.append((item["external_id"], "updated"))
    _commit()
    for department_id, work_date in touched:
        catalogue_cache.invalidate_counts(department_id, work_date)
    if rebuild:
        from app.booking.slots import gate
        for schedule_id in rebuild:
            gate.rebuild(schedule_id, overwrite=True)
        db.session.rollback()  # end the read transaction gate.rebuild opened
    log.info("hospital %s upserted %s schedules", hospital_id, len(items))
    return _result(outcomes)


# ---- 停诊 and visits -------------------------------------------------------------------------

def stop_schedule(caller, *, external_id: str, reason: str) -> dict:
    """The staff 停诊 flow (refunds, closes, notices) for one of the caller's clinics. Stopping
    a stopped clinic again answers its state (a retried request is harmless)."""
    schedule_id = _mapped(caller.hospital_id, "schedule", [external_id]).get(external_id)
    schedule = db.session.get(Schedule, schedule_id) if schedule_id else None
    if schedule is None or schedule.hospital_id != caller.hospital_id:
        db.session.rollback()
        raise OpenScheduleNotFound()
    if schedule.status == "stopped":
        db.session.rollback()
        return {"external_id": external_id, "status": "stopped", "stopped": 0, "closed": 0}
    db.session.rollback()
    result = booking_services.stop_schedule(HospitalSystem(caller.hospital_id, caller.key_id),
                                            schedule_id=schedule_id, reason=reason)
    return {"external_id": external_id, "status": "stopped", "stopped": result["stopped"],
            "closed": result["closed"]}


def mark_visited(caller, *, order_no: str) -> dict:
    """The staff visit mark for one of the caller's registrations; marking a visited one again
    answers its state."""
    registration = db.session.scalar(select(Registration).where(
        Registration.order_no == order_no, Registration.hospital_id == caller.hospital_id))
    if registration is None:
        db.session.rollback()
        raise OpenRegistrationNotFound()
    if registration.status != "visited":
        registration_id = registration.id
        db.session.rollback()
        registration = booking_services.mark_visited(
            HospitalSystem(caller.hospital_id, caller.key_id), registration_id=registration_id)
    return {"order_no": registration.order_no, "status": registration.status,
            "visited_at": registration.visited_at}


# ---- registrations changed since a cursor ----------------------------------------------------

def _encode_cursor(updated_at: datetime, registration_id: int) -> str:
    micros = int((updated_at - datetime(1970, 1, 1)) / timedelta(microseconds=1))
    return base64.urlsafe_b64encode(f"1:{micros}:{registration_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
        version, micros, registration_id = raw.split(":")
        if version != "1":
            raise ValueError
        micros, registration_id = int(micros), int(registration_id)
        if not (0 <= micros < 2**62 and 0 <= registration_id < 2**63):
            raise ValueError
        return datetime(1970, 1, 1) + timedelta(microseconds=micros), registration_id
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
        raise InvalidCursor(details={"cursor": ["cursor 无效,请使用上次返回的 next_cursor"]}) \
            from None


def registration_changes(caller, *, cursor: str | None, limit: int) -> dict:
    """The caller's registrations by (updated_at, id), oldest first, after the cursor. The feed
    stops OPEN_API_CHANGES_LAG_SECONDS behind now: a transaction that started earlier but
    commits later carries an older updated_at, and must not land behind a cursor already given
    out. MariaDB keeps updated_at to the second (truncated), which only shortens that margin
    by under a second; rows sharing a second are ordered by id, as the cursor is."""
    statement = select(Registration).where(Registration.hospital_id == caller.hospital_id)
    if cursor:
        after, after_id = _decode_cursor(cursor)
        statement = statement.where(or_(Registration.updated_at > after,
                                        and_(Registration.updated_at == after,
                                             Registration.id > after_id)))
    lag = current_app.config["OPEN_API_CHANGES_LAG_SECONDS"]
    statement = statement.where(Registration.updated_at <= utcnow() - timedelta(seconds=lag))
    rows = db.session.scalars(statement.order_by(Registration.updated_at, Registration.id)
                              .limit(limit + 1)).all()
    has_more, rows = len(rows) > limit, rows[:limit]
    schedules = _external(caller.hospital_id, "schedule", (r.schedule_id for r in rows))
    doctors = _external(caller.hospital_id, "doctor", (r.doctor_id for r in rows))
    departments = _external(caller.hospital_id, "department", (r.department_id for r in rows))
    items = [{"order_no": r.order_no, "status": r.status,
              "schedule_external_id": schedules.get(r.schedule_id),
              "doctor_external_id": doctors.get(r.doctor_id),
              "department_external_id": departments.get(r.department_id),
              "visit_date": r.visit_date,
              "period": r.period, "visit_number": r.visit_number, "fee_fen": r.fee_fen,
              "patient_name": mask_name(r.patient_name), "updated_at": r.updated_at}
             for r in rows]
    next_cursor = _encode_cursor(rows[-1].updated_at, rows[-1].id) if rows else (cursor or "")
    db.session.rollback()
    return {"items": items, "next_cursor": next_cursor, "has_more": has_more}
