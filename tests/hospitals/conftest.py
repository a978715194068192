"""A small catalogue built through the staff services, and helpers to call services in their
own app context (a test never keeps a transaction open while the API answers: on SQLite every
transaction holds the write lock)."""
from datetime import datetime, time, timedelta

import pytest

from app.common.time import LOCAL_TZ
from app.extensions import db
from app.hospitals import services
from app.hospitals.models import Schedule
from app.staff.models import StaffUser


def today():
    return datetime.now(LOCAL_TZ).date()


def at(day, hour, minute=0, second=0):
    """An aware Asia/Shanghai instant on `day`."""
    return datetime.combine(day, time(hour, minute, second), LOCAL_TZ)


def plain(value):
    """Service results outside their session: ORM objects become their id."""
    return value.id if hasattr(value, "_sa_instance_state") else value


@pytest.fixture
def call(app):
    """call(fn, *args) runs fn in a fresh app context and closes its session."""
    def run(fn, *args, **kwargs):
        with app.app_context():
            try:
                return plain(fn(*args, **kwargs))
            finally:
                db.session.remove()
    return run


@pytest.fixture
def staff(app, staff_factory):
    """staff(fn, *args, role="operator") calls a staff service as a fresh staff user."""
    accounts = {}

    def ensure(role):
        if role not in accounts:
            accounts[role] = staff_factory(role)["id"]
        return accounts[role]

    def run(fn, *args, role="operator", **kwargs):
        staff_id = ensure(role)
        with app.app_context():
            try:
                actor = db.session.get(StaffUser, staff_id)
                return plain(fn(actor, *args, **kwargs))
            finally:
                db.session.remove()
    run.ensure = ensure
    return run


@pytest.fixture
def db_update(app):
    """Change schedule rows behind the services' back (as another process would)."""
    def run(schedule_id, **values):
        with app.app_context():
            db.session.query(Schedule).filter(Schedule.id == schedule_id).update(values)
            db.session.commit()
            db.session.remove()
    return run


HOSPITAL = {"code": "T-BJ01", "name": "京华测试医院", "level": "3A", "province_code": "110000",
            "city_code": "110100", "district_code": "110101", "address": "北京市东城区测试路 1 号",
            "phone": "010-65290001", "intro": "测试医院简介", "notice": "请携带身份证就诊"}


@pytest.fixture
def catalogue(staff):
    """Six hospitals (one inactive); the first with 内科(心血管内科, 消化内科), 外科(骨科) and
    眼科 (no children), four doctors, and `schedule(...)` to add clinics. Rules of the first:
    7 days ahead, release 08:30, stop 15:00 the day before."""
    ids = {}
    ids["h1"] = staff(services.create_hospital, data=HOSPITAL)
    for key, code, name, level, region in (
        ("h2", "T-SH01", "上海测试医院", "3B", ("310000", "310100", "310104")),
        ("h3", "T-GZ01", "广州越秀测试医院", "2A", ("440000", "440100", "440104")),
        ("h4", "T-BJ02", "北京海淀社区测试中心", "1", ("110000", "110100", "110108")),
        ("h5", "T-BJ03", "北京停用测试医院", "3A", ("110000", "110100", "110101")),
        ("h6", "T-BJ04", "北京东城第二测试医院", "2A", ("110000", "110100", "110101")),
    ):
        ids[key] = staff(services.create_hospital, data={
            **HOSPITAL, "code": code, "name": name, "level": level, "province_code": region[0],
            "city_code": region[1], "district_code": region[2]})
    staff(services.set_hospital_active, hospital_id=ids["h5"], active=False)

    def department(hospital, code, name, parent=None, order=0):
        return staff(services.create_department, hospital_id=ids[hospital],
                     data={"code": code, "name": name, "parent_id": parent, "sort_order": order})

    ids["internal"] = department("h1", "NK", "内科", order=1)
    ids["cardio"] = department("h1", "NK-XXG", "心血管内科", ids["internal"], 1)
    ids["gastro"] = department("h1", "NK-XH", "消化内科", ids["internal"], 2)
    ids["surgery"] = department("h1", "WK", "外科", order=2)
    ids["ortho"] = department("h1", "WK-GK", "骨科", ids["surgery"], 1)
    ids["eye"] = department("h1", "YK", "眼科", order=3)
    ids["h2_internal"] = department("h2", "NK", "内科", order=1)
    ids["h2_cardio"] = department("h2", "NK-XXG", "心血管内科", ids["h2_internal"], 1)

    def doctor(hospital, department_key, name, title, specialty=None):
        return staff(services.create_doctor, hospital_id=ids[hospital], data={
            "department_id": ids[department_key], "name": name, "title": title,
            "specialty": specialty})

    ids["dr_li"] = doctor("h1", "cardio", "李主任", "主任医师", "冠心病、高血压")
    ids["dr_wang"] = doctor("h1", "cardio", "王医生", "主治医师", "心律失常")
    ids["dr_zhang"] = doctor("h1", "gastro", "张医生", "副主任医师", "胃炎")
    ids["dr_zhao"] = doctor("h1", "ortho", "赵医生", "主治医师", "骨折")
    ids["dr_h2"] = doctor("h2", "h2_cardio", "孙医生", "主任医师")

    def schedule(doctor_key, days_ahead, period="morning", total=20, fee_fen=5000, hospital="h1"):
        return staff(services.create_schedule, hospital_id=ids[hospital], data={
            "doctor_id": ids[doctor_key], "work_date": today() + timedelta(days=days_ahead),
            "period": period, "total": total, "fee_fen": fee_fen})

    return {**ids, "schedule": schedule}


@pytest.fixture(autouse=True)
def fresh_cache_breaker():
    """A Redis failure recorded by an earlier test must not switch this one's cache off."""
    from app.hospitals import cache
    cache.reset()
    yield
    cache.reset()
