"""A Redis flush loses nothing that matters: for every kind of time-based work that is done by a
delayed (or immediate) job, the job is enqueued, Redis is flushed, the deadline passes, and what
`rq cron app.tasks.cron` enqueues — run by a worker — does the work alone.

Where the work is enqueued (grep delay_seconds / enqueue_after_commit in app/) and its sweep:
  payment TTL close (payments/services.py _close_job)     sweep_expired_payments
  close after a cancel or 停诊 (close_for_order)           sweep_expired_payments (expires now)
  registration whose prepay never happened                 sweep_unpaid_registrations
  care offer timeout (care_orders/core.py open_assignment) sweep_care_orders
  platform dispatch, re-dispatch after a rejection         sweep_care_orders (deadline = now)
  care auto-completion (care_orders/services.py end)       sweep_care_orders
  refund submit, and its retry after a refusal             reconcile_payments
  visit reminders (cron only)                              send_visit_reminders, twice an evening
The refund retry after a refusal is covered by tests/payments/test_money_hardening.py."""
from datetime import timedelta

from rq.cron import CronScheduler
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from app.common.time import local_today, utcnow
from app.extensions import db, jobs, redis_client
from tests.booking.conftest import (book, catalogue, pay, registration_row,  # noqa: F401
                                    schedule_row, verified)
from tests.booking.test_booking import open_until_late
from tests.care_orders.conftest import (busy_blocks, care_world,  # noqa: F401
                                        order_row, paid_order, served_order, set_order)
from tests.care_orders.conftest import book as book_care
from tests.care_orders.conftest import order_body
from tests.care_orders.test_dispatch import assignments
from tests.payments.conftest import payment_state, wait_for
from tests.payments.test_payments import _expire_now
from tests.platform.test_jobs_cli import burst


def waiting_jobs(app):
    """Ids of the jobs waiting in Redis, queued or delayed."""
    with app.app_context():
        found = []
        for name in app.config["RQ_QUEUES"]:
            found += jobs.queue(name).job_ids
            found += ScheduledJobRegistry(queue=jobs.queue(name)).get_job_ids()
    return found


def flush(app):
    """FLUSHDB, except the WeChat simulator's keys (sim:*): they play WeChat's servers, which a
    flush of our Redis does not touch."""
    with app.app_context():
        conn = redis_client.conn
        kept = {key: (conn.dump(key), conn.pttl(key)) for key in conn.scan_iter("sim:*")}
        conn.flushdb()
        for key, (value, ttl) in kept.items():
            conn.restore(key, max(ttl, 0), value)
    assert waiting_jobs(app) == []


def cron_minute(app):
    """What `rq cron app.tasks.cron` enqueues when it starts (every interval job), then a worker."""
    with app.app_context():
        scheduler = CronScheduler(connection=redis_client.conn)
        scheduler.load_config_from_file("app.tasks.cron")
        enqueued = {job.func_name for job in scheduler.enqueue_jobs()}
    assert {"app.tasks.payments.sweep_expired_payments", "app.tasks.payments.reconcile_payments",
            "app.tasks.booking.sweep_unpaid_registrations",
            "app.tasks.care_orders.sweep_care_orders"} <= enqueued
    burst(app)


def test_registration_past_its_pay_deadline_closes_and_frees_its_slot(client, app, catalogue,
                                                                      verified):
    schedule_id = catalogue["schedule"](total=1)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    payment_id = body["payment"]["id"]
    assert f"payment-close-{payment_id}" in waiting_jobs(app)
    flush(app)
    _expire_now(app, payment_id)
    cron_minute(app)
    assert registration_row(app, body["registration"]["id"])["status"] == "closed"
    assert payment_state(app, payment_id)["status"] == "closed"
    assert schedule_row(app, schedule_id)["available"] == 1


def test_registration_cancelled_before_paying_has_its_payment_closed(client, app, catalogue,
                                                                     verified):
    person, = verified(1)
    body = book(client, person, catalogue["schedule"]()).get_json()
    payment_id = body["payment"]["id"]
    cancelled = client.post(f"/api/v1/registrations/{body['registration']['id']}/cancel",
                            headers=person["headers"])
    assert cancelled.status_code == 200
    assert f"payment-close-now-{payment_id}" in waiting_jobs(app)
    flush(app)
    cron_minute(app)
    assert payment_state(app, payment_id)["status"] == "closed"  # at WeChat too: no late payment
    assert registration_row(app, body["registration"]["id"])["status"] == "cancelled"


def test_registration_whose_prepay_never_happened_closes(client, app, catalogue, verified):
    from app.booking.models import Registration
    from app.payments.models import Payment

    schedule_id = catalogue["schedule"](total=1)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    registration_id = body["registration"]["id"]
    with app.app_context():  # the process died between the booking's commit and prepay's
        db.session.delete(db.session.get(Payment, body["payment"]["id"]))
        registration = db.session.get(Registration, registration_id)
        registration.created_at = utcnow() - timedelta(
            seconds=app.config["PAYMENT_TTL_SECONDS"] + 61)
        db.session.commit()
        db.session.remove()
    flush(app)
    cron_minute(app)
    assert registration_row(app, registration_id)["status"] == "closed"
    assert schedule_row(app, schedule_id)["available"] == 1


def test_unanswered_offer_goes_to_the_next_caregiver(app, client, care_world):
    first, second = care_world["caregiver"](), care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, first)
    assert any(job_id.startswith("care-offer-timeout-") for job_id in waiting_jobs(app))
    flush(app)
    set_order(app, order_id, acceptance_deadline=utcnow() - timedelta(seconds=1))
    cron_minute(app)
    assert order_row(app, order_id)["caregiver_id"] == second["id"]
    assert assignments(app, order_id) == [(first["id"], "timed_out", "family"),
                                          (second["id"], "offered", "match")]


def test_platform_order_whose_dispatch_job_was_lost_is_dispatched(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, None)
    assert f"care-dispatch-{order_id}-0" in waiting_jobs(app)
    flush(app)
    cron_minute(app)
    row = order_row(app, order_id)
    assert (row["status"], row["caregiver_id"]) == ("awaiting_acceptance", caregiver["id"])


def test_service_ended_long_ago_is_completed(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = served_order(app, client, care_world, family, caregiver)
    assert f"care-auto-complete-{order_id}" in waiting_jobs(app)
    flush(app)
    set_order(app, order_id, ended_at=utcnow() - timedelta(hours=24, minutes=1))
    cron_minute(app)
    assert order_row(app, order_id)["status"] == "completed"


def test_unpaid_care_order_closes_and_frees_the_caregiver(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    created = book_care(client, family, order_body(care_world, family, caregiver))
    assert created.status_code == 201, created.get_json()
    order_id, payment_id = created.get_json()["order"]["id"], created.get_json()["payment"]["id"]
    assert busy_blocks(app, order_id) and f"payment-close-{payment_id}" in waiting_jobs(app)
    flush(app)
    _expire_now(app, payment_id)
    cron_minute(app)
    assert order_row(app, order_id)["status"] == "closed"
    assert busy_blocks(app, order_id) == []
    assert payment_state(app, payment_id)["status"] == "closed"


def test_refund_whose_submit_job_was_lost_is_sent(app, client, care_world, monkeypatch):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, caregiver)
    burst(app)  # the payment's own follow-ups, so only the refund's job is lost below
    cancelled = client.post(f"/api/v1/care-orders/{order_id}/cancel", json={},
                            headers=family["headers"])
    assert cancelled.status_code == 200, cancelled.get_json()
    with app.app_context():
        from app.payments.models import Payment
        payment_id = db.session.scalar(select(Payment.id).where(
            Payment.order_type == "care_order", Payment.order_id == order_id))
        db.session.remove()
    total = order_row(app, order_id)["total_fen"]
    assert payment_state(app, payment_id)["refunds"] == [(total, "processing")]
    flush(app)
    # reconciliation picks up refunds quiet for PAY_RECONCILE_AFTER_SECONDS; no waiting here
    monkeypatch.setitem(app.config, "PAY_RECONCILE_AFTER_SECONDS", 0)
    cron_minute(app)
    assert wait_for(lambda: payment_state(app, payment_id)["status"] == "refunded", 15)


def test_visit_reminders_run_twice_an_evening_and_remind_once(client, app, catalogue,
                                                              verified):
    from app.booking.models import Registration

    open_until_late(app, catalogue["hospital_id"])
    person, = verified(1)
    body = book(client, person, catalogue["schedule"](days_ahead=2)).get_json()
    pay(app, body)
    with app.app_context():
        registration = db.session.get(Registration, body["registration"]["id"])
        registration.visit_date = local_today() + timedelta(days=1)  # a day has passed
        db.session.commit()
        db.session.remove()
        scheduler = CronScheduler(connection=redis_client.conn)
        scheduler.load_config_from_file("app.tasks.cron")
        reminders, = [cron_job for cron_job in scheduler.get_jobs()
                      if cron_job.func_name == "app.tasks.booking.send_visit_reminders"]
    assert reminders.cron == "0 10,12 * * *"  # UTC: 18:00 and 20:00 in Shanghai
    flush(app)
    for _evening_run in range(2):  # the 18:00 run, then the 20:00 backstop
        with app.app_context():
            reminders.enqueue(redis_client.conn)  # what rq cron does at the hour
        burst(app)
    kinds = [n["kind"] for n in client.get("/api/v1/notifications",
                                           headers=person["headers"]).get_json()["items"]]
    assert kinds.count("visit_reminder") == 1
    assert registration_row(app, body["registration"]["id"])["reminded_at"] is not None
