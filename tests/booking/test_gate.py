"""The Redis gate heals itself in both directions, forced with real Redis operations.

Over-count (the gate says a seat the database does not have): the database's refusal sets the
gate to 0 and the token is not given back. Under-count (the gate says sold out, the database
has a seat): within a few seconds a sold-out request re-reads the database and reopens it.
"""
import threading
import time

from sqlalchemy import event

from app.booking.slots import free_in_database, gate
from app.extensions import db, redis_client
from tests.booking.conftest import book, schedule_row

HEAL_DEADLINE = 8.0  # seconds; the gate's own bound is about 3 s (INFLIGHT + RECHECK + LOCAL)


def gate_value(app, schedule_id):
    with app.app_context():
        value = redis_client.conn.get(gate.key(schedule_id))
    return None if value is None else int(value)


def set_gate(app, schedule_id, value):
    with app.app_context():
        redis_client.conn.set(gate.key(schedule_id), value)


def decr_gate(app, schedule_id, in_flight_token=None):
    """What a booking does at the gate before its commit (a decrement, and its token in the
    in-flight set); left there, it is a process that died before committing."""
    with app.app_context():
        conn = redis_client.conn
        conn.decr(gate.key(schedule_id))
        if in_flight_token:
            seconds, micros = conn.time()
            conn.zadd(gate.key(schedule_id) + ":inflight",
                      {in_flight_token: seconds * 1000 + micros // 1000})


def book_until_not_sold_out(client, person, schedule_id, deadline=HEAL_DEADLINE):
    """Poll like an impatient user; the answers while sold out change nothing."""
    until = time.monotonic() + deadline
    while True:
        response = book(client, person, schedule_id)
        body = response.get_json()
        if response.status_code != 409 or body["error"]["code"] != "slot_sold_out" \
                or time.monotonic() > until:
            return response
        time.sleep(0.1)


def cancel(client, person, registration_id):
    response = client.post(f"/api/v1/registrations/{registration_id}/cancel",
                           headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] in ("cancelled", "closed")


def test_the_databases_sold_out_mark_stands(app, client, catalogue, verified):
    """A rebuild read the count just before a booking committed: the gate says 1, the database
    0. The next booking is refused by the database, and the gate must then say 0; giving the
    token back (the old bug) left it at 1, so every later request took the database path."""
    schedule_id = catalogue["schedule"](total=1)
    first, second, third = verified(3)
    assert book(client, first, schedule_id).status_code == 201
    assert gate_value(app, schedule_id) == 0
    set_gate(app, schedule_id, 1)  # the stale rebuild

    refused = book(client, second, schedule_id)
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "slot_sold_out"
    assert gate_value(app, schedule_id) == 0
    again = book(client, third, schedule_id)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "slot_sold_out"
    assert gate_value(app, schedule_id) == 0
    assert schedule_row(app, schedule_id)["available"] == 0


def test_a_crash_between_decrement_and_commit_heals(app, client, catalogue, verified):
    """A process took the last token at the gate and died before its commit: the database
    still has the seat, and the gate gives it out again within seconds (not at the cron)."""
    schedule_id = catalogue["schedule"](total=1)
    person, = verified(1)
    with app.app_context():
        gate.rebuild(schedule_id)
        db.session.remove()
    assert gate_value(app, schedule_id) == 1
    decr_gate(app, schedule_id, in_flight_token="died-before-commit")
    assert gate_value(app, schedule_id) == 0

    response = book_until_not_sold_out(client, person, schedule_id)
    assert response.status_code == 201, response.get_json()
    assert schedule_row(app, schedule_id)["available"] == 0
    assert gate_value(app, schedule_id) == 0


def test_a_give_back_lost_after_the_commit_heals(app, client, catalogue, verified):
    """The cancel committed (the database has the seat again) but its give-back to the gate
    was lost (Redis blinked): the seat is bookable again within seconds."""
    schedule_id = catalogue["schedule"](total=1)
    first, second = verified(2)
    booked = book(client, first, schedule_id)
    assert booked.status_code == 201
    assert book(client, second, schedule_id).status_code == 409  # sold out at the gate
    cancel(client, first, booked.get_json()["registration"]["id"])
    assert schedule_row(app, schedule_id)["available"] == 1
    assert gate_value(app, schedule_id) == 1
    decr_gate(app, schedule_id)  # the give-back that never arrived
    assert gate_value(app, schedule_id) == 0

    response = book_until_not_sold_out(client, second, schedule_id)
    assert response.status_code == 201, response.get_json()
    assert schedule_row(app, schedule_id)["available"] == 0


def test_a_rebuild_racing_a_give_back_heals(app, client, catalogue, verified):
    """The rebuild reads the database (0 free), a cancel commits and gives its seat to the
    gate, then the rebuild writes its stale 0 over it: healed within seconds."""
    schedule_id = catalogue["schedule"](total=1)
    first, second = verified(2)
    booked = book(client, first, schedule_id)
    assert booked.status_code == 201
    with app.app_context():
        stale = free_in_database(schedule_id)  # the rebuild's read
        db.session.remove()
    assert stale == 0
    cancel(client, first, booked.get_json()["registration"]["id"])
    assert gate_value(app, schedule_id) == 1
    with app.app_context():
        gate.set_from_database(schedule_id, stale, "overwrite")  # the rebuild's write
    assert gate_value(app, schedule_id) == 0

    response = book_until_not_sold_out(client, second, schedule_id)
    assert response.status_code == 201, response.get_json()


def test_an_over_counting_rebuild_is_cut_by_the_first_refusal(app, client, catalogue, verified):
    """The opposite race: the rebuild read 1 free before a booking committed and wrote it
    after; the next booking meets the database's refusal and the gate is 0 again, so the
    flood after it is turned away by the gate."""
    schedule_id = catalogue["schedule"](total=1)
    first, second = verified(2)
    with app.app_context():
        stale = free_in_database(schedule_id)
        db.session.remove()
    assert book(client, first, schedule_id).status_code == 201
    with app.app_context():
        gate.set_from_database(schedule_id, stale, "overwrite")
    assert gate_value(app, schedule_id) == 1
    assert book(client, second, schedule_id).get_json()["error"]["code"] == "slot_sold_out"
    assert gate_value(app, schedule_id) == 0


def test_sold_out_answers_write_nothing_and_recheck_sparingly(app, client, catalogue,
                                                              verified):
    """While sold out (gate and database agree), the flood writes nothing to the database and
    at most one request per schedule per re-check interval reads the schedule's count."""
    schedule_id = catalogue["schedule"](total=1)
    people = verified(41)
    assert book(client, people[0], schedule_id).status_code == 201
    statements = []
    lock = threading.Lock()

    def record(conn, cursor, statement, parameters, context, executemany):
        with lock:
            statements.append(statement.split(None, 1)[0].upper() + " " + statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    started = time.monotonic()
    try:
        for person in people[1:]:
            response = book(client, person, schedule_id)
            assert response.status_code == 409
            assert response.get_json()["error"]["code"] == "slot_sold_out"
    finally:
        elapsed = time.monotonic() - started
        event.remove(engine, "before_cursor_execute", record)
    writes = [s for s in statements if s.split(None, 1)[0] in ("INSERT", "UPDATE", "DELETE")]
    assert writes == []
    rechecks = [s for s in statements if "schedules.available" in s and "FROM schedules" in s]
    interval = app.config["BOOKING_GATE_RECHECK_SECONDS"]
    assert len(rechecks) <= elapsed / interval + 1, (len(rechecks), elapsed)


def test_a_sold_out_flood_needs_no_principal_lookup_but_a_valid_token(app, client, catalogue,
                                                                      verified, staff_factory):
    """Once the gate says sold out, a well-formed booking from a user never seen before is
    answered without any SQL (no principal read, no patient); the token must still be a
    valid user token, and a malformed body still gets its 422."""
    schedule_id = catalogue["schedule"](total=1)
    first, second, *crowd = verified(12)
    assert book(client, first, schedule_id).status_code == 201
    assert book(client, second, schedule_id).status_code == 409  # the re-check happens here
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for person in crowd:
            response = book(client, person, schedule_id)
            assert response.get_json()["error"]["code"] == "slot_sold_out"
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert [s for s in statements if "FROM schedules" not in s] == []

    body = {"schedule_id": schedule_id, "patient_id": crowd[0]["patient_id"]}
    url = "/api/v1/registrations"
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers={"Authorization": "Bearer x.y.z"}) \
        .status_code == 401
    staff = staff_factory("operator")
    assert client.post(url, json=body, headers=staff["headers"]).status_code == 401
    malformed = client.post(url, json={"schedule_id": schedule_id}, headers=crowd[0]["headers"])
    assert malformed.status_code == 422
