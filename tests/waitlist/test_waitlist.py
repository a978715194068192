"""The waitlist (候补): join rules and bad input, order and priority, a hold paid or lapsed,
the last slot back to the public, leaving, the expiry at the booking close, added capacity,
停诊, and other users' ids."""
from datetime import datetime, timedelta

from app.common.time import LOCAL_TZ
from app.extensions import db
from tests.booking.conftest import pay, registration_row, schedule_row
from tests.conftest import row_counts
from tests.waitlist.conftest import entries, entry, expire_hold_now, join, make_due


def _code(response):
    return response.get_json()["error"]["code"]


def _refused(app, response, status, code, before):
    assert response.status_code == status, response.get_json()
    assert _code(response) == code
    assert row_counts(app) == before  # nothing changed


def _cancel(client, person, registration_id):
    response = client.post(f"/api/v1/registrations/{registration_id}/cancel",
                           headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _mine(client, person, **query):
    response = client.get("/api/v1/waitlist", headers=person["headers"], query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _notifications(app, user_id, kind):
    from app.notifications.models import Notification

    with app.app_context():
        rows = [(n.title, n.body, n.ref_type, n.ref_id) for n in db.session.query(Notification)
                .filter_by(user_id=user_id, kind=kind).order_by(Notification.id)]
        db.session.remove()
        return rows


def _prepay(client, person, registration_id):
    return client.post("/api/v1/payments/prepay", headers=person["headers"],
                       json={"order_type": "registration", "order_id": registration_id})


# ------------------------------------------------------------------------------ joining

def test_join_a_sold_out_schedule(app, client, sold_out, verified):
    state = sold_out()
    waiter, = verified(1, prefix="waiter")
    response = join(client, waiter, state["schedule_id"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "waiting" and body["position"] == 1
    assert body["registration_id"] is None and body["pay_deadline"] is None
    assert body["schedule"]["id"] == state["schedule_id"]
    assert body["schedule"]["hospital"]["name"]
    listed = _mine(client, waiter)
    assert listed["total"] == 1 and listed["items"][0]["position"] == 1


def test_bad_joins_answer_4xx_with_a_stable_code_and_change_nothing(app, client, catalogue,
                                                                   sold_out, verified):
    state = sold_out()
    schedule_id = state["schedule_id"]
    waiter, other = verified(2, prefix="bad")
    assert join(client, waiter, schedule_id).status_code == 201
    before = row_counts(app)

    # twice for the same patient
    _refused(app, join(client, waiter, schedule_id), 409, "waitlist_already_joined", before)
    # a schedule with seats
    open_id = catalogue["schedule"](total=5, days_ahead=4)
    before = row_counts(app)
    _refused(app, join(client, waiter, open_id), 409, "waitlist_schedule_has_seats", before)
    # the patient already holds an active registration for it
    _refused(app, join(client, state["holder"], schedule_id), 409, "already_booked", before)
    # someone else's patient (as if it did not exist)
    _refused(app, join(client, other, schedule_id, waiter["patient_id"]), 404,
             "patient_not_found", before)
    # no such schedule
    _refused(app, join(client, other, 999999), 404, "schedule_not_found", before)
    # booking for the day has closed (today's clinic), not released yet (beyond the window)
    today_id = catalogue["schedule"](total=1, days_ahead=0, period="afternoon")
    far_id = catalogue["schedule"](total=1, days_ahead=20)
    before = row_counts(app)
    _refused(app, join(client, other, today_id), 409, "booking_closed", before)
    _refused(app, join(client, other, far_id), 409, "not_released", before)
    # a stopped clinic
    with app.app_context():
        from app.hospitals.models import Schedule
        db.session.get(Schedule, far_id).status = "stopped"
        db.session.commit()
        db.session.remove()
    before = row_counts(app)
    _refused(app, join(client, other, far_id), 409, "schedule_stopped", before)
    # real name not verified
    with app.app_context():
        from app.users.models import User
        db.session.get(User, other["id"]).real_name_status = "none"
        db.session.commit()
        db.session.remove()
    before = row_counts(app)
    _refused(app, join(client, other, schedule_id), 403, "real_name_required", before)
    # malformed bodies never reach the service
    for body in ({}, {"schedule_id": "1", "patient_id": 1}, {"schedule_id": 0, "patient_id": 1},
                 {"schedule_id": schedule_id, "patient_id": waiter["patient_id"], "x": 1}):
        response = client.post("/api/v1/waitlist", headers=waiter["headers"], json=body)
        assert response.status_code == 422, (body, response.get_json())
    assert row_counts(app) == before
    # not logged in
    assert client.post("/api/v1/waitlist", json={"schedule_id": schedule_id,
                                                 "patient_id": 1}).status_code == 401


def test_caps_on_active_waits_per_account_and_device(app, client, catalogue, sold_out,
                                                      verified, staff_factory):
    """The account's cap (WAITLIST_MAX_ACTIVE_PER_USER by default, an admin setting) and the
    device's (app/booking_limits): refused with the limit named, nothing changed."""
    admin = staff_factory("admin")
    assert client.put("/api/v1/staff/settings/booking-limits", headers=admin["headers"],
                      json={"account_waitlist": 2, "device_waitlist": 3}).status_code == 200
    waiter, second, third = verified(3, prefix="capped")
    schedules = [sold_out(days_ahead=days)["schedule_id"] for days in (2, 3, 4)]
    device = {"X-Device-Id": "phone-Z"}

    def join_from(person, schedule_id):
        return client.post("/api/v1/waitlist", headers={**person["headers"], **device},
                           json={"schedule_id": schedule_id, "patient_id": person["patient_id"]})

    assert join_from(waiter, schedules[0]).status_code == 201
    assert join_from(waiter, schedules[1]).status_code == 201
    before = row_counts(app)
    response = join_from(waiter, schedules[2])
    _refused(app, response, 409, "booking_limit_reached", before)
    details = response.get_json()["error"]["details"]
    assert (details["limit"], details["max"], details["current"]) == ("account_waitlist", 2, 2)
    # leaving one frees a place
    first = _mine(client, waiter)["items"][-1]["id"]
    assert client.delete(f"/api/v1/waitlist/{first}",
                         headers=waiter["headers"]).status_code == 200
    assert join_from(waiter, schedules[2]).status_code == 201
    # the same phone, other accounts: three waits in all on it
    assert join_from(second, schedules[0]).status_code == 201
    before = row_counts(app)
    response = join_from(third, schedules[0])
    _refused(app, response, 409, "booking_limit_reached", before)
    assert response.get_json()["error"]["details"]["limit"] == "device_waitlist"
    assert join(client, third, schedules[0]).status_code == 201  # another device is fine


# -------------------------------------------------------------------- order and priority

def test_order_is_priority_then_join_time(app, client, sold_out, verified, staff_factory):
    """A gold member (the level's waitlist priority, as configured) goes before earlier
    joiners; among equals, join time decides."""
    from tests.membership.test_membership import ladder, paid, save

    save(client, staff_factory("admin"), ladder(app, waitlist_priority=2))
    state = sold_out(total=2)
    first, second, vip, last = verified(4, prefix="order")
    paid(app, vip["id"], 5000)  # gold in that ladder
    for person in (first, second, vip, last):
        assert join(client, person, state["schedule_id"]).status_code == 201
    positions = {person["id"]: _mine(client, person)["items"][0]["position"]
                 for person in (first, second, vip, last)}
    assert positions == {vip["id"]: 1, first["id"]: 2, second["id"]: 3, last["id"]: 4}

    # two slots come back: the member first, then the earliest
    for holder, registration_id in zip(state["holders"], state["registration_ids"]):
        _cancel(client, holder, registration_id)
    status = {row["user_id"]: row["status"] for row in entries(app, state["schedule_id"])}
    assert status == {vip["id"]: "offered", first["id"]: "offered", second["id"]: "waiting",
                      last["id"]: "waiting"}
    assert _mine(client, second)["items"][0]["position"] == 1
    assert _mine(client, last)["items"][0]["position"] == 2
    assert schedule_row(app, state["schedule_id"])["available"] == 0


def test_staff_list_a_schedules_waitlist(app, client, sold_out, verified, staff_factory):
    state = sold_out()
    waiters = verified(2, prefix="staffview")
    for person in waiters:
        assert join(client, person, state["schedule_id"]).status_code == 201
    operator = staff_factory("operator")
    response = client.get(f"/api/v1/staff/schedules/{state['schedule_id']}/waitlist",
                          headers=operator["headers"])
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [item["position"] for item in items] == [1, 2]
    assert all(item["patient_name"] == "王*明" for item in items), items
    assert client.get("/api/v1/staff/schedules/999999/waitlist",
                      headers=operator["headers"]).status_code == 404
    # a user token is not a staff token
    assert client.get(f"/api/v1/staff/schedules/{state['schedule_id']}/waitlist",
                      headers=waiters[0]["headers"]).status_code in (401, 403)


# ----------------------------------------------------------------------- holds

def test_a_returned_slot_is_held_for_the_waiter_who_pays_and_is_booked(app, client, sold_out,
                                                                       verified):
    state = sold_out()
    schedule_id = state["schedule_id"]
    waiter, public = verified(2, prefix="hold")
    entry_id = join(client, waiter, schedule_id).get_json()["id"]
    _cancel(client, state["holder"], state["registration_id"])

    mine = _mine(client, waiter)["items"][0]
    assert mine["status"] == "offered" and mine["position"] is None
    assert mine["registration_id"] and mine["pay_deadline"]
    deadline = datetime.fromisoformat(mine["pay_deadline"])
    left = deadline - datetime.now(LOCAL_TZ)
    assert timedelta(minutes=14) < left <= timedelta(minutes=15)
    hold_id = mine["registration_id"]
    assert registration_row(app, hold_id)["status"] == "pending_payment"
    told = _notifications(app, waiter["id"], "waitlist_offered")
    assert len(told) == 1 and told[0][2:] == ("registration", hold_id)
    assert "候补成功" in told[0][0] and "前完成支付" in told[0][1]
    # the slot never reached the public: the schedule and the gate still say sold out
    assert schedule_row(app, schedule_id)["available"] == 0
    response = client.post("/api/v1/registrations", headers=public["headers"], json={
        "schedule_id": schedule_id, "patient_id": public["patient_id"]})
    assert response.status_code == 409 and _code(response) == "slot_sold_out"

    # someone else cannot pay it; the waiter pays through the ordinary prepay
    assert _prepay(client, public, hold_id).status_code == 404
    response = _prepay(client, waiter, hold_id)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    # the payment's window is the hold's, not the ordinary TTL
    assert datetime.fromisoformat(body["payment"]["expires_at"]) <= deadline + timedelta(
        seconds=1)
    pay(app, body)
    from tests.payments.conftest import wait_for
    assert wait_for(lambda: registration_row(app, hold_id)["status"] == "booked")
    assert entry(app, entry_id)["status"] == "booked"
    assert entry(app, entry_id)["active"] is None
    assert _mine(client, waiter)["items"][0]["booked_registration_id"] == hold_id
    row = schedule_row(app, schedule_id)
    assert row["available"] == 0 and row["numbers_issued"] == 1


def test_an_unpaid_hold_moves_to_the_next_waiter_then_to_the_public(app, client, sold_out,
                                                                    verified):
    state = sold_out()
    schedule_id = state["schedule_id"]
    first, second, public = verified(3, prefix="lapse")
    first_entry = join(client, first, schedule_id).get_json()["id"]
    second_entry = join(client, second, schedule_id).get_json()["id"]
    _cancel(client, state["holder"], state["registration_id"])
    hold = entry(app, first_entry)
    assert hold["status"] == "offered"
    # the first waiter asked for pay parameters (a payment exists), then let it lapse
    assert _prepay(client, first, hold["registration_id"]).status_code == 200

    # paying a hold whose time is up (before its close job ran, and after): 409 with a
    # stable code, nothing changed
    make_due(app, first_entry)
    before = row_counts(app)
    _refused(app, _prepay(client, first, hold["registration_id"]), 409, "payment_expired",
             before)
    assert expire_hold_now(app, first_entry) == "closed"
    before = row_counts(app)
    _refused(app, _prepay(client, first, hold["registration_id"]), 409, "order_not_payable",
             before)

    assert entry(app, first_entry)["status"] == "lapsed"
    assert entry(app, first_entry)["end_reason"] == "unpaid"
    assert registration_row(app, hold["registration_id"])["status"] == "closed"
    nxt = entry(app, second_entry)
    assert nxt["status"] == "offered" and nxt["registration_id"] != hold["registration_id"]
    assert schedule_row(app, schedule_id)["available"] == 0
    # a lapsed waiter may join again (at the end of the queue)
    again = join(client, first, schedule_id)
    assert again.status_code == 201 and again.get_json()["position"] == 1

    # the second hold lapses too, before any prepay: the slot goes to the first again
    assert expire_hold_now(app, second_entry) == "closed"
    assert entry(app, second_entry)["status"] == "lapsed"
    third = entry(app, again.get_json()["id"])
    assert third["status"] == "offered"
    # and when that one lapses with nobody left, the slot goes back to the public
    assert expire_hold_now(app, third["id"]) == "closed"
    assert schedule_row(app, schedule_id)["available"] == 1
    response = client.post("/api/v1/registrations", headers=public["headers"], json={
        "schedule_id": schedule_id, "patient_id": public["patient_id"]})
    assert response.status_code == 201, response.get_json()
    # the jobs are idempotent: running one again changes nothing
    from app.waitlist import services
    with app.app_context():
        assert services.expire_hold(first_entry) == "noop"
        db.session.remove()


def test_cancelling_a_hold_lapses_it_and_passes_the_slot_on(app, client, sold_out, verified):
    state = sold_out()
    first, second = verified(2, prefix="giveup")
    first_entry = join(client, first, state["schedule_id"]).get_json()["id"]
    second_entry = join(client, second, state["schedule_id"]).get_json()["id"]
    _cancel(client, state["holder"], state["registration_id"])
    hold_id = entry(app, first_entry)["registration_id"]
    _cancel(client, first, hold_id)
    assert entry(app, first_entry)["status"] == "lapsed"
    assert entry(app, first_entry)["end_reason"] == "cancelled"
    assert entry(app, second_entry)["status"] == "offered"


def test_the_sweep_closes_a_hold_whose_job_was_lost(app, client, sold_out, verified):
    from sqlalchemy import update

    from app.waitlist import services
    from app.waitlist.models import WaitlistEntry

    state = sold_out()
    waiter, = verified(1, prefix="sweep")
    entry_id = join(client, waiter, state["schedule_id"]).get_json()["id"]
    _cancel(client, state["holder"], state["registration_id"])
    with app.app_context():
        assert services.sweep()["holds_closed"] == 0  # not due yet
        db.session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                           .values(hold_expires_at=datetime(2000, 1, 1)))
        db.session.commit()
        assert services.sweep()["holds_closed"] == 1
        assert services.sweep()["holds_closed"] == 0
        db.session.remove()
    assert entry(app, entry_id)["status"] == "lapsed"
    assert schedule_row(app, state["schedule_id"])["available"] == 1


# ------------------------------------------------------------------------ leaving, expiry

def test_leave_the_waitlist(app, client, sold_out, verified):
    state = sold_out()
    waiter, other = verified(2, prefix="leave")
    entry_id = join(client, waiter, state["schedule_id"]).get_json()["id"]
    before = row_counts(app)
    _refused(app, client.delete(f"/api/v1/waitlist/{entry_id}", headers=other["headers"]),
             404, "waitlist_entry_not_found", before)
    _refused(app, client.delete("/api/v1/waitlist/999999", headers=waiter["headers"]),
             404, "waitlist_entry_not_found", before)
    response = client.delete(f"/api/v1/waitlist/{entry_id}", headers=waiter["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "left" and response.get_json()["position"] is None
    before = row_counts(app)
    _refused(app, client.delete(f"/api/v1/waitlist/{entry_id}", headers=waiter["headers"]),
             409, "waitlist_not_waiting", before)
    # nobody waits any more: a cancel returns the slot to the public
    _cancel(client, state["holder"], state["registration_id"])
    assert schedule_row(app, state["schedule_id"])["available"] == 1
    assert _mine(client, waiter, status="left")["total"] == 1
    assert _mine(client, waiter, status="waiting")["total"] == 0
    assert _mine(client, other)["total"] == 0  # others' waits are not listed
    response = client.get("/api/v1/waitlist?status=nonsense", headers=waiter["headers"])
    assert response.status_code == 422


def test_an_offered_entry_cannot_be_left(app, client, sold_out, verified):
    state = sold_out()
    waiter, = verified(1, prefix="offeredleave")
    entry_id = join(client, waiter, state["schedule_id"]).get_json()["id"]
    _cancel(client, state["holder"], state["registration_id"])
    before = row_counts(app)
    _refused(app, client.delete(f"/api/v1/waitlist/{entry_id}", headers=waiter["headers"]),
             409, "waitlist_not_waiting", before)


def test_waits_expire_when_booking_for_the_day_closes(app, client, sold_out, verified):
    from app.hospitals import rules
    from app.hospitals.models import Schedule
    from app.waitlist import services

    state = sold_out(days_ahead=2)
    waiters = verified(2, prefix="expire")
    ids = [join(client, person, state["schedule_id"]).get_json()["id"] for person in waiters]
    with app.app_context():
        schedule = db.session.get(Schedule, state["schedule_id"])
        stop = rules.stop_at(schedule.hospital, schedule.work_date)
        db.session.remove()
        assert services.sweep(now=stop - timedelta(minutes=1))["waits_ended"] == 0
        assert services.sweep(now=stop + timedelta(minutes=1))["waits_ended"] == 2
        assert services.sweep(now=stop + timedelta(minutes=2))["waits_ended"] == 0
        db.session.remove()
    for entry_id, person in zip(ids, waiters):
        row = entry(app, entry_id)
        assert row["status"] == "expired" and row["end_reason"] == "booking_closed"
        assert row["active"] is None
        told = _notifications(app, person["id"], "waitlist_ended")
        assert len(told) == 1 and "截止" in told[0][1]


def test_stopping_the_clinic_ends_waits_and_holds(app, client, sold_out, verified,
                                                 staff_factory):
    state = sold_out(total=2)
    first, second = verified(2, prefix="stop")
    first_entry = join(client, first, state["schedule_id"]).get_json()["id"]
    second_entry = join(client, second, state["schedule_id"]).get_json()["id"]
    _cancel(client, state["holders"][0], state["registration_ids"][0])
    assert entry(app, first_entry)["status"] == "offered"
    operator = staff_factory("operator")
    response = client.post(f"/api/v1/staff/schedules/{state['schedule_id']}/stop",
                           headers=operator["headers"], json={"reason": "医生临时出诊"})
    assert response.status_code == 200, response.get_json()
    assert entry(app, first_entry)["status"] == "lapsed"
    assert entry(app, first_entry)["end_reason"] == "stopped"
    assert entry(app, second_entry)["status"] == "expired"
    assert _notifications(app, second["id"], "waitlist_ended")


# --------------------------------------------------------------------- added capacity

def test_added_seats_go_to_waiters_first(app, client, sold_out, verified, staff_factory):
    from app.hospitals import services as hospital_services
    from app.staff.models import StaffUser

    state = sold_out(total=1)
    schedule_id = state["schedule_id"]
    first, second, public = verified(3, prefix="raise")
    first_entry = join(client, first, schedule_id).get_json()["id"]
    second_entry = join(client, second, schedule_id).get_json()["id"]
    operator = staff_factory("operator")
    with app.app_context():
        actor = db.session.get(StaffUser, operator["id"])
        hospital_services.update_schedule_total(actor, schedule_id=schedule_id, total=2)
        db.session.remove()
    assert entry(app, first_entry)["status"] == "offered"
    assert entry(app, second_entry)["status"] == "waiting"
    row = schedule_row(app, schedule_id)
    assert row["total"] == 2 and row["available"] == 0
    # three more: one for the second waiter, two for the public
    with app.app_context():
        actor = db.session.get(StaffUser, operator["id"])
        hospital_services.update_schedule_total(actor, schedule_id=schedule_id, total=5)
        db.session.remove()
    assert entry(app, second_entry)["status"] == "offered"
    assert schedule_row(app, schedule_id)["available"] == 2
    response = client.post("/api/v1/registrations", headers=public["headers"], json={
        "schedule_id": schedule_id, "patient_id": public["patient_id"]})
    assert response.status_code == 201, response.get_json()


# ------------------------------------------------------------------ other users' ids

def test_every_id_tried_by_another_user(app, client, sold_out, verified):
    state = sold_out()
    waiter, stranger = verified(2, prefix="ids")
    entry_id = join(client, waiter, state["schedule_id"]).get_json()["id"]
    _cancel(client, state["holder"], state["registration_id"])
    hold_id = entry(app, entry_id)["registration_id"]
    before = row_counts(app)
    _refused(app, client.delete(f"/api/v1/waitlist/{entry_id}", headers=stranger["headers"]),
             404, "waitlist_entry_not_found", before)
    _refused(app, join(client, stranger, state["schedule_id"], waiter["patient_id"]), 404,
             "patient_not_found", before)
    _refused(app, _prepay(client, stranger, hold_id), 404, "registration_not_found", before)
    response = client.post(f"/api/v1/registrations/{hold_id}/cancel",
                           headers=stranger["headers"])
    _refused(app, response, 404, "registration_not_found", before)
    assert client.get(f"/api/v1/registrations/{hold_id}",
                      headers=stranger["headers"]).status_code == 404
    assert _mine(client, stranger)["total"] == 0
    assert entry(app, entry_id)["status"] == "offered"


def test_openapi_documents_the_waitlist(client):
    document = client.get("/api/openapi.json").get_json()
    assert "/api/v1/waitlist" in document["paths"]
    assert "/api/v1/waitlist/{entry_id}" in document["paths"]
    assert "/api/v1/staff/schedules/{schedule_id}/waitlist" in document["paths"]
    text = str(document["paths"]["/api/v1/waitlist"]["post"])
    assert "waitlist_schedule_has_seats" in text and "waitlist_already_joined" in text
