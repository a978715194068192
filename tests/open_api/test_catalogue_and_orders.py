import time
from datetime import timedelta

from sqlalchemy import select, update

from app.booking.models import Registration
from app.common.time import local_today
from app.extensions import db
from app.hospitals.models import Department, Schedule
from tests.booking.conftest import book, pay, verified  # noqa: F401  (fixture)
from tests.conftest import row_counts
from tests.open_api.conftest import error_code

DEPTS, DOCTORS, SCHEDULES = ("/open/v1/departments:batch", "/open/v1/doctors:batch",
                             "/open/v1/schedules:batch")


def day(offset):
    return (local_today() + timedelta(days=offset)).isoformat()


def clinic(external_id, doctor, offset, period="morning", total=5, fee_fen=5000, **extra):
    """One schedule item with the agreed wire names (sdk/SIGNING_SPEC.md)."""
    return {"external_id": external_id, "doctor_external_id": doctor, "work_date": day(offset),
            "period": period, "total": total, "fee_fen": fee_fen, **extra}


def catalogue(hospital, schedules=None):
    assert hospital.post(DEPTS, {"items": [
        {"external_id": "XNK", "name": "心血管内科", "parent_external_id": "NK"},
        {"external_id": "NK", "name": "内科", "sort_order": 1}]}).status_code == 200
    assert hospital.post(DOCTORS, {"items": [
        {"external_id": "D001", "department_external_id": "XNK", "name": "李医生",
         "title": "主任医师"},
        {"external_id": "D002", "department_external_id": "XNK", "name": "王医生",
         "title": "主治医师"}]}
    ).status_code == 200
    schedules = schedules or [
        clinic("S1", "D001", 3),
        clinic("S2", "D001", 3, "afternoon")]
    response = hospital.post(SCHEDULES, {"items": schedules})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def internal_schedule(app, hospital_id, external_id):
    from app.open_api.models import ExternalId
    with app.app_context():
        value = db.session.scalar(select(ExternalId.internal_id).where(
            ExternalId.hospital_id == hospital_id, ExternalId.kind == "schedule",
            ExternalId.external_id == external_id))
        db.session.remove()
        return value


def test_batches_are_idempotent(app, hospitals):
    hospital = hospitals()
    first = catalogue(hospital)
    assert first["created"] == 2
    counts = row_counts(app)
    again = catalogue(hospital)
    assert again == {"created": 0, "updated": 0, "unchanged": 2,
                     "items": [{"external_id": "S1", "result": "unchanged"},
                               {"external_id": "S2", "result": "unchanged"}]}
    assert row_counts(app)["schedules"] == counts["schedules"]
    assert row_counts(app)["departments"] == counts["departments"] == 2
    with app.app_context():
        child = db.session.scalar(select(Department).where(Department.code == "XNK"))
        assert child.parent_id is not None and child.hospital_id == hospital.hospital_id
        db.session.remove()
    changed = hospital.post(SCHEDULES, {"items": [
        clinic("S1", "D001", 3, total=8, fee_fen=6000)]}).get_json()
    assert changed["updated"] == 1
    with app.app_context():
        row = db.session.get(Schedule, internal_schedule(app, hospital.hospital_id, "S1"))
        assert (row.total, row.available, row.fee_fen) == (8, 8, 6000)
        db.session.remove()


def test_fields_left_out_keep_what_staff_wrote_and_null_clears(app, hospitals):
    from app.hospitals.models import Doctor
    hospital = hospitals()
    catalogue(hospital)
    with app.app_context():  # platform staff describe the department and the doctor
        db.session.execute(update(Department).where(Department.code == "NK")
                           .values(intro="内科简介", sort_order=5))
        db.session.execute(update(Doctor).where(Doctor.name == "李医生")
                           .values(intro="擅长冠心病", specialty="冠心病"))
        db.session.commit()
        db.session.remove()
    again = catalogue(hospital)  # the hospital's system sends no intro, no specialty
    assert again["unchanged"] == 2

    def stored():
        with app.app_context():
            department = db.session.scalar(select(Department).where(Department.code == "NK"))
            doctor = db.session.scalar(select(Doctor).where(Doctor.name == "李医生"))
            values = (department.intro, department.sort_order, doctor.intro, doctor.specialty)
            db.session.remove()
            return values

    # NK's batch item carries sort_order 1 itself: that field is the hospital's to set
    assert stored() == ("内科简介", 1, "擅长冠心病", "冠心病")
    cleared = hospital.post(DOCTORS, {"items": [
        {"external_id": "D001", "department_external_id": "XNK", "name": "李医生",
         "title": "主任医师", "intro": None}]}).get_json()
    assert cleared["updated"] == 1
    assert stored() == ("内科简介", 1, None, "冠心病")


def test_bad_batches_change_nothing(app, client, hospitals, verified):  # noqa: F811
    hospital = hospitals()
    catalogue(hospital)
    person = verified(1)[0]
    schedule_id = internal_schedule(app, hospital.hospital_id, "S1")
    assert book(client, person, schedule_id).status_code == 201  # one slot of S1 taken
    before = row_counts(app)
    good = clinic("S9", "D002", 4, fee_fen=100)
    cases = [
        ({**good, "work_date": day(-1)}, "work_date"),                           # past
        ({**good, "doctor_external_id": "D001", "work_date": day(3)}, "period"),  # overlaps S1
        ({**good, "doctor_external_id": "D001", "work_date": day(3), "period": "evening",
          "start_time": "11:00", "end_time": "12:30"}, "period"),                # times overlap
        ({**good, "doctor_external_id": "NOPE"}, "doctor_external_id"),
        (clinic("S1", "D001", 3, total=0), None),                # schema: 1..1000
        (clinic("S1", "D001", 5), "work_date"),                  # moving a booked clinic
    ]
    for bad, field in cases:
        response = hospital.post(SCHEDULES, {"items": [good, bad]})
        assert response.status_code == 422, (bad, response.get_json())
        if field:
            assert error_code(response) == "batch_rejected"
            assert field in response.get_json()["error"]["details"]["items"]["1"], \
                response.get_json()
    in_batch = hospital.post(SCHEDULES, {"items": [good, {**good, "external_id": "S10"}]})
    assert in_batch.status_code == 422 and "period" in \
        in_batch.get_json()["error"]["details"]["items"]["1"]
    duplicate = hospital.post(SCHEDULES, {"items": [good, good]})
    assert duplicate.status_code == 422
    assert "external_id" in duplicate.get_json()["error"]["details"]["items"]["1"]
    # the old names (before the SDK's names were agreed) are unknown fields, not silently dropped
    old = hospital.post(SCHEDULES, {"items": [{"id": "S9", "doctor_id": "D002", "date": day(4),
                                               "period": "morning", "total": 5, "fee_fen": 1}]})
    assert old.status_code == 422 and error_code(old) == "validation_error", old.get_json()
    app.config["OPEN_API_BATCH_MAX"], previous = 1, app.config["OPEN_API_BATCH_MAX"]
    try:
        too_many = hospital.post(SCHEDULES, {"items": [good, {**good, "external_id": "S11"}]})
        assert too_many.status_code == 422 and error_code(too_many) == "batch_too_large"
    finally:
        app.config["OPEN_API_BATCH_MAX"] = previous
    assert row_counts(app) == {**before, "open_api_calls": row_counts(app)["open_api_calls"]}
    # total below booked (1 booked on S1)
    with app.app_context():
        db.session.execute(update(Schedule).where(Schedule.id == schedule_id).values(
            total=3, available=1))  # 2 booked
        db.session.commit()
        db.session.remove()
    below = hospital.post(SCHEDULES, {"items": [
        clinic("S1", "D001", 3, total=1)]})
    assert below.status_code == 422
    assert "total" in below.get_json()["error"]["details"]["items"]["0"]
    ok = hospital.post(SCHEDULES, {"items": [
        clinic("S1", "D001", 3, total=2)]})
    assert ok.status_code == 200, ok.get_json()
    with app.app_context():
        row = db.session.get(Schedule, schedule_id)
        assert (row.total, row.available) == (2, 0)
        db.session.remove()
    bad_department = hospital.post(DEPTS, {"items": [{"external_id": "A", "name": "外科",
                                                      "parent_external_id": "XNK"}]})
    assert bad_department.status_code == 422  # XNK is second-level already


def test_hospitals_are_isolated(app, client, hospitals, verified, no_lag):  # noqa: F811
    a, b = hospitals("甲医院"), hospitals("乙医院")
    catalogue(a)
    person = verified(1)[0]
    booked = book(client, person, internal_schedule(app, a.hospital_id, "S1"))
    assert booked.status_code == 201
    order_no = booked.get_json()["registration"]["order_no"] \
        if "registration" in booked.get_json() else None
    with app.app_context():
        order_no = order_no or db.session.scalar(select(Registration.order_no))
        db.session.remove()
    before = row_counts(app)
    # B knows nothing of A's ids
    doctor = b.post(DOCTORS, {"items": [{"external_id": "D001", "department_external_id": "XNK",
                                         "name": "冒名", "title": "医师"}]})
    assert doctor.status_code == 422
    schedule = b.post(SCHEDULES, {"items": [clinic("S1", "D001", 3, total=1, fee_fen=1)]})
    assert schedule.status_code == 422
    stop = b.post("/open/v1/schedules/S1/stop", {"reason": "停诊"})
    assert stop.status_code == 404 and error_code(stop) == "schedule_not_found"
    visit = b.post(f"/open/v1/registrations/{order_no}/visit")
    assert visit.status_code == 404 and error_code(visit) == "registration_not_found"
    assert b.get("/open/v1/registrations/changes").get_json()["items"] == []
    after = row_counts(app)
    assert {k: v for k, v in after.items() if k != "open_api_calls"} == \
        {k: v for k, v in before.items() if k != "open_api_calls"}
    # B's own "NK" is its own department, A's untouched
    own = b.post(DEPTS, {"items": [{"external_id": "NK", "name": "乙内科"}]})
    assert own.get_json()["created"] == 1
    with app.app_context():
        names = dict(db.session.execute(select(Department.hospital_id, Department.name).where(
            Department.code == "NK")).all())
        assert names == {a.hospital_id: "内科", b.hospital_id: "乙内科"}
        db.session.remove()
    assert len(a.get("/open/v1/registrations/changes").get_json()["items"]) == 1


def test_changes_feed_pages_with_a_cursor(app, client, hospitals, verified):  # noqa: F811
    """With the feed's lag: MariaDB keeps updated_at to the second, so an order changed in the
    same second as one already given out would sort behind the cursor; the feed only shows a
    second once it is over (plus the lag), which the sleeps below wait for."""
    app.config["OPEN_API_CHANGES_LAG_SECONDS"], previous = 2, app.config[
        "OPEN_API_CHANGES_LAG_SECONDS"]
    try:
        _changes_feed(app, client, hospitals, verified)
    finally:
        app.config["OPEN_API_CHANGES_LAG_SECONDS"] = previous


def _changes_feed(app, client, hospitals, verified):  # noqa: F811
    hospital = hospitals()
    catalogue(hospital)
    people = verified(2)
    for person in people:
        assert book(client, person, internal_schedule(app, hospital.hospital_id, "S1")) \
            .status_code == 201
    assert hospital.get("/open/v1/registrations/changes").get_json()["items"] == []  # too new
    time.sleep(3.1)
    first = hospital.get("/open/v1/registrations/changes", query="limit=1").get_json()
    assert len(first["items"]) == 1 and first["has_more"] is True
    assert first["items"][0]["schedule_external_id"] == "S1"
    assert first["items"][0]["doctor_external_id"] == "D001"
    assert first["items"][0]["department_external_id"] == "XNK"
    assert "*" in first["items"][0]["patient_name"]
    second = hospital.get("/open/v1/registrations/changes",
                          query=f"limit=1&cursor={first['next_cursor']}").get_json()
    assert len(second["items"]) == 1 and second["items"][0]["order_no"] != \
        first["items"][0]["order_no"]
    third = hospital.get("/open/v1/registrations/changes",
                         query=f"limit=10&cursor={second['next_cursor']}").get_json()
    assert third["items"] == [] and third["next_cursor"] == second["next_cursor"]
    # a change brings the order back, after the cursor
    stop = hospital.post("/open/v1/schedules/S1/stop", {"reason": "医生出差"})
    assert stop.status_code == 200, stop.get_json()
    assert stop.get_json()["closed"] == 2
    time.sleep(3.1)
    again = hospital.get("/open/v1/registrations/changes",
                         query=f"cursor={second['next_cursor']}").get_json()
    assert {item["status"] for item in again["items"]} == {"closed"}
    assert len(again["items"]) == 2
    bad = hospital.get("/open/v1/registrations/changes", query="cursor=not-a-cursor")
    assert bad.status_code == 422 and error_code(bad) == "invalid_cursor"


def test_stop_and_visit_reuse_the_staff_flows(app, client, hospitals, verified):  # noqa: F811
    hospital = hospitals()
    catalogue(hospital)
    person = verified(1)[0]
    booking = book(client, person, internal_schedule(app, hospital.hospital_id, "S2"))
    assert booking.status_code == 201
    pay(app, booking.get_json())
    with app.app_context():
        registration = db.session.scalar(select(Registration))
        assert registration.status == "booked"
        order_no = registration.order_no
        # the clinic is today (as if days had passed)
        db.session.execute(update(Registration).values(visit_date=local_today()))
        db.session.commit()
        db.session.remove()
    visit = hospital.post(f"/open/v1/registrations/{order_no}/visit")
    assert visit.status_code == 200, visit.get_json()
    assert visit.get_json()["status"] == "visited"
    assert hospital.post(f"/open/v1/registrations/{order_no}/visit").status_code == 200

    booking = book(client, person, internal_schedule(app, hospital.hospital_id, "S1"))
    assert booking.status_code == 201
    pay(app, booking.get_json())
    stop = hospital.post("/open/v1/schedules/S1/stop", {"reason": "医生出差"})
    assert stop.status_code == 200, stop.get_json()
    assert stop.get_json() == {"external_id": "S1", "status": "stopped", "stopped": 1,
                               "closed": 0}
    again = hospital.post("/open/v1/schedules/S1/stop", {"reason": "医生出差"})
    assert again.status_code == 200 and again.get_json()["stopped"] == 0
    with app.app_context():
        statuses = set(db.session.scalars(select(Registration.status)).all())
        assert "stopped" in statuses or "refunded" in statuses
        db.session.remove()
    changed = hospital.post(SCHEDULES, {"items": [
        clinic("S1", "D001", 3, total=9)]})
    assert changed.status_code == 422  # a stopped clinic is not changed
    assert hospital.post("/open/v1/schedules/NOPE/stop", {"reason": "x"}).status_code == 404
    assert hospital.post("/open/v1/schedules/S2/stop", {}).status_code == 422
