"""Caps against scalpers: per account, per patient ID number across accounts, per device and
per address; attempts per minute and active registrations per visit day and per hospital;
flags for staff. Every refusal names its limit and when it resets, and changes nothing."""
import threading

import pytest
import requests
from sqlalchemy import func, select

from app.extensions import db
from tests.booking.conftest import (book, catalogue, make_patient, person_id_number,  # noqa: F401
                                    schedule_row, verified)
from tests.conftest import row_counts

SETTINGS = "/api/v1/staff/settings/booking-limits"


@pytest.fixture
def admin(staff_factory):
    return staff_factory("admin")


def set_limits(client, admin, **values):
    response = client.put(SETTINGS, headers=admin["headers"], json=values)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def book_from(client, person, schedule_id, device=None, patient_id=None):
    headers = {**person["headers"], **({"X-Device-Id": device} if device else {})}
    return client.post("/api/v1/registrations", headers=headers, json={
        "schedule_id": schedule_id, "patient_id": patient_id or person["patient_id"]})


def error(response):
    return response.get_json()["error"]


def registrations(app):
    from app.booking.models import Registration
    with app.app_context():
        count = db.session.scalar(select(func.count(Registration.id)))
        db.session.remove()
    return count


def test_attempts_per_minute_per_account(client, app, admin, catalogue, verified):  # noqa: F811
    set_limits(client, admin, account_attempts_per_minute=2)
    person, = verified(1)
    schedule_id = catalogue["schedule"]()
    assert book_from(client, person, schedule_id).status_code == 201
    assert book_from(client, person, schedule_id).status_code == 409  # already booked: counted
    before = row_counts(app)
    refused = book_from(client, person, schedule_id)
    assert refused.status_code == 429
    body = error(refused)
    assert body["code"] == "booking_attempts_limited"
    assert body["details"]["limit"] == "account_attempts_per_minute"
    assert body["details"]["max"] == 2 and body["details"]["resets_at"]
    assert "每分钟最多 2 次" in body["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert row_counts(app) == before


def test_active_bookings_per_day_per_account(client, app, admin, catalogue, verified):  # noqa: F811
    set_limits(client, admin, account_per_day=2)
    person, = verified(1)
    with app.app_context():  # a second person on the same account
        second = make_patient(person["id"], person_id_number(900_001), name="李四")
        db.session.commit()
        db.session.remove()
    morning = catalogue["schedule"](days_ahead=3)
    afternoon = catalogue["schedule"](days_ahead=3, period="afternoon")
    assert book_from(client, person, morning).status_code == 201
    assert book_from(client, person, afternoon).status_code == 201
    before, seats = row_counts(app), schedule_row(app, morning)["available"]
    refused = book_from(client, person, morning, patient_id=second)
    assert refused.status_code == 409
    body = error(refused)
    assert body["code"] == "booking_limit_reached"
    assert body["details"]["limit"] == "account_per_day" and body["details"]["current"] == 2
    assert body["details"]["resets_at"] and "取消其中一个" in body["message"]
    assert row_counts(app) == before
    assert schedule_row(app, morning)["available"] == seats  # no seat was taken
    # another day is another count
    assert book_from(client, person, catalogue["schedule"](days_ahead=4),
                     patient_id=second).status_code == 201


def test_one_person_across_accounts(client, app, admin, catalogue, verified):  # noqa: F811
    set_limits(client, admin, id_number_per_day=1)
    first, second = verified(2)
    with app.app_context():  # the second account adds the first account's person
        same_person = make_patient(second["id"], person_id_number(first["id"]))
        db.session.commit()
        db.session.remove()
    morning = catalogue["schedule"](days_ahead=3)
    afternoon = catalogue["schedule"](days_ahead=3, period="afternoon")
    assert book_from(client, first, morning).status_code == 201
    refused = book_from(client, second, afternoon, patient_id=same_person)
    assert refused.status_code == 409
    assert error(refused)["details"]["limit"] == "id_number_per_day"
    assert "就诊人证件" in error(refused)["message"]
    assert book_from(client, second, afternoon).status_code == 201  # their own person is fine


def test_devices_and_hospitals(client, app, admin, catalogue, verified):  # noqa: F811
    set_limits(client, admin, device_per_day=2, device_per_hospital=3)
    people = verified(5)
    schedules = [catalogue["schedule"](days_ahead=3, period=p) for p in ("morning", "afternoon")]
    assert book_from(client, people[0], schedules[0], device="phone-A").status_code == 201
    assert book_from(client, people[1], schedules[1], device="phone-A").status_code == 201
    refused = book_from(client, people[2], schedules[0], device="phone-A")
    assert refused.status_code == 409
    assert error(refused)["details"]["limit"] == "device_per_day"
    assert book_from(client, people[2], schedules[0], device="phone-B").status_code == 201
    later = catalogue["schedule"](days_ahead=4)
    assert book_from(client, people[3], later, device="phone-A").status_code == 201
    at_hospital = book_from(client, people[4], catalogue["schedule"](days_ahead=5),
                            device="phone-A")
    assert at_hospital.status_code == 409
    assert error(at_hospital)["details"]["limit"] == "device_per_hospital"
    assert error(at_hospital)["details"]["resets_at"] is None
    # the device and the address are stored as blind indexes only
    from app.booking.models import Registration
    with app.app_context():
        row = db.session.scalars(select(Registration)).first()
        assert len(row.device_index) == 64 and "phone" not in row.device_index
        assert row.ip_index and "127.0.0.1" not in row.ip_index
        db.session.remove()


def test_repeated_trips_flag_the_account_for_staff(client, app, admin, catalogue, verified,
                                                   staff_factory):  # noqa: F811
    set_limits(client, admin, account_per_day=1, flag_trips_per_day=3)
    person, = verified(1)
    operator = staff_factory("operator")
    schedules = [catalogue["schedule"](days_ahead=3, period=p) for p in ("morning", "afternoon")]
    assert book_from(client, person, schedules[0]).status_code == 201
    for _ in range(4):
        assert book_from(client, person, schedules[1]).status_code == 409
    from tests.payments.conftest import run_jobs
    run_jobs(app)
    flags = client.get("/api/v1/staff/booking-limit-flags?status=open",
                       headers=operator["headers"]).get_json()
    assert flags["total"] == 1
    flag = flags["items"][0]
    assert flag["user_id"] == person["id"] and flag["last_limit"] == "account_per_day"
    url = f"/api/v1/staff/booking-limit-flags/{flag['id']}/resolve"
    assert client.post(url, headers=person["headers"], json={"note": "x"}).status_code == 401
    assert client.post(url, headers=operator["headers"], json={}).status_code == 422
    done = client.post(url, headers=operator["headers"], json={"note": "已电话核实,非黄牛"})
    assert done.status_code == 200 and done.get_json()["status"] == "resolved"
    assert client.post(url, headers=operator["headers"], json={"note": "再次"}).status_code == 409
    assert client.post("/api/v1/staff/booking-limit-flags/999999/resolve",
                       headers=operator["headers"], json={"note": "x"}).status_code == 404


def test_settings_are_admins_and_bad_values_change_nothing(client, app, admin, staff_factory):
    current = client.get(SETTINGS, headers=admin["headers"]).get_json()
    assert current["account_per_day"] == app.config["LIMIT_ACCOUNT_PER_DAY"]
    operator = staff_factory("operator")
    assert client.get(SETTINGS, headers=operator["headers"]).status_code == 403
    before = row_counts(app)
    for bad in ({}, {"account_per_day": 0}, {"account_per_day": "3"}, {"unknown": 1},
                {"device_per_day": 101}, {"account_per_day": True}):
        response = client.put(SETTINGS, headers=admin["headers"], json=bad)
        assert response.status_code == 422, (bad, response.get_json())
    assert row_counts(app) == before
    assert client.get(SETTINGS, headers=admin["headers"]).get_json() == current


def test_caps_hold_under_concurrency(app, admin, client, catalogue, verified):  # noqa: F811
    """Twenty accounts on one device book at once (real server, threads): exactly the cap."""
    set_limits(client, admin, device_per_day=5)
    people = verified(20)
    schedule_id = catalogue["schedule"](total=50)
    url = app.config["LIVE_URL"] + "/api/v1/registrations"
    results, start = [], threading.Barrier(len(people))

    def attempt(person):
        start.wait()
        response = requests.post(url, timeout=60, json={
            "schedule_id": schedule_id, "patient_id": person["patient_id"]},
            headers={**person["headers"], "X-Device-Id": "farm-phone-1"})
        results.append((response.status_code,
                        response.json().get("error", {}).get("details", {}).get("limit")))

    threads = [threading.Thread(target=attempt, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(status for status, _ in results).count(201) == 5, results
    assert {limit for status, limit in results if status != 201} == {"device_per_day"}
    assert registrations(app) == 5
    assert schedule_row(app, schedule_id)["available"] == 45
