"""Staff maintenance of the catalogue: every refusal is a 4xx with a stable code and a Chinese
message, and leaves the database unchanged."""
import re
from datetime import time, timedelta

import pytest

from app.errors import AppError
from app.extensions import db, redis_client
from app.hospitals import services
from app.hospitals.models import Department, Doctor, Hospital, Schedule
from tests.conftest import row_counts
from tests.hospitals.conftest import HOSPITAL, today

CHINESE = re.compile(r"[\u4e00-\u9fff]")


def refused(app, staff, fn, *, status, code, field=None, role="operator", **arguments):
    staff.ensure(role)
    before = row_counts(app)
    with pytest.raises(AppError) as excinfo:
        staff(fn, role=role, **arguments)
    error = excinfo.value
    assert (error.status, error.code) == (status, code), (error.status, error.code,
                                                          error.message, error.details)
    assert CHINESE.search(error.message), error.message
    if field:
        assert field in error.details, error.details
        assert all(CHINESE.search(m) for m in error.details[field]), error.details
    assert row_counts(app) == before
    return error


def test_only_operators_and_admins_maintain_the_catalogue(app, staff):
    refused(app, staff, services.create_hospital, data=HOSPITAL, role="reviewer", status=403,
            code="forbidden")
    with pytest.raises(AppError):
        staff(services.create_hospital, data=None, role="reviewer")
    assert staff(services.create_hospital, data=HOSPITAL, role="admin")
    assert staff(services.create_hospital, data={**HOSPITAL, "code": "T-2"}, role="operator")


def test_create_hospital_defaults_and_validation(app, staff):
    hospital_id = staff(services.create_hospital, data=HOSPITAL)
    with app.app_context():
        hospital = db.session.get(Hospital, hospital_id)
        assert (hospital.is_active, hospital.booking_days_ahead, hospital.release_time,
                hospital.stop_time, hospital.cancel_days_before, hospital.cancel_time) == (
            True, 7, time(8, 30), time(15, 0), 1, time(15, 30))
        db.session.remove()
    cases = [
        ({"level": "4A"}, 422, "validation_error", "level"),
        ({"level": None}, 422, "validation_error", "level"),
        ({"province_code": "11000"}, 422, "validation_error", "province_code"),
        ({"city_code": "1101001"}, 422, "validation_error", "city_code"),
        ({"district_code": "abcdef"}, 422, "validation_error", "district_code"),
        ({"province_code": "110100"}, 422, "invalid_region_code", "province_code"),
        ({"city_code": "310100"}, 422, "invalid_region_code", "city_code"),
        ({"city_code": "110000"}, 422, "invalid_region_code", "city_code"),
        ({"district_code": "310101"}, 422, "invalid_region_code", "district_code"),
        ({"booking_days_ahead": 0}, 422, "validation_error", "booking_days_ahead"),
        ({"booking_days_ahead": 31}, 422, "validation_error", "booking_days_ahead"),
        ({"booking_days_ahead": "7"}, 422, "validation_error", "booking_days_ahead"),
        ({"release_time": "25:00"}, 422, "validation_error", "release_time"),
        ({"release_time": "08:30:15"}, 422, "validation_error", "release_time"),
        ({"cancel_days_before": 8}, 422, "invalid_booking_rules", "cancel_days_before"),
        ({"booking_days_ahead": 1, "release_time": "16:00"}, 422, "invalid_booking_rules",
         "release_time"),
        ({"name": "长" * 65}, 422, "validation_error", "name"),
        ({"phone": "call me"}, 422, "validation_error", "phone"),
        ({"code": "坏编号"}, 422, "validation_error", "code"),
        ({"surprise": 1}, 422, "validation_error", "surprise"),
        ({"code": "T-BJ01"}, 409, "hospital_code_taken", None),
        ({"code": "t-bj01"}, 409, "hospital_code_taken", None),  # case-insensitive, as MySQL
    ]
    for overrides, status, code, field in cases:
        refused(app, staff, services.create_hospital, data={**HOSPITAL, **overrides},
                status=status, code=code, field=field)
    missing = refused(app, staff, services.create_hospital, data={"code": "X"}, status=422,
                      code="validation_error")
    assert {"name", "level", "province_code", "address", "phone"} <= set(missing.details)
    refused(app, staff, services.create_hospital, data=["not", "a", "dict"], status=422,
            code="validation_error")


def test_update_hospital_and_switch_it_off_and_on(app, staff, client):
    hospital_id = staff(services.create_hospital, data=HOSPITAL)
    other = staff(services.create_hospital, data={**HOSPITAL, "code": "T-OTHER"})
    staff(services.update_hospital, hospital_id=hospital_id, data={
        "name": "京华新院区", "level": "3B", "province_code": "310000", "city_code": "310100",
        "district_code": "310104", "booking_days_ahead": 14, "release_time": "07:30",
        "cancel_time": "12:00", "notice": None})
    with app.app_context():
        hospital = db.session.get(Hospital, hospital_id)
        assert (hospital.name, hospital.level, hospital.city_code, hospital.booking_days_ahead,
                hospital.release_time, hospital.cancel_time, hospital.notice) == (
            "京华新院区", "3B", "310100", 14, time(7, 30), time(12, 0), None)
        db.session.remove()
    refused(app, staff, services.update_hospital, hospital_id=hospital_id, data={"code": "T-OTHER"},
            status=409, code="hospital_code_taken")
    refused(app, staff, services.update_hospital, hospital_id=hospital_id,
            data={"district_code": "110101"},
            status=422, code="invalid_region_code", field="district_code")
    refused(app, staff, services.update_hospital, hospital_id=hospital_id,
            data={"cancel_days_before": 20},
            status=422, code="invalid_booking_rules")
    refused(app, staff, services.update_hospital, hospital_id=999999, data={"name": "不存在的医院"},
            status=404, code="hospital_not_found")
    refused(app, staff, services.update_hospital, hospital_id=hospital_id,
            data={"is_active": False},
            status=422, code="validation_error")  # switching off has its own service
    assert client.get(f"/api/v1/hospitals/{other}").status_code == 200
    staff(services.set_hospital_active, hospital_id=other, active=False)
    assert client.get(f"/api/v1/hospitals/{other}").status_code == 404
    staff(services.set_hospital_active, hospital_id=other, active=True)
    assert client.get(f"/api/v1/hospitals/{other}").status_code == 200
    refused(app, staff, services.set_hospital_active, hospital_id=other, active="no", status=422,
            code="validation_error")
    refused(app, staff, services.set_hospital_active, hospital_id=999999, active=True, status=404,
            code="hospital_not_found")


def test_departments_have_at_most_two_levels(app, staff, catalogue):
    refused(app, staff, services.create_department, hospital_id=catalogue["h1"],
            data={"code": "X", "name": "三级科室", "parent_id": catalogue["cardio"]},
            status=422, code="invalid_parent_department", field="parent_id")
    refused(app, staff, services.create_department, hospital_id=catalogue["h1"],
            data={"code": "X", "name": "别院的下级", "parent_id": catalogue["h2_internal"]},
            status=422, code="invalid_parent_department", field="parent_id")
    refused(app, staff, services.create_department, hospital_id=catalogue["h1"],
            data={"code": "X", "name": "无此上级", "parent_id": 999999},
            status=422, code="invalid_parent_department")
    refused(app, staff, services.create_department, hospital_id=catalogue["h1"],
            data={"code": "nk-xxg", "name": "重复编号"}, status=409, code="department_code_taken")
    refused(app, staff, services.create_department, hospital_id=catalogue["h1"],
            data={"code": "X", "name": "科"}, status=422, code="validation_error", field="name")
    refused(app, staff, services.create_department, hospital_id=999999,
            data={"code": "X", "name": "无医院"},
            status=404, code="hospital_not_found")
    # the same code in another hospital is fine, and a child under a top-level one works
    child = staff(services.create_department, hospital_id=catalogue["h2"],
                  data={"code": "NK-XH", "name": "消化内科", "parent_id": catalogue["h2_internal"]})
    with app.app_context():
        assert db.session.get(Department, child).parent_id == catalogue["h2_internal"]
        db.session.remove()


def test_doctors_titles_and_departments(app, staff, catalogue):
    doctor = {"department_id": catalogue["cardio"], "name": "钱医生", "title": "主任医师"}
    refused(app, staff, services.create_doctor, hospital_id=catalogue["h1"],
            data={**doctor, "title": "教授"},
            status=422, code="validation_error", field="title")
    refused(app, staff, services.create_doctor, hospital_id=catalogue["h1"],
            data={**doctor, "department_id": catalogue["h2_cardio"]},
            status=422, code="invalid_department", field="department_id")
    refused(app, staff, services.create_doctor, hospital_id=catalogue["h1"],
            data={**doctor, "avatar_url": "javascript:alert(1)"}, status=422,
            code="validation_error", field="avatar_url")
    refused(app, staff, services.create_doctor, hospital_id=catalogue["h1"], data={"name": "缺字段"},
            status=422, code="validation_error")
    doctor_id = staff(services.create_doctor, hospital_id=catalogue["h1"],
                      data={**doctor, "specialty": "高血压",
                            "avatar_url": "https://img.example/a.png"})
    staff(services.update_doctor, doctor_id=doctor_id,
          data={"title": "副主任医师", "department_id": catalogue["gastro"]})
    refused(app, staff, services.update_doctor, doctor_id=doctor_id, data={"title": "神医"},
            status=422, code="validation_error")
    refused(app, staff, services.update_doctor, doctor_id=doctor_id,
            data={"department_id": catalogue["h2_cardio"]}, status=422, code="invalid_department")
    refused(app, staff, services.update_doctor, doctor_id=999999, data={"title": "医师"},
            status=404, code="doctor_not_found")
    with app.app_context():
        saved = db.session.get(Doctor, doctor_id)
        assert (saved.title, saved.department_id, saved.hospital_id) == (
            "副主任医师", catalogue["gastro"], catalogue["h1"])
        db.session.remove()


def test_create_schedule_rules(app, staff, catalogue):
    tomorrow = today() + timedelta(days=1)
    good = {"doctor_id": catalogue["dr_li"], "work_date": tomorrow.isoformat(),
            "period": "morning", "total": 20, "fee_fen": 5000}
    cases = [
        ({"doctor_id": catalogue["dr_h2"]}, 422, "invalid_doctor", "doctor_id"),
        ({"doctor_id": 999999}, 422, "invalid_doctor", "doctor_id"),
        ({"department_id": catalogue["gastro"]}, 422, "invalid_department", "department_id"),
        ({"period": "night"}, 422, "validation_error", "period"),
        ({"total": 0}, 422, "validation_error", "total"),
        ({"total": 1001}, 422, "validation_error", "total"),
        ({"total": 2.5}, 422, "validation_error", "total"),
        ({"fee_fen": -1}, 422, "validation_error", "fee_fen"),
        ({"fee_fen": 1_000_001}, 422, "validation_error", "fee_fen"),
        ({"work_date": "2026-02-30"}, 422, "validation_error", "work_date"),
        ({"work_date": (today() - timedelta(days=1)).isoformat()}, 422, "schedule_date_past",
         "work_date"),
        ({"start_time": "12:00", "end_time": "08:00"}, 422, "invalid_schedule_time", "end_time"),
    ]
    for overrides, status, code, field in cases:
        refused(app, staff, services.create_schedule, hospital_id=catalogue["h1"],
                data={**good, **overrides},
                status=status, code=code, field=field)
    refused(app, staff, services.create_schedule, hospital_id=999999, data=good, status=404,
            code="hospital_not_found")
    schedule_id = staff(services.create_schedule, hospital_id=catalogue["h1"], data=good)
    with app.app_context():
        schedule = db.session.get(Schedule, schedule_id)
        assert (schedule.total, schedule.available, schedule.status, schedule.numbers_issued,
                schedule.start_time, schedule.end_time, schedule.department_id,
                schedule.hospital_id) == (20, 20, "open", 0, time(8), time(12),
                                          catalogue["cardio"], catalogue["h1"])
        db.session.remove()
    duplicate = refused(app, staff, services.create_schedule, hospital_id=catalogue["h1"],
                        data={**good, "total": 5}, status=409, code="schedule_exists")
    assert duplicate.details == {"schedule_id": schedule_id}
    afternoon = staff(services.create_schedule, hospital_id=catalogue["h1"],
                      data={**good, "period": "afternoon", "start_time": "14:00"})
    with app.app_context():
        saved = db.session.get(Schedule, afternoon)
        assert (saved.start_time, saved.end_time) == (time(14), time(17))
        db.session.remove()
    # the day the staff member stands on may be passed in (as tests do)
    from tests.hospitals.conftest import at
    assert staff(services.create_schedule, hospital_id=catalogue["h1"],
                 data={**good, "work_date": today().isoformat()}, now=at(today(), 9))


def test_update_schedule_total_never_below_what_is_booked(app, staff, catalogue, db_update,
                                                         client):
    schedule_id = catalogue["schedule"]("dr_li", 2, total=20)
    db_update(schedule_id, available=15)  # five booked
    url = (f"/api/v1/hospitals/{catalogue['h1']}/departments/{catalogue['cardio']}/schedules"
           f"?date={(today() + timedelta(days=2)).isoformat()}")
    assert client.get(url).get_json()["items"][0]["available"] == 15
    error = refused(app, staff, services.update_schedule_total, schedule_id=schedule_id, total=4,
                    status=409,
                    code="schedule_total_below_booked")
    assert error.details == {"booked": 5} and "5" in error.message
    for bad in (0, 1001, "many", None):
        refused(app, staff, services.update_schedule_total, schedule_id=schedule_id, total=bad,
                status=422,
                code="validation_error")
    refused(app, staff, services.update_schedule_total, schedule_id=999999, total=10, status=404,
            code="schedule_not_found")

    def saved():
        with app.app_context():
            row = db.session.get(Schedule, schedule_id)
            values = (row.total, row.available)
            db.session.remove()
        return values

    staff(services.update_schedule_total, schedule_id=schedule_id, total=5)
    assert saved() == (5, 0)
    assert client.get(url).get_json()["items"][0]["available"] == 0  # at once, not in 1 s
    staff(services.update_schedule_total, schedule_id=schedule_id, total=30)
    assert saved() == (30, 25)
    assert client.get(url).get_json()["items"][0]["available"] == 25
    # the booking module's Redis gate follows the new count
    with app.app_context():
        gate = redis_client.conn.get(f"booking:gate:{schedule_id}")
        if app.config.get("BOOKING_GATE_ENABLED", True):
            assert gate is not None and int(gate) == 25
        db.session.get(Schedule, schedule_id).stop("停诊")
        db.session.commit()
        db.session.remove()
    refused(app, staff, services.update_schedule_total, schedule_id=schedule_id, total=40,
            status=409,
            code="schedule_stopped")
    assert saved() == (30, 25)
