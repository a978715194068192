"""Registration rules and lifecycle, over the HTTP API with the real payment path."""
from datetime import datetime, time, timedelta

import pytest

from app.booking.models import Registration
from app.common.time import LOCAL_TZ
from app.extensions import db
from tests.booking.conftest import (book, local_now, make_patient, pay, registration_row,
                                    schedule_row)
from tests.conftest import ID_MOTHER, row_counts
from tests.payments.conftest import run_jobs, wait_for


def open_until_late(app, hospital_id):
    """Tests of tomorrow's visits: booking and cancelling stay open until 23:59 tonight, so
    they do not depend on the hour the suite runs at."""
    from app.hospitals.models import Hospital

    with app.app_context():
        hospital = db.session.get(Hospital, hospital_id)
        hospital.stop_time = hospital.cancel_time = time(23, 59)
        db.session.commit()
        db.session.remove()


def test_book_pay_and_get_a_visit_number(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"](total=5, fee_fen=3000)
    person, = verified(1)
    response = book(client, person, schedule_id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["registration"]["status"] == "pending_payment"
    assert body["payment"]["amount_fen"] == 3000 and body["pay_params"]["signType"] == "RSA"
    assert schedule_row(app, schedule_id)["available"] == 4
    pay(app, body)
    registration = registration_row(app, body["registration"]["id"])
    assert registration["status"] == "booked" and registration["visit_number"] == 1
    detail = client.get(f"/api/v1/registrations/{body['registration']['id']}",
                        headers=person["headers"]).get_json()
    assert detail["status_name"] == "已预约" and detail["doctor"]["name"] == "李医生"
    notes = client.get("/api/v1/notifications", headers=person["headers"]).get_json()
    assert [n["kind"] for n in notes["items"]] == ["registration_booked"]
    mine = client.get("/api/v1/registrations?status=booked", headers=person["headers"]).get_json()
    assert mine["total"] == 1


def test_rules_each_refuse_with_a_code_and_change_nothing(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"]()
    alice, bob = verified(2)
    assert book(client, alice, schedule_id).status_code == 201
    before = row_counts(app)
    available = schedule_row(app, schedule_id)["available"]
    cases = [
        (book(client, bob, schedule_id, patient_id=alice["patient_id"]), 404, "patient_not_found"),
        (book(client, alice, schedule_id), 409, "already_booked"),
        (book(client, alice, 999999), 404, "schedule_not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.get_json()
        assert response.get_json()["error"]["code"] == code
    with app.app_context():
        from app.users.models import User
        db.session.get(User, bob["id"]).real_name_status = "pending"
        db.session.commit()
        db.session.remove()
    unverified = book(client, bob, schedule_id)
    assert unverified.status_code == 403
    assert unverified.get_json()["error"]["code"] == "real_name_required"
    assert row_counts(app) == before
    assert schedule_row(app, schedule_id)["available"] == available


def test_per_day_cap_counts_active_bookings_of_one_patient(client, app, catalogue, verified):
    app.config["REGISTRATION_DAILY_LIMIT"] = 2
    try:
        person, = verified(1)
        morning = catalogue["schedule"](period="morning")
        afternoon = catalogue["schedule"](period="afternoon")
        other = catalogue["schedule"](doctor_id=catalogue["another_doctor"]())
        assert book(client, person, morning).status_code == 201
        assert book(client, person, afternoon).status_code == 201
        third = book(client, person, other)
        assert third.status_code == 409
        assert third.get_json()["error"]["code"] == "daily_limit_reached"
        # another patient of the same account is counted separately
        with app.app_context():
            second_patient = make_patient(person["id"], ID_MOTHER, "王芳")
            db.session.commit()
            db.session.remove()
        assert book(client, person, other, patient_id=second_patient).status_code == 201
    finally:
        app.config["REGISTRATION_DAILY_LIMIT"] = 3


def _service_book(app, person, schedule_id, now):
    from app.booking import services
    from app.errors import AppError
    from app.users.models import User

    with app.app_context():
        user = db.session.get(User, person["id"])
        try:
            services.book(user, schedule_id, person["patient_id"], now=now)
            return "ok"
        except AppError as error:
            return error.code
        finally:
            db.session.remove()


def test_release_window_edges(app, catalogue, verified):
    schedule_id = catalogue["schedule"](days_ahead=7)
    person, = verified(1)
    work_date = local_now().date() + timedelta(days=7)
    release = datetime.combine(work_date - timedelta(days=7), time(8, 30), LOCAL_TZ)
    stop = datetime.combine(work_date - timedelta(days=1), time(15, 0), LOCAL_TZ)
    assert _service_book(app, person, schedule_id, release - timedelta(seconds=1)) == "not_released"
    assert _service_book(app, person, schedule_id, stop) == "booking_closed"
    assert _service_book(app, person, schedule_id, stop + timedelta(hours=1)) == "booking_closed"
    assert _service_book(app, person, schedule_id, release) == "ok"


def test_cancel_before_deadline_refunds_and_returns_the_slot(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"](total=3, fee_fen=2000)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    registration_id = body["registration"]["id"]
    response = client.post(f"/api/v1/registrations/{registration_id}/cancel",
                           headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"  # the refund is the worker's
    assert schedule_row(app, schedule_id)["available"] == 3
    run_jobs(app)
    assert wait_for(lambda: registration_row(app, registration_id)["status"] == "refunded")
    again = client.post(f"/api/v1/registrations/{registration_id}/cancel",
                        headers=person["headers"])
    assert again.status_code == 409
    # the slot is bookable again by the same patient
    assert book(client, person, schedule_id).status_code == 201


def test_cancel_after_deadline_is_refused(app, catalogue, verified, client):
    from app.booking import services
    from app.errors import AppError
    from app.users.models import User

    schedule_id = catalogue["schedule"](days_ahead=2)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    deadline = datetime.combine(local_now().date() + timedelta(days=1), time(15, 30), LOCAL_TZ)
    with app.app_context():
        user = db.session.get(User, person["id"])
        with pytest.raises(AppError) as refused:
            services.cancel(user, registration_id=body["registration"]["id"], now=deadline)
        assert refused.value.code == "cancel_deadline_passed"
        assert "15:30" in refused.value.message
        db.session.remove()
    assert registration_row(app, body["registration"]["id"])["status"] == "booked"
    assert schedule_row(app, schedule_id)["available"] == 9


def test_unpaid_booking_returns_its_slot_at_ttl(client, app, catalogue, verified):
    from tests.payments.test_payments import _expire_now
    from app.tasks.payments import sweep_expired_payments

    schedule_id = catalogue["schedule"](total=1)
    first, second = verified(2)
    body = book(client, first, schedule_id).get_json()
    sold_out = book(client, second, schedule_id)
    assert sold_out.status_code == 409 and sold_out.get_json()["error"]["code"] == "slot_sold_out"
    _expire_now(app, body["payment"]["id"])
    with app.app_context():
        assert sweep_expired_payments() == {body["payment"]["id"]: "closed"}
        db.session.remove()
    assert registration_row(app, body["registration"]["id"])["status"] == "closed"
    assert schedule_row(app, schedule_id)["available"] == 1
    assert book(client, second, schedule_id).status_code == 201  # the gate got it back too


def test_user_cancels_before_paying(client, app, catalogue, verified):
    """A user's cancel is `cancelled` (with its time), not the timeout's `closed`."""
    schedule_id = catalogue["schedule"](total=2)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    response = client.post(f"/api/v1/registrations/{body['registration']['id']}/cancel",
                           headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["cancelled_at"] is not None
    assert schedule_row(app, schedule_id)["available"] == 2
    run_jobs(app)  # the payment is closed at WeChat, then here
    from tests.payments.conftest import payment_state
    assert payment_state(app, body["payment"]["id"])["status"] == "closed"
    assert registration_row(app, body["registration"]["id"])["status"] == "cancelled"
    kinds = [n["kind"] for n in client.get("/api/v1/notifications",
                                           headers=person["headers"]).get_json()["items"]]
    assert kinds == ["registration_cancelled"]


def test_stopping_a_clinic_refunds_and_notifies_every_booked_order_once(client, app, catalogue,
                                                                       verified, staff_factory):
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from app.extensions import redis_client
    from tests.payments.test_payments import _wait_for

    schedule_id = catalogue["schedule"](total=10, fee_fen=1500)
    people = verified(4)
    registrations = []
    for person in people[:3]:
        body = book(client, person, schedule_id).get_json()
        pay(app, body)
        registrations.append(body["registration"]["id"])
    unpaid = book(client, people[3], schedule_id).get_json()["registration"]["id"]
    operator = staff_factory("operator")
    response = client.post(f"/api/v1/staff/schedules/{schedule_id}/stop",
                           json={"reason": "医生临时出诊任务"}, headers=operator["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"schedule_id": schedule_id, "stopped": 3, "closed": 1}
    twice = client.post(f"/api/v1/staff/schedules/{schedule_id}/stop",
                        json={"reason": "重复操作"}, headers=operator["headers"])
    assert twice.status_code == 409
    with app.app_context():
        SimpleWorker(["default"], connection=redis_client.conn,
                     serializer=JSONSerializer).work(burst=True)
        db.session.remove()
    for registration_id in registrations:
        assert _wait_for(lambda: registration_row(app, registration_id)["status"] == "refunded")
    assert registration_row(app, unpaid)["status"] == "closed"
    for person in people[:3]:
        kinds = [n["kind"] for n in client.get("/api/v1/notifications",
                                               headers=person["headers"]).get_json()["items"]]
        assert kinds.count("schedule_stopped") == 1
    from app.payments.models import Payment, Refund
    with app.app_context():
        assert db.session.query(Refund).count() == 3
        assert {p.status for p in db.session.query(Payment)} == {"refunded", "closed"}
        db.session.remove()
    refused = book(client, people[3], schedule_id)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] in ("schedule_stopped", "slot_sold_out")


def test_reminders_are_sent_once_per_order(client, app, catalogue, verified):
    from app.booking.services import send_visit_reminders

    open_until_late(app, catalogue["hospital_id"])
    schedule_id = catalogue["schedule"](days_ahead=1)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    with app.app_context():
        assert send_visit_reminders() == 1
        assert send_visit_reminders() == 0
        db.session.remove()
    kinds = [n["kind"] for n in client.get("/api/v1/notifications",
                                           headers=person["headers"]).get_json()["items"]]
    assert kinds.count("visit_reminder") == 1


def test_no_shows_block_new_bookings_with_the_reason(client, app, catalogue, verified):
    from app.booking.models import Registration
    from app.booking.services import mark_no_shows

    open_until_late(app, catalogue["hospital_id"])
    app.config.update(NO_SHOW_LIMIT=2, NO_SHOW_WINDOW_DAYS=90, NO_SHOW_BLOCK_DAYS=30)
    try:
        person, = verified(1)
        ids = []
        for days in (1, 2):
            schedule_id = catalogue["schedule"](days_ahead=days)
            body = book(client, person, schedule_id).get_json()
            pay(app, body)
            ids.append(body["registration"]["id"])
        with app.app_context():
            assert mark_no_shows(today=local_now().date()) == 0  # their days have not ended
            assert mark_no_shows(today=local_now().date() + timedelta(days=2)) == 2
            assert {db.session.get(Registration, i).status for i in ids} == {"no_show"}
            db.session.remove()
        schedule_id = catalogue["schedule"](days_ahead=4)
        blocked = book(client, person, schedule_id)
        assert blocked.status_code == 403
        error = blocked.get_json()["error"]
        assert error["code"] == "booking_blocked" and "爽约" in error["message"]
        assert error["details"]["no_shows"] == 2
        app.config["NO_SHOW_LIMIT"] = 3
        assert book(client, person, schedule_id).status_code == 201
    finally:
        app.config.update(NO_SHOW_LIMIT=3)


def test_visited_orders_are_not_no_shows(client, app, catalogue, verified, staff_factory):
    from app.booking.services import mark_no_shows

    open_until_late(app, catalogue["hospital_id"])
    schedule_id = catalogue["schedule"](days_ahead=1)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    operator = staff_factory("operator")
    path = f"/api/v1/staff/registrations/{body['registration']['id']}/visited"
    early = client.post(path, headers=operator["headers"])
    assert early.status_code == 409 and early.get_json()["error"]["code"] == "visit_day_not_reached"
    with app.app_context():  # the visit day arrives
        db.session.get(Registration, body["registration"]["id"]).visit_date = local_now().date()
        db.session.commit()
        db.session.remove()
    visited = client.post(path, headers=operator["headers"])
    assert visited.status_code == 200 and visited.get_json()["status"] == "visited"
    with app.app_context():
        assert mark_no_shows(today=local_now().date() + timedelta(days=1)) == 0
        db.session.remove()


def test_paying_a_closed_registration_is_refused(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"]()
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    client.post(f"/api/v1/registrations/{body['registration']['id']}/cancel",
                headers=person["headers"])
    again = client.post("/api/v1/payments/prepay", headers=person["headers"], json={
        "order_type": "registration", "order_id": body["registration"]["id"]})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "order_not_payable"


def test_another_users_registration_is_404(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"]()
    alice, bob = verified(2)
    registration_id = book(client, alice, schedule_id).get_json()["registration"]["id"]
    for method, path in (("get", f"/api/v1/registrations/{registration_id}"),
                         ("post", f"/api/v1/registrations/{registration_id}/cancel")):
        response = getattr(client, method)(path, headers=bob["headers"])
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "registration_not_found"
    prepay = client.post("/api/v1/payments/prepay", headers=bob["headers"], json={
        "order_type": "registration", "order_id": registration_id})
    assert prepay.status_code == 404
