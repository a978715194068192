"""Sending: the retry schedule, success stopping it, a hanging receiver, duplicates and
concurrent senders, the sweep after a Redis flush, disabling and the staff alert."""
import threading
import time
from datetime import timedelta

import pytest

from app.extensions import db, redis_client
from tests.booking.conftest import pay
from tests.hospital_webhooks.conftest import (book_and_pay, deliver, deliveries, endpoint_row,
                                              make_due, queued_webhook_jobs, run_worker)

SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]


@pytest.fixture
def config(app):
    """Change settings for one test."""
    saved = {}

    def set_(**values):
        for name, value in values.items():
            saved.setdefault(name, app.config[name])
            app.config[name] = value
    yield set_
    app.config.update(saved)


def one_delivery(client, app, hooked, person, days_ahead=3):
    book_and_pay(client, app, person, hooked["schedule"](days_ahead=days_ahead))
    rows = deliveries(app)
    return rows[-1]["id"]


def sweep(app, grace_seconds=0):
    from app.hospital_webhooks.delivery import sweep as run_sweep

    with app.app_context():
        try:
            return run_sweep(grace_seconds=grace_seconds)
        finally:
            db.session.remove()


def test_a_failing_receiver_gets_the_retry_schedule_then_the_delivery_fails(
        app, client, hooked, receiver, verified):
    assert list(app.config["HOSPITAL_WEBHOOK_RETRY_SCHEDULE"]) == SCHEDULE  # the spec's ~27 h
    receiver.default = 500
    person, = verified(1)
    delivery_id = one_delivery(client, app, hooked, person)
    delays = []
    run_worker(app)  # the first attempt, from the job queued after the payment's commit
    for attempt in range(1, 9):
        row = deliveries(app)[0]
        assert row["attempts"] == attempt and row["last_status_code"] == 500
        assert row["last_response"] == '{"ok": false}' and row["last_error"] == "HTTP 500"
        if attempt == 8:
            break
        assert row["status"] == "pending"
        delays.append(round((row["next_attempt_at"] - row["last_attempt_at"]).total_seconds()))
        make_due(app, delivery_id)  # time passes; the cron sweep finds it due
        assert sweep(app) == 1
        run_worker(app)
    # (MariaDB's DATETIME keeps whole seconds: each delay is right to within a second)
    assert len(delays) == len(SCHEDULE)
    assert all(abs(delay - expected) <= 1 for delay, expected in zip(delays, SCHEDULE)), delays
    row = deliveries(app)[0]
    assert row["status"] == "failed" and row["next_attempt_at"] is None and row["failed_at"]
    # every attempt was the same message, signed afresh, and verified
    assert [entry["headers"]["webhook-id"] for entry in receiver.received] == [delivery_id] * 8
    assert all(entry["error"] is None for entry in receiver.received)
    # one failed delivery: counted, not yet enough to disable the endpoint
    assert endpoint_row(app, hooked["hospital_id"])["consecutive_failures"] == 1
    assert endpoint_row(app, hooked["hospital_id"])["status"] == "active"
    assert sweep(app) == 0 and deliver(app, delivery_id) is None  # nothing more is sent
    assert len(receiver.received) == 8


def test_a_later_success_stops_the_retries(app, client, hooked, receiver, verified):
    receiver.script = [500, 503]
    person, = verified(1)
    delivery_id = one_delivery(client, app, hooked, person)
    assert deliver(app, delivery_id) == "retry"
    assert deliver(app, delivery_id) is None  # not due yet: nothing is sent early
    make_due(app, delivery_id)
    assert deliver(app, delivery_id) == "retry"
    make_due(app, delivery_id)
    assert deliver(app, delivery_id) == "succeeded"
    row = deliveries(app)[0]
    assert row["status"] == "succeeded" and row["attempts"] == 3 and row["next_attempt_at"] is None
    assert row["last_status_code"] == 200 and row["last_error"] is None
    make_due(app, delivery_id)
    assert sweep(app) == 0 and deliver(app, delivery_id) is None
    assert len(receiver.received) == 3
    assert endpoint_row(app, hooked["hospital_id"])["consecutive_failures"] == 0


def test_a_hanging_receiver_never_slows_a_booking(app, client, hooked, receiver, verified,
                                                  operator):
    assert tuple(app.config["HOSPITAL_WEBHOOK_TIMEOUT"]) == (3, 5)  # connect, read
    receiver.default = ("hang", 7)  # longer than the read timeout
    person, = verified(1)
    schedule_id = hooked["schedule"]()
    started = time.monotonic()
    booked = client.post("/api/v1/registrations", headers=person["headers"],
                         json={"schedule_id": schedule_id, "patient_id": person["patient_id"]})
    pay(app, booked.get_json())  # the payment notification records registration.booked
    cancel = client.post(f"/api/v1/registrations/{booked.get_json()['registration']['id']}"
                         "/cancel", headers=person["headers"])
    elapsed = time.monotonic() - started
    assert booked.status_code == 201 and cancel.status_code == 200
    # booking, payment and cancel together take less than one read timeout: none waited
    assert elapsed < 3.0, elapsed
    rows = deliveries(app)
    assert [row["event_type"] for row in rows] == ["registration.booked",
                                                   "registration.cancelled"]
    started = time.monotonic()
    assert deliver(app, rows[0]["id"]) == "retry"
    assert 4.9 < time.monotonic() - started < 6.9  # the read timeout, not the receiver's 7 s
    row = deliveries(app, id=rows[0]["id"])[0]
    assert row["status"] == "pending" and row["last_error"].startswith("timeout")
    assert row["last_status_code"] is None
    # 5 s after the attempt ended (it began at last_attempt_at and took the 5 s timeout)
    assert 9 <= round((row["next_attempt_at"] - row["last_attempt_at"]).total_seconds()) <= 12
    receiver.default = 200  # the hospital recovers: the retry goes through
    make_due(app, rows[0]["id"])
    assert deliver(app, rows[0]["id"]) == "succeeded"


def test_a_job_run_twice_sends_once(app, client, hooked, receiver, verified):
    person, = verified(1)
    delivery_id = one_delivery(client, app, hooked, person)
    assert queued_webhook_jobs(app) == [delivery_id]
    assert deliver(app, delivery_id) == "succeeded"
    assert deliver(app, delivery_id) is None
    run_worker(app)  # the queued job itself: already succeeded, nothing sent
    assert len(receiver.received) == 1 and deliveries(app)[0]["attempts"] == 1


def test_two_workers_never_send_the_same_attempt(app, client, hooked, receiver, verified):
    receiver.script = [("slow", 1.0)]
    person, = verified(1)
    delivery_id = one_delivery(client, app, hooked, person)
    results = []
    threads = [threading.Thread(target=lambda: results.append(deliver(app, delivery_id)))
               for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=str) == [None, "succeeded"]
    assert len(receiver.received) == 1


def test_a_dead_senders_lease_runs_out_and_its_late_result_is_ignored(app, client, hooked,
                                                                       receiver, verified):
    from app.common.time import utcnow
    from app.hospital_webhooks import delivery as sender
    from app.hospital_webhooks.models import WebhookDelivery

    person, = verified(1)
    delivery_id = one_delivery(client, app, hooked, person)
    with app.app_context():
        dead = sender._claim(delivery_id)  # claimed, then the worker died before sending
        db.session.remove()
    assert dead is not None and deliver(app, delivery_id) is None  # held by the lease
    assert sweep(app) == 0
    with app.app_context():
        db.session.execute(db.update(WebhookDelivery).values(
            lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()
    assert sweep(app) == 1
    run_worker(app)
    assert deliveries(app)[0]["status"] == "succeeded" and len(receiver.received) == 1
    with app.app_context():  # the dead sender wakes up: its claim no longer holds the row
        assert sender._finish(dead, sender._Outcome("retry", 500, "", "HTTP 500")) is None
        db.session.remove()
    assert deliveries(app)[0]["status"] == "succeeded"


def test_a_redis_flush_loses_nothing(app, client, hooked, receiver, verified):
    from app.hospital_webhooks.models import WebhookDelivery
    from app.common.time import utcnow
    from app.tasks.hospital_webhooks import sweep_hospital_webhooks

    person, = verified(1)
    one_delivery(client, app, hooked, person)
    with app.app_context():
        redis_client.conn.flushdb()  # the queued job is gone
        assert sweep_hospital_webhooks() == 0  # due only just now: its job may still be coming
        db.session.execute(db.update(WebhookDelivery).values(
            next_attempt_at=utcnow() - timedelta(seconds=61)))
        db.session.commit()
        assert sweep_hospital_webhooks() == 1
        db.session.remove()
    run_worker(app)
    assert deliveries(app)[0]["status"] == "succeeded" and len(receiver.received) == 1


def _bind_operator(app, staff_id):
    from app.staff.models import StaffUser

    with app.app_context():
        db.session.execute(db.update(StaffUser).where(StaffUser.id == staff_id)
                           .values(official_openid=f"oa-openid-{staff_id}"))
        db.session.commit()
        db.session.remove()


def _alerts(app):
    from app.notifications.models import MessagePush

    with app.app_context():
        rows = [(push.staff_id, push.data) for push in db.session.scalars(
            db.select(MessagePush).where(MessagePush.event == "hospital_webhook_disabled"))]
        db.session.remove()
    return rows


def test_consecutive_failed_deliveries_disable_the_endpoint_and_alert_staff(
        app, client, hooked, receiver, verified, operator, config):
    config(HOSPITAL_WEBHOOK_RETRY_SCHEDULE=(5,), HOSPITAL_WEBHOOK_DISABLE_AFTER=2)
    _bind_operator(app, operator["id"])
    receiver.default = 500
    people = verified(4)
    ids = [one_delivery(client, app, hooked, person, days_ahead=2 + index)
           for index, person in enumerate(people[:3])]
    for number, delivery_id in enumerate(ids[:2], start=1):
        assert deliver(app, delivery_id) == "retry"
        make_due(app, delivery_id)
        assert deliver(app, delivery_id) == "failed"
        state = endpoint_row(app, hooked["hospital_id"])
        assert state["consecutive_failures"] == number
    assert state["status"] == "disabled" and "连续 2 条" in state["disabled_reason"]
    alerts = _alerts(app)
    assert [staff_id for staff_id, _data in alerts] == [operator["id"]]
    assert "测试第一人民医院" in str(alerts[0][1])
    # a delivery recorded before the disablement ends failed without a call
    calls = len(receiver.received)
    assert deliver(app, ids[2]) is None
    row = deliveries(app, id=ids[2])[0]
    assert row["status"] == "failed" and row["last_error"] == "endpoint_disabled"
    assert len(receiver.received) == calls
    # new events are not recorded while it is disabled
    book_and_pay(client, app, people[3], hooked["schedule"](days_ahead=6))
    assert len(deliveries(app)) == 3

    # staff re-enable it; the hospital fixed its side; a redelivery goes through
    enabled = client.post(f"/api/v1/staff/hospitals/{hooked['hospital_id']}/webhook/enable",
                          headers=operator["headers"])
    assert enabled.status_code == 200, enabled.get_json()
    assert enabled.get_json()["status"] == "active"
    assert enabled.get_json()["consecutive_failures"] == 0
    receiver.default = 200
    redelivered = client.post(f"/api/v1/staff/hospitals/{hooked['hospital_id']}/webhook/"
                              f"deliveries/{ids[0]}/redeliver", headers=operator["headers"])
    assert redelivered.status_code == 202, redelivered.get_json()
    run_worker(app)
    assert deliveries(app, id=ids[0])[0]["status"] == "succeeded"
    assert receiver.received[-1]["headers"]["webhook-id"] == ids[0]
    # a second disablement alerts again
    receiver.default = 410
    assert client.post(f"/api/v1/staff/hospitals/{hooked['hospital_id']}/webhook/"
                       f"deliveries/{ids[1]}/redeliver",
                       headers=operator["headers"]).status_code == 202
    run_worker(app)
    assert len(_alerts(app)) == 2


def test_410_gone_disables_at_once(app, client, hooked, receiver, verified, operator):
    _bind_operator(app, operator["id"])
    receiver.script = [410]
    person, = verified(1)
    delivery_id = one_delivery(client, app, hooked, person)
    assert deliver(app, delivery_id) == "failed"
    state = endpoint_row(app, hooked["hospital_id"])
    assert state["status"] == "disabled" and "410" in state["disabled_reason"]
    assert len(_alerts(app)) == 1
    row = deliveries(app)[0]
    assert row["status"] == "failed" and row["attempts"] == 1 and row["last_status_code"] == 410
