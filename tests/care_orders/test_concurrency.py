"""Races through HTTP against the live server (threads, real database): 50 families booking
overlapping windows of one caregiver get exactly one order; a caregiver answering an offer
while its deadline job runs ends in one outcome."""
import threading
from datetime import datetime, timedelta, timezone

import requests
from sqlalchemy import func, select

from app.extensions import db
from tests.care_orders.conftest import API, local_midnight


def test_fifty_families_racing_for_one_caregiver_get_one_order(app, care_world):
    from app.availability.models import BusyBlock
    from app.care_orders.models import CareOrder

    caregiver = care_world["caregiver"]()
    families = [care_world["family"]() for _ in range(50)]
    base = local_midnight(3) + timedelta(hours=6)
    url = app.config["LIVE_URL"] + API
    barrier = threading.Barrier(len(families))
    answers = [None] * len(families)

    def attempt(index, person):
        # every window overlaps every other (starts within 5 h, each 10 h long), none at night
        start = base + timedelta(minutes=30 * (index % 10))
        body = {"caregiver_id": caregiver["id"], "care_type": "hourly",
                "start": start.isoformat(), "end": (start + timedelta(hours=10)).isoformat(),
                "patient_id": person["patient_id"], "hospital_id": care_world["hospital_id"]}
        barrier.wait()
        response = requests.post(url, json=body, headers=person["headers"], timeout=60)
        answers[index] = (response.status_code, response.json())

    threads = [threading.Thread(target=attempt, args=(i, p)) for i, p in enumerate(families)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(201) == 1, answers
    refused = [body["error"]["code"] for status, body in answers if status != 201]
    assert set(refused) == {"caregiver_busy"}, refused
    with app.app_context():
        orders = db.session.scalar(select(func.count()).select_from(CareOrder).where(
            CareOrder.caregiver_id == caregiver["id"]))
        blocks = db.session.scalar(select(func.count()).select_from(BusyBlock).where(
            BusyBlock.caregiver_id == caregiver["id"]))
        db.session.remove()
    assert orders == 1 and blocks == 1


def test_booking_waits_for_the_caregiver_lock_and_reads_after_it(app, care_world):
    """Deterministic half of the race: while another transaction holds the caregiver's row
    (as a concurrent booking does) a booking waits, and after that transaction commits a
    busy block it answers caregiver_busy: the check is made under the lock, not before it."""
    from sqlalchemy import text

    from app.availability.models import BusyBlock
    from app.care_orders.models import CareOrder

    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    start = local_midnight(3) + timedelta(hours=8)
    body = {"caregiver_id": caregiver["id"], "care_type": "hourly",
            "start": start.isoformat(), "end": (start + timedelta(hours=4)).isoformat(),
            "patient_id": family["patient_id"], "hospital_id": care_world["hospital_id"]}
    answer = {}
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        if connection.dialect.name == "mysql":
            connection.execute(text("SELECT id FROM caregivers WHERE id = :id FOR UPDATE"),
                               {"id": caregiver["id"]})
        else:  # SQLite: one writer at a time; the booking's BEGIN IMMEDIATE waits for this one
            connection.execute(text("UPDATE caregivers SET id = id WHERE id = :id"),
                               {"id": caregiver["id"]})

        def request():
            response = requests.post(app.config["LIVE_URL"] + API, json=body,
                                     headers=family["headers"], timeout=60)
            answer["response"] = (response.status_code, response.json())

        thread = threading.Thread(target=request)
        thread.start()
        thread.join(timeout=1.5)
        assert thread.is_alive(), f"the booking did not wait for the lock: {answer}"
        connection.execute(BusyBlock.__table__.insert().values(
            caregiver_id=caregiver["id"], start_at=(start + timedelta(hours=1)).astimezone(
                timezone.utc).replace(tzinfo=None),
            end_at=(start + timedelta(hours=2)).astimezone(timezone.utc).replace(tzinfo=None),
            ref_type="manual", ref_id=None, created_at=datetime.utcnow(),
            updated_at=datetime.utcnow()))
        transaction.commit()
        connection.close()
        thread.join(timeout=30)
        orders = db.session.scalar(select(func.count()).select_from(CareOrder).where(
            CareOrder.caregiver_id == caregiver["id"]))
        db.session.remove()
    status, payload = answer["response"]
    assert status == 409 and payload["error"]["code"] == "caregiver_busy", payload
    assert orders == 0
