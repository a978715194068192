"""The hospital catalogue: public browsing (hospitals, departments, calendars, day schedules,
doctors) and the staff actions that maintain it.

Public reads answer plain JSON-ready dicts because they pass through the Redis cache (see
cache.py): the catalogue for up to a minute (dropped on every staff change), schedule counts for
at most HOT_READ_CACHE_SECONDS. Reads that depend on the clock take an optional `now` (an aware
datetime; naive means UTC, as stored) so tests can stand anywhere in a booking window.

Public reads are pure reads (nothing they return decides a write), so they go through
`reader()`: the read replica when one is configured (app/common/replica.py), else the primary.

Staff actions take the acting StaffUser (operator or admin), validate their input through the
write schemas (so a future staff view and a direct call get the same checks), commit once and
then drop the caches they affect.
"""
import logging
from datetime import date, datetime, time
from types import SimpleNamespace

from marshmallow import ValidationError
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from app.common.pagination import clamp_page_size, paginate
from app.common.replica import reader
from app.common.time import to_local
from app.common.validation import localize_messages
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.hospitals import cache, rules
from app.hospitals.models import (DOCTOR_TITLES, HOSPITAL_LEVELS, PERIODS, Department, Doctor,
                                  Hospital, Schedule)
from app.hospitals.schemas import (DepartmentCreateSchema, DoctorCreateSchema, DoctorUpdateSchema,
                                   HospitalCreateSchema, HospitalUpdateSchema,
                                   ScheduleCreateSchema, ScheduleTotalSchema)
from app.staff.models import StaffUser
from app.staff.services import require_role

log = logging.getLogger("app.hospitals")

WEEKDAYS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
CALENDAR_STATES = ("not_released", "open", "full", "stopped", "none", "closed")
DEFAULT_PERIOD_TIMES = {"morning": (time(8, 0), time(12, 0)),
                        "afternoon": (time(13, 30), time(17, 0)),
                        "evening": (time(18, 0), time(21, 0))}
_LEVEL_RANK = {level: rank for rank, level in enumerate(HOSPITAL_LEVELS)}
_PERIOD_RANK = {period: rank for rank, period in enumerate(PERIODS)}
_TITLE_RANK = {title: rank for rank, title in enumerate(DOCTOR_TITLES)}
_RULE_FIELDS = ("booking_days_ahead", "release_time", "stop_time", "cancel_days_before",
                "cancel_time")


class HospitalNotFound(NotFound):
    code = "hospital_not_found"
    message = "医院不存在"


class DepartmentNotFound(NotFound):
    code = "department_not_found"
    message = "科室不存在"


class DoctorNotFound(NotFound):
    code = "doctor_not_found"
    message = "医生不存在"


class ScheduleNotFound(NotFound):
    code = "schedule_not_found"
    message = "排班不存在"


class DateOutOfWindow(ValidationFailed):
    code = "date_out_of_window"
    message = "该日期不在可预约范围内"


class HospitalCodeTaken(Conflict):
    code = "hospital_code_taken"
    message = "医院编号已存在"


class DepartmentCodeTaken(Conflict):
    code = "department_code_taken"
    message = "该医院已有相同编号的科室"


class ScheduleExists(Conflict):
    code = "schedule_exists"
    message = "该医生在此日期和时段已有排班"


class ScheduleStopped(Conflict):
    code = "schedule_stopped"
    message = "该排班已停诊"


class ScheduleTotalBelowBooked(Conflict):
    code = "schedule_total_below_booked"
    message = "号源总数不能少于已预约的 {booked} 个"


_invalid = ValidationFailed.for_field


def _local_now(now: datetime | None) -> datetime:
    return rules.now_local() if now is None else to_local(now)


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _weekday(day: date) -> str:
    return WEEKDAYS[day.weekday()]


# ---- public: hospitals -----------------------------------------------------------------------

def region_column(region: str):
    """The column a 6-digit region code matches, from its trailing zeros."""
    if region.endswith("0000"):
        return Hospital.province_code
    if region.endswith("00"):
        return Hospital.city_code
    return Hospital.district_code


def list_hospitals(*, keyword: str | None = None, level: str | None = None,
                   region: str | None = None, page: int = 1, page_size: int = 20) -> dict:
    """Active hospitals, best level first, then by name."""
    keyword = (keyword or "").strip() or None
    page_size = clamp_page_size(page_size)  # before the cache key, so equal pages share it
    name = "hospitals:" + cache.catalogue_key_part(keyword, level, region, page, page_size)
    return cache.cached_catalogue(
        name, lambda: _list_hospitals(keyword, level, region, page, page_size))


def _list_hospitals(keyword, level, region, page, page_size) -> dict:
    statement = select(Hospital).where(Hospital.is_active.is_(True))
    if keyword:
        statement = statement.where(Hospital.name.contains(keyword, autoescape=True))
    if level:
        statement = statement.where(Hospital.level == level)
    if region:
        statement = statement.where(region_column(region) == region)
    rank = case(_LEVEL_RANK, value=Hospital.level, else_=len(_LEVEL_RANK))
    result = paginate(statement.order_by(rank, Hospital.name, Hospital.id), page, page_size,
                      session=reader())
    names = _region_names(result["items"])
    return {**result, "items": [_hospital_summary(h, names) for h in result["items"]]}


def _region_names(hospitals) -> dict[str, str]:
    """Region names come from the data dictionary (one query for a page of hospitals)."""
    from app.dictionary.services import region_names

    return region_names(code for h in hospitals
                        for code in (h.province_code, h.city_code, h.district_code))


def _hospital_summary(hospital: Hospital, names: dict | None = None) -> dict:
    names = _region_names([hospital]) if names is None else names
    return {"id": hospital.id, "code": hospital.code, "name": hospital.name,
            "level": hospital.level, "level_name": HOSPITAL_LEVELS.get(hospital.level),
            "province_code": hospital.province_code, "city_code": hospital.city_code,
            "district_code": hospital.district_code,
            "province_name": names.get(hospital.province_code),
            "city_name": names.get(hospital.city_code),
            "district_name": names.get(hospital.district_code), "address": hospital.address,
            "phone": hospital.phone}


def get_hospital(*, hospital_id: int) -> dict:
    """An active hospital with its booking rules and department tree."""
    return cache.cached_catalogue(f"hospital:{hospital_id}", lambda: _hospital_detail(hospital_id))


def _hospital_detail(hospital_id: int) -> dict:
    session = reader()
    hospital = session.get(Hospital, hospital_id)
    if hospital is None or not hospital.is_active:
        raise HospitalNotFound()
    departments = session.scalars(select(Department).where(
        Department.hospital_id == hospital.id).order_by(Department.sort_order, Department.id)).all()
    tops = [d for d in departments if d.parent_id is None]
    children = {}
    for department in departments:
        if department.parent_id is not None:
            children.setdefault(department.parent_id, []).append(_department_node(department))
    return {
        **_hospital_summary(hospital),
        "intro": hospital.intro, "notice": hospital.notice,
        "booking_rules": {
            "booking_days_ahead": hospital.booking_days_ahead,
            "release_time": _hhmm(hospital.release_time),
            "stop_time": _hhmm(hospital.stop_time),
            "cancel_days_before": hospital.cancel_days_before,
            "cancel_time": _hhmm(hospital.cancel_time),
        },
        "departments": [{**_department_node(top), "children": children.get(top.id, [])}
                        for top in tops],
    }


def _department_node(department: Department) -> dict:
    return {"id": department.id, "code": department.code, "name": department.name,
            "intro": department.intro}


def _booking_rules(detail: dict):
    """What rules.py needs of a hospital, from its (cached) detail."""
    values = detail["booking_rules"]
    return SimpleNamespace(
        booking_days_ahead=values["booking_days_ahead"],
        release_time=time.fromisoformat(values["release_time"]),
        stop_time=time.fromisoformat(values["stop_time"]),
        cancel_days_before=values["cancel_days_before"],
        cancel_time=time.fromisoformat(values["cancel_time"]))


def _department_scope(detail: dict, department_id: int):
    """(reference, [department ids whose schedules count], {id: name}) for a department of this
    hospital: a second-level one is itself; a top-level one is itself and its children."""
    for top in detail["departments"]:
        names = {top["id"]: top["name"], **{c["id"]: c["name"] for c in top["children"]}}
        if top["id"] == department_id:
            reference = {"id": top["id"], "name": top["name"], "parent_id": None}
            return reference, [top["id"], *(c["id"] for c in top["children"])], names
        for child in top["children"]:
            if child["id"] == department_id:
                reference = {"id": child["id"], "name": child["name"], "parent_id": top["id"]}
                return reference, [child["id"]], names
    raise DepartmentNotFound()


# ---- public: calendar and day schedules ------------------------------------------------------

# a department-day's counts: schedules open and stopped, and total/available of the open ones
_NO_SCHEDULES = {"open": 0, "stopped": 0, "total": 0, "available": 0}


def _department_window(hospital_id: int, department_id: int, now: datetime | None):
    """What a department's calendar and day views start from: the hospital's (cached) detail,
    the department's scope, the booking rules and the window's days, and the local now."""
    detail = get_hospital(hospital_id=hospital_id)
    reference, department_ids, names = _department_scope(detail, department_id)
    hospital = _booking_rules(detail)
    now = _local_now(now)
    return SimpleNamespace(detail=detail, reference=reference, department_ids=department_ids,
                           names=names, hospital=hospital, now=now,
                           days=rules.window_days(hospital, now))


def get_department_calendar(*, hospital_id: int, department_id: int,
                            now: datetime | None = None) -> dict:
    """Each day of the hospital's booking window with the department's summed slot counts."""
    scope = _department_window(hospital_id, department_id, now)
    detail, reference, department_ids = scope.detail, scope.reference, scope.department_ids
    hospital, now, days = scope.hospital, scope.now, scope.days
    pairs = {cache.aggregate_key(d, day): (d, day) for d in department_ids for day in days}
    counts = cache.cached_counts(list(pairs), lambda missing: _aggregates(missing, pairs))
    calendar = []
    for day in days:
        summed = dict(_NO_SCHEDULES)
        for department in department_ids:
            for name, value in counts[cache.aggregate_key(department, day)].items():
                summed[name] += value
        calendar.append({
            "date": day.isoformat(), "weekday": _weekday(day),
            "state": _calendar_state(rules.window_state(hospital, day, now), summed),
            "available": summed["available"], "total": summed["total"],
            "release_at": rules.release_at(hospital, day).isoformat(timespec="seconds"),
        })
    return {"hospital_id": detail["id"], "department": reference, "days": calendar}


def _calendar_state(window: str, summed: dict) -> str:
    if window != "open":
        return window  # not_released / closed
    if summed["open"] == 0:
        return "stopped" if summed["stopped"] else "none"
    return "full" if summed["available"] <= 0 else "open"


def _aggregates(missing_keys: list[str], pairs: dict) -> dict:
    """Per (department, day): schedules open and stopped, and total/available of the open ones
    (a stopped clinic offers nothing)."""
    wanted = [pairs[key] for key in missing_keys]
    department_ids = sorted({d for d, _ in wanted})
    days = [day for _, day in wanted]
    rows = reader().execute(
        select(Schedule.department_id, Schedule.work_date, Schedule.status, func.count(),
               func.sum(Schedule.total), func.sum(Schedule.available))
        .where(Schedule.department_id.in_(department_ids),
               Schedule.work_date >= min(days), Schedule.work_date <= max(days))
        .group_by(Schedule.department_id, Schedule.work_date, Schedule.status)).all()
    found = {}
    for department, day, status, count, total, available in rows:
        entry = found.setdefault((department, day), dict(_NO_SCHEDULES))
        if status == "open":
            entry["open"] += int(count)
            entry["total"] += int(total or 0)
            entry["available"] += int(available or 0)
        else:
            entry["stopped"] += int(count)
    return {key: found.get(pairs[key], dict(_NO_SCHEDULES)) for key in missing_keys}


def list_day_schedules(*, hospital_id: int, department_id: int, day: date,
                       now: datetime | None = None) -> dict:
    """The doctors' clinics of one day in a department (a top-level one: all its children)."""
    scope = _department_window(hospital_id, department_id, now)
    detail, reference, department_ids = scope.detail, scope.reference, scope.department_ids
    names, hospital, now, window = scope.names, scope.hospital, scope.now, scope.days
    if day not in window:
        message = f"只能查询 {window[0].isoformat()} 至 {window[-1].isoformat()} 的排班"
        raise DateOutOfWindow(message, details={"date": [message], "from": window[0].isoformat(),
                                                "to": window[-1].isoformat()})
    keys = {cache.day_key(d, day): d for d in department_ids}
    rows = cache.cached_counts(list(keys), lambda missing: _day_rows(missing, keys, day))
    state = rules.window_state(hospital, day, now)
    items = []
    for key in keys:
        for row in rows[key]:
            items.append({**row, "department_name": names.get(row["department_id"]),
                          "bookable": state == "open" and row["status"] == "open"
                          and row["available"] > 0})
    items.sort(key=lambda i: (_PERIOD_RANK.get(i["period"], 99), i["start_time"],
                              _TITLE_RANK.get(i["doctor"]["title"], 99), i["doctor"]["id"],
                              i["id"]))
    return {"hospital_id": detail["id"], "department": reference, "date": day.isoformat(),
            "weekday": _weekday(day), "state": state,
            "release_at": rules.release_at(hospital, day).isoformat(timespec="seconds"),
            "stop_at": rules.stop_at(hospital, day).isoformat(timespec="seconds"),
            "items": items}


def _day_rows(missing_keys: list[str], keys: dict, day: date) -> dict:
    department_ids = [keys[key] for key in missing_keys]
    rows = reader().execute(
        select(Schedule, Doctor).join(Doctor, Doctor.id == Schedule.doctor_id)
        .where(Schedule.department_id.in_(department_ids), Schedule.work_date == day)
        .order_by(Schedule.id)).all()
    by_department = {d: [] for d in department_ids}
    for schedule, doctor in rows:
        by_department[schedule.department_id].append({
            "id": schedule.id, "department_id": schedule.department_id,
            "doctor": {"id": doctor.id, "name": doctor.name, "title": doctor.title,
                       "specialty": doctor.specialty, "avatar_url": doctor.avatar_url},
            "period": schedule.period, "period_name": PERIODS.get(schedule.period),
            "start_time": _hhmm(schedule.start_time), "end_time": _hhmm(schedule.end_time),
            "fee_fen": schedule.fee_fen, "total": schedule.total,
            "available": schedule.available, "status": schedule.status,
            "stop_reason": schedule.stop_reason,
        })
    return {key: by_department[keys[key]] for key in missing_keys}


# ---- public: doctors -------------------------------------------------------------------------

def get_doctor(*, doctor_id: int) -> dict:
    return cache.cached_catalogue(f"doctor:{doctor_id}", lambda: _doctor_detail(doctor_id))


def _doctor_detail(doctor_id: int) -> dict:
    session = reader()
    doctor = session.get(Doctor, doctor_id)
    hospital = doctor and session.get(Hospital, doctor.hospital_id)
    if doctor is None or hospital is None or not hospital.is_active:
        raise DoctorNotFound()
    department = session.get(Department, doctor.department_id)
    return {"id": doctor.id, "name": doctor.name, "title": doctor.title,
            "specialty": doctor.specialty, "intro": doctor.intro,
            "avatar_url": doctor.avatar_url,
            "hospital": {"id": hospital.id, "name": hospital.name, "level": hospital.level,
                         "level_name": HOSPITAL_LEVELS.get(hospital.level)},
            "department": {"id": department.id, "name": department.name,
                           "parent_id": department.parent_id}}


# ---- staff: hospitals ------------------------------------------------------------------------

def _load(schema_cls, data) -> dict:
    try:
        return schema_cls().load(data if data is not None else {})
    except ValidationError as exc:
        raise ValidationFailed(details=localize_messages(exc.messages))


def _commit(conflict: Conflict):
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise conflict


def _column_default(model, name):
    return model.__table__.c[name].default.arg


def check_region(values: dict):
    province, city, district = (values["province_code"], values["city_code"],
                                values["district_code"])
    if not province.endswith("0000"):
        raise _invalid("province_code", "省级地区编码应以 0000 结尾", "invalid_region_code")
    if not city.endswith("00") or city.endswith("0000") or city[:2] != province[:2]:
        raise _invalid("city_code", "市级地区编码应以 00 结尾且属于所选省份", "invalid_region_code")
    if district[:4] != city[:4]:
        raise _invalid("district_code", "区县编码应属于所选城市", "invalid_region_code")


def _check_rules(values: dict):
    if values["cancel_days_before"] > values["booking_days_ahead"]:
        raise _invalid("cancel_days_before", "退号截止天数不能大于可预约天数",
                       "invalid_booking_rules")
    if values["booking_days_ahead"] == 1 and values["release_time"] >= values["stop_time"]:
        # tomorrow would open after it already stopped: nothing could ever be booked
        raise _invalid("release_time", "只提前 1 天放号时,放号时间应早于停止预约时间",
                       "invalid_booking_rules")


def _ensure_hospital_code_free(code: str, hospital_id: int | None):
    clash = db.session.scalar(select(Hospital.id).where(
        func.lower(Hospital.code) == code.lower(), Hospital.id != (hospital_id or 0)).limit(1))
    if clash:
        raise HospitalCodeTaken()


def _hospital_for_staff(hospital_id: int) -> Hospital:
    hospital = db.session.get(Hospital, hospital_id)
    if hospital is None:
        raise HospitalNotFound()
    return hospital


def create_hospital(actor: StaffUser, *, data: dict) -> Hospital:
    require_role(actor, "operator")
    data = _load(HospitalCreateSchema, data)
    values = {name: _column_default(Hospital, name) for name in _RULE_FIELDS}
    values.update(data)
    check_region(values)
    _check_rules(values)
    _ensure_hospital_code_free(values["code"], None)
    hospital = Hospital(**values)
    db.session.add(hospital)
    _commit(HospitalCodeTaken())
    cache.invalidate_catalogue()
    log.info("staff %s created hospital %s", actor.id, hospital.id)
    return hospital


def update_hospital(actor: StaffUser, *, hospital_id: int, data: dict) -> Hospital:
    require_role(actor, "operator")
    data = _load(HospitalUpdateSchema, data)
    hospital = _hospital_for_staff(hospital_id)
    values = {column: getattr(hospital, column)
              for column in ("province_code", "city_code", "district_code", *_RULE_FIELDS)}
    values.update(data)
    if data.keys() & {"province_code", "city_code", "district_code"}:
        check_region(values)
    if data.keys() & set(_RULE_FIELDS):
        _check_rules(values)
    if "code" in data:
        _ensure_hospital_code_free(data["code"], hospital.id)
    for name, value in data.items():
        setattr(hospital, name, value)
    _commit(HospitalCodeTaken())
    cache.invalidate_catalogue()
    log.info("staff %s updated hospital %s (%s)", actor.id, hospital_id, ", ".join(sorted(data)))
    return hospital


def set_hospital_active(actor: StaffUser, *, hospital_id: int, active: bool) -> Hospital:
    """Enable or disable a hospital; a disabled one disappears from every public read."""
    require_role(actor, "operator")
    if not isinstance(active, bool):
        raise _invalid("active", "应为布尔值")
    hospital = _hospital_for_staff(hospital_id)
    hospital.is_active = active
    db.session.commit()
    cache.invalidate_catalogue()
    log.info("staff %s set hospital %s active=%s", actor.id, hospital_id, active)
    return hospital


# ---- staff: departments and doctors ----------------------------------------------------------

def create_department(actor: StaffUser, *, hospital_id: int, data: dict) -> Department:
    """A top-level department (no parent_id) or a second-level one under a top-level one."""
    require_role(actor, "operator")
    data = _load(DepartmentCreateSchema, data)
    hospital = _hospital_for_staff(hospital_id)
    if data["parent_id"] is not None:
        parent = db.session.get(Department, data["parent_id"])
        if parent is None or parent.hospital_id != hospital.id:
            raise _invalid("parent_id", "上级科室不存在或不属于该医院", "invalid_parent_department")
        if parent.parent_id is not None:
            raise _invalid("parent_id", "科室最多两级,上级科室必须是一级科室",
                           "invalid_parent_department")
    clash = db.session.scalar(select(Department.id).where(
        Department.hospital_id == hospital.id,
        func.lower(Department.code) == data["code"].lower()).limit(1))
    if clash:
        raise DepartmentCodeTaken()
    department = Department(hospital_id=hospital.id, **data)
    db.session.add(department)
    _commit(DepartmentCodeTaken())
    cache.invalidate_catalogue()
    return department


def _department_of(hospital_id: int, department_id: int) -> Department:
    department = db.session.get(Department, department_id)
    if department is None or department.hospital_id != hospital_id:
        raise _invalid("department_id", "科室不存在或不属于该医院", "invalid_department")
    return department


def create_doctor(actor: StaffUser, *, hospital_id: int, data: dict) -> Doctor:
    require_role(actor, "operator")
    data = _load(DoctorCreateSchema, data)
    hospital = _hospital_for_staff(hospital_id)
    _department_of(hospital.id, data["department_id"])
    doctor = Doctor(hospital_id=hospital.id, **data)
    db.session.add(doctor)
    db.session.commit()
    cache.invalidate_catalogue()
    return doctor


def update_doctor(actor: StaffUser, *, doctor_id: int, data: dict) -> Doctor:
    """Name, title, specialty, intro, avatar, or a move to another department of the hospital
    (the doctor's existing schedules stay where they are)."""
    require_role(actor, "operator")
    data = _load(DoctorUpdateSchema, data)
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None:
        raise DoctorNotFound()
    if "department_id" in data:
        _department_of(doctor.hospital_id, data["department_id"])
    for name, value in data.items():
        setattr(doctor, name, value)
    db.session.commit()
    cache.invalidate_catalogue()
    return doctor


# ---- staff: schedules ------------------------------------------------------------------------

def create_schedule(actor: StaffUser, *, hospital_id: int, data: dict,
                    now: datetime | None = None) -> Schedule:
    """A doctor's clinic on a date and period; all its slots start free (available = total)."""
    require_role(actor, "operator")
    data = _load(ScheduleCreateSchema, data)
    hospital = _hospital_for_staff(hospital_id)
    doctor = db.session.get(Doctor, data["doctor_id"])
    if doctor is None or doctor.hospital_id != hospital.id:
        raise _invalid("doctor_id", "医生不存在或不属于该医院", "invalid_doctor")
    department_id = data.get("department_id", doctor.department_id)
    if department_id != doctor.department_id:
        raise _invalid("department_id", "排班科室应为医生所在科室", "invalid_department")
    if data["work_date"] < _local_now(now).date():
        raise _invalid("work_date", "不能为过去的日期排班", "schedule_date_past")
    default_start, default_end = DEFAULT_PERIOD_TIMES[data["period"]]
    start, end = data.get("start_time", default_start), data.get("end_time", default_end)
    if start >= end:
        raise _invalid("end_time", "结束时间应晚于开始时间", "invalid_schedule_time")
    clash = db.session.scalar(select(Schedule.id).where(
        Schedule.doctor_id == doctor.id, Schedule.work_date == data["work_date"],
        Schedule.period == data["period"]).limit(1))
    if clash:
        raise ScheduleExists(details={"schedule_id": clash})
    schedule = Schedule(hospital_id=hospital.id, department_id=department_id,
                        doctor_id=doctor.id, work_date=data["work_date"],
                        period=data["period"], start_time=start, end_time=end,
                        total=data["total"], available=data["total"], numbers_issued=0,
                        fee_fen=data["fee_fen"], status="open")
    db.session.add(schedule)
    _commit(ScheduleExists())
    cache.invalidate_counts(department_id, data["work_date"])
    return schedule


def update_schedule_total(actor: StaffUser, *, schedule_id: int, total: int) -> Schedule:
    """Change how many slots a clinic has. Never below what is already booked (total -
    available); the free count moves by the same difference, in one conditional UPDATE so a
    booking landing meanwhile is never lost."""
    require_role(actor, "operator")
    total = _load(ScheduleTotalSchema, {"total": total})["total"]
    schedule = db.session.get(Schedule, schedule_id)
    if schedule is None:
        raise ScheduleNotFound()
    # available is assigned first: MySQL evaluates SET left to right with the new values
    result = db.session.execute(
        update(Schedule)
        .where(Schedule.id == schedule.id, Schedule.status == "open",
               Schedule.total - Schedule.available <= total)
        .ordered_values((Schedule.available, Schedule.available + (total - Schedule.total)),
                        (Schedule.total, total))
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(schedule)
        stopped, booked = schedule.status != "open", schedule.total - schedule.available
        db.session.rollback()
        if stopped:
            raise ScheduleStopped("该排班已停诊,不能修改号源")
        raise ScheduleTotalBelowBooked(ScheduleTotalBelowBooked.message.format(booked=booked),
                                       details={"booked": booked})
    department_id, work_date = schedule.department_id, schedule.work_date
    _offer_to_waitlist(schedule_id)  # added seats go to waiters first, in this transaction
    db.session.commit()
    cache.invalidate_counts(department_id, work_date)
    _rebuild_booking_gate(schedule_id)
    log.info("staff %s set schedule %s total to %s", actor.id, schedule.id, total)
    return schedule


def _offer_to_waitlist(schedule_id: int) -> int:
    """Inside the transaction that raised a total (the schedule row locked by its UPDATE): free
    seats become holds for the schedule's waiters (app/waitlist) before anyone else sees them."""
    try:
        from app.waitlist.services import offer_free_seats
    except ImportError:  # a deployment without the waitlist
        return 0
    return offer_free_seats(schedule_id)


def _rebuild_booking_gate(schedule_id: int):
    """The booking module's Redis gate holds each schedule's free count; after the total
    changed it is reset from the database (else the cron rebuild would catch up within a
    minute)."""
    try:
        from app.booking.slots import gate
    except ImportError:  # a deployment without the booking module
        return
    gate.rebuild(schedule_id, overwrite=True)
    db.session.rollback()  # end the read transaction gate.rebuild opened
