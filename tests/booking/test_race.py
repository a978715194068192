"""200 people race for 10 slots through the HTTP API: exactly 10 bookings, never more."""
import threading
import time
from pathlib import Path

import pytest
import requests

from app.booking.models import Registration
from app.common.redis_client import ensure_embedded_redis, stop_embedded_redis
from app.extensions import db
from tests.booking.conftest import schedule_row

RACERS = 200
SLOTS = 10


def race(app, schedule_id, people, midway=None):
    url = app.config["LIVE_URL"] + "/api/v1/registrations"
    barrier = threading.Barrier(len(people))
    results, done = [], []
    lock = threading.Lock()

    def attempt(person):
        barrier.wait()
        response = requests.post(url, headers=person["headers"], timeout=120, json={
            "schedule_id": schedule_id, "patient_id": person["patient_id"]})
        code = response.json()["error"]["code"] if response.status_code >= 400 else None
        with lock:
            results.append((response.status_code, code))
            done.append(1)
            if midway and len(done) == 40:
                midway()

    threads = [threading.Thread(target=attempt, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def assert_exactly_ten(app, schedule_id, results):
    statuses = [status for status, _ in results]
    assert statuses.count(201) == SLOTS, sorted(set(results))
    assert all(code == "slot_sold_out" for status, code in results if status != 201), \
        sorted(set(results))
    with app.app_context():
        booked = db.session.query(Registration).filter_by(schedule_id=schedule_id).count()
        db.session.remove()
    assert booked == SLOTS
    row = schedule_row(app, schedule_id)
    assert row["available"] == 0 and row["total"] == SLOTS


@pytest.mark.parametrize("gate_enabled", [True, False], ids=["with-gate", "database-only"])
def test_two_hundred_racers_ten_slots(app, catalogue, verified, gate_enabled):
    schedule_id = catalogue["schedule"](total=SLOTS)
    people = verified(RACERS, prefix=f"racer-{gate_enabled}")
    app.config["BOOKING_GATE_ENABLED"] = gate_enabled
    try:
        results = race(app, schedule_id, people)
    finally:
        app.config["BOOKING_GATE_ENABLED"] = True
    assert_exactly_ten(app, schedule_id, results)


def test_gate_redis_stopped_mid_run_falls_back_to_the_database(app, catalogue, verified,
                                                                workdir):
    """The gate's Redis dies after 40 answers; the rest go the database path: still ten."""
    gate_dir = Path(workdir) / "gate-redis"
    url = ensure_embedded_redis(gate_dir)
    schedule_id = catalogue["schedule"](total=SLOTS)
    people = verified(RACERS, prefix="racer-outage")
    app.config["BOOKING_GATE_REDIS_URL"] = url
    app.extensions.pop("booking_gate_redis", None)
    stopped_at = []

    def kill_gate_redis():
        stop_embedded_redis(gate_dir)
        stopped_at.append(time.monotonic())

    try:
        results = race(app, schedule_id, people, midway=kill_gate_redis)
    finally:
        app.config["BOOKING_GATE_REDIS_URL"] = None
        app.extensions.pop("booking_gate_redis", None)
        stop_embedded_redis(gate_dir)
    assert stopped_at, "the gate's Redis was never stopped"
    assert_exactly_ten(app, schedule_id, results)
