"""Money never stuck: paid after close, refused refunds, no WeChat call inside a transaction,
one way to declare a job. Through the real SDK, the simulator and a real RQ worker."""
from datetime import timedelta

import pytest
import requests

from app.common.time import utcnow
from app.extensions import db
from tests.conftest import row_counts
from tests.payments.conftest import (jobs_named, order_state, payment_state, prepay, run_jobs,
                                     sim_mode, sim_pay, sim_transaction, wait_for)
from tests.payments.order_type import DemoOrder


def _prepay_id(body):
    return body["pay_params"]["package"].split("=", 1)[1]


def _set_order_status(app, order_id, status):
    with app.app_context():
        db.session.get(DemoOrder, order_id).status = status
        db.session.commit()
        db.session.remove()


def _paid(client, app, user, make_order, amount):
    order_id = make_order(user, amount)
    body = prepay(client, user, order_id).get_json()
    assert sim_pay(app, _prepay_id(body)).json()["deliveries"] == [204]
    return order_id, body["payment"]["id"]


def sim_refunds(app, **settings):
    response = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/refunds",
                             json=settings, timeout=10)
    assert response.status_code == 200, response.text


def refund_rows(app, payment_id=None):
    from app.payments.models import Refund

    with app.app_context():
        query = db.session.query(Refund)
        if payment_id is not None:
            query = query.filter_by(payment_id=payment_id)
        rows = [{"id": r.id, "out_refund_no": r.out_refund_no, "status": r.status,
                 "attempts": r.attempts, "next_attempt_at": r.next_attempt_at,
                 "failure_reason": r.failure_reason, "amount_fen": r.amount_fen}
                for r in query.order_by(Refund.id)]
        db.session.remove()
        return rows


def _move_refund(app, refund_id, **changes):
    """Let time pass for one refund (its backoff, or its whole retry window)."""
    from app.payments.models import Refund

    with app.app_context():
        refund = db.session.get(Refund, refund_id)
        for name, value in changes.items():
            setattr(refund, name, value)
        db.session.commit()
        db.session.remove()


def _staff_refund(client, operator, payment_id, amount, reason="部分退款"):
    return client.post(f"/api/v1/staff/payments/{payment_id}/refunds",
                       json={"amount_fen": amount, "reason": reason},
                       headers=operator["headers"])


# ------------------------------------------------------------- 1. paid, but the order closed

def test_payment_for_an_order_closed_meanwhile_is_acknowledged_and_refunded(client, app, alice,
                                                                            make_order):
    """Before: on_paid raised, the notification answered 409 and WeChat redelivered for a day
    while the money stayed taken."""
    order_id = make_order(alice, 800)
    body = prepay(client, alice, order_id).get_json()
    payment_id = body["payment"]["id"]
    _set_order_status(app, order_id, "cancelled")  # the order moved on, the payment is open
    paid = sim_pay(app, _prepay_id(body))
    assert paid.json()["deliveries"] == [204]
    state = payment_state(app, payment_id)
    assert state["status"] == "refunding" and state["refunds"] == [(800, "processing")]
    assert order_state(app, order_id) == {"status": "cancelled", "paid_hooks": 0,
                                          "closed_hooks": 0, "refunded_fen": 0}
    assert jobs_named(app, "app.tasks.payments.payment_succeeded") == []
    again = requests.post(f"{app.config['WECHATPAY_GATEWAY']}/_control/transactions/"
                          f"{state['out_trade_no']}/notify", json={"copies": 3}, timeout=30)
    assert again.json()["deliveries"] == [204, 204, 204]  # redeliveries change nothing
    run_jobs(app)
    assert wait_for(lambda: payment_state(app, payment_id)["status"] == "refunded")
    assert payment_state(app, payment_id)["refunds"] == [(800, "succeeded")]
    assert order_state(app, order_id)["status"] == "cancelled"


def test_reconciliation_settles_a_payment_its_order_can_no_longer_take(client, app, alice,
                                                                      make_order):
    """Before: reconciliation raised (logged as an error) every minute for ever."""
    from app.tasks.payments import reconcile_payments

    order_id = make_order(alice, 500)
    body = prepay(client, alice, order_id).get_json()
    payment_id = body["payment"]["id"]
    _set_order_status(app, order_id, "closed")
    sim_mode(app, mode="drop")
    sim_pay(app, _prepay_id(body))
    with app.app_context():
        outcomes = reconcile_payments(older_than_seconds=0)
        db.session.remove()
    assert outcomes[f"payment:{payment_id}"] == "paid"  # settled, not an error
    assert "error" not in outcomes.values()
    assert payment_state(app, payment_id)["status"] == "refunding"
    assert wait_for(lambda: [r["status"] for r in sim_transaction(
        app, body["payment"]["out_trade_no"])["refunds"]] == ["SUCCESS"])
    run_jobs(app)  # the refund's notification was dropped too: the job's answer settles it
    assert payment_state(app, payment_id)["status"] == "refunded"
    with app.app_context():
        assert reconcile_payments(older_than_seconds=0) == {}  # nothing left to ask about
        db.session.remove()


# ------------------------------------------------------------- 2. a refund WeChat refuses

def test_a_refused_refund_is_retried_with_the_same_number_and_backoff(client, app, alice,
                                                                     make_order, staff_factory):
    """Before: a refusal closed the refund and a new one was made at once, in a loop."""
    from rq.registry import ScheduledJobRegistry
    from rq.serializers import JSONSerializer

    from app.extensions import redis_client
    from app.tasks.payments import reconcile_payments

    order_id, payment_id = _paid(client, app, alice, make_order, 1000)
    operator = staff_factory("operator")
    sim_refunds(app, refuse="NOT_ENOUGH")
    response = _staff_refund(client, operator, payment_id, 1000, "患者取消")
    assert response.status_code == 201 and response.get_json()["status"] == "processing"
    before = utcnow()
    run_jobs(app)
    refund, = refund_rows(app, payment_id)
    assert refund["status"] == "processing" and refund["attempts"] == 1
    assert "NOT_ENOUGH" in refund["failure_reason"]
    assert timedelta(seconds=55) <= refund["next_attempt_at"] - before <= timedelta(seconds=65)
    with app.app_context():
        scheduled = ScheduledJobRegistry("default", connection=redis_client.conn,
                                         serializer=JSONSerializer).get_job_ids()
        assert f"refund-retry-{refund['id']}-1" in scheduled
        # not due: neither the worker nor reconciliation sends it again yet
        assert f"refund:{refund['id']}" not in reconcile_payments(older_than_seconds=0)
        db.session.remove()
    run_jobs(app)
    assert refund_rows(app, payment_id) == [refund]

    _move_refund(app, refund["id"], next_attempt_at=utcnow() - timedelta(seconds=1))
    with app.app_context():  # the retry job was lost: the cron sweep sends it
        assert reconcile_payments(older_than_seconds=0) == {f"refund:{refund['id']}": "retrying"}
        db.session.remove()
    second, = refund_rows(app, payment_id)
    assert second["attempts"] == 2 and second["out_refund_no"] == refund["out_refund_no"]
    assert timedelta(seconds=110) <= second["next_attempt_at"] - utcnow() <= timedelta(seconds=125)

    sim_refunds(app, refuse=None)  # the merchant account was topped up
    _move_refund(app, refund["id"], next_attempt_at=utcnow() - timedelta(seconds=1))
    with app.app_context():
        from app.tasks.payments import submit_refund
        assert submit_refund(refund["id"]) == "ignored"  # accepted, PROCESSING at WeChat
        db.session.remove()
    assert wait_for(lambda: payment_state(app, payment_id)["status"] == "refunded")
    final, = refund_rows(app, payment_id)
    assert final["status"] == "succeeded" and final["out_refund_no"] == refund["out_refund_no"]
    assert final["attempts"] == 3 and final["next_attempt_at"] is None
    at_wechat = sim_transaction(app, payment_state(app, payment_id)["out_trade_no"])["refunds"]
    assert [(r["out_refund_no"], r["status"]) for r in at_wechat] == [
        (refund["out_refund_no"], "SUCCESS")]


def test_backoff_doubles_up_to_a_cap_and_spans_at_least_a_day(app):
    from app.payments.services import refund_retry_delay

    with app.app_context():
        delays = [refund_retry_delay(attempt) for attempt in range(1, 30)]
        window = app.config["REFUND_RETRY_WINDOW_SECONDS"]
    assert delays[:4] == [60, 120, 240, 480]
    assert max(delays) == 4 * 3600 and delays == sorted(delays)
    assert window >= 24 * 3600
    # the attempts made before the window closes span it: the last one is >= 24 h in
    elapsed, attempts = 0, 0
    while elapsed < window:
        attempts += 1
        elapsed += delays[attempts - 1]
    assert 10 <= attempts <= 20


def test_a_refund_refused_past_its_window_fails_and_staff_retry_it(client, app, alice, make_order,
                                                                  staff_factory):
    order_id, payment_id = _paid(client, app, alice, make_order, 600)
    operator, reviewer = staff_factory("operator"), staff_factory("reviewer")
    sim_refunds(app, refuse="NOT_ENOUGH")
    assert _staff_refund(client, operator, payment_id, 600).status_code == 201
    run_jobs(app)
    refund, = refund_rows(app, payment_id)
    window = app.config["REFUND_RETRY_WINDOW_SECONDS"]
    _move_refund(app, refund["id"], created_at=utcnow() - timedelta(seconds=window + 60),
                 next_attempt_at=utcnow() - timedelta(seconds=1))
    with app.app_context():
        from app.tasks.payments import submit_refund
        assert submit_refund(refund["id"]) == "failed"
        assert submit_refund(refund["id"]) == "noop"  # failed refunds wait for staff
        db.session.remove()
    failed, = refund_rows(app, payment_id)
    assert failed["status"] == "failed" and failed["attempts"] == 2
    state = payment_state(app, payment_id)
    assert state["status"] == "refunding" and state["refunded_fen"] == 0  # still owed

    listed = client.get("/api/v1/staff/refunds?status=failed&page=1&page_size=10",
                        headers=operator["headers"])
    assert listed.status_code == 200, listed.get_json()
    page = listed.get_json()
    assert page["total"] == 1 and page["page"] == 1 and page["page_size"] == 10
    item, = page["items"]
    assert item["id"] == refund["id"] and item["status"] == "failed"
    assert item["attempts"] == 2 and "NOT_ENOUGH" in item["failure_reason"]
    assert item["order_type"] == "demo_order" and item["order_id"] == order_id
    assert client.get("/api/v1/staff/refunds?status=failed",
                      headers=reviewer["headers"]).status_code == 403
    assert client.get("/api/v1/staff/refunds?status=nope",
                      headers=operator["headers"]).status_code == 422
    assert client.post(f"/api/v1/staff/refunds/{refund['id']}/retry",
                       headers=reviewer["headers"]).status_code == 403
    # another refund cannot take the owed money meanwhile
    assert _staff_refund(client, operator, payment_id, 1).status_code == 409

    sim_refunds(app, refuse=None)
    retried = client.post(f"/api/v1/staff/refunds/{refund['id']}/retry",
                          headers=operator["headers"])
    assert retried.status_code == 200 and retried.get_json()["status"] == "processing"
    run_jobs(app)
    assert wait_for(lambda: payment_state(app, payment_id)["status"] == "refunded")
    assert [r["out_refund_no"] for r in refund_rows(app)] == [refund["out_refund_no"]]
    assert client.get("/api/v1/staff/refunds?status=failed",
                      headers=operator["headers"]).get_json()["total"] == 0
    again = client.post(f"/api/v1/staff/refunds/{refund['id']}/retry",
                        headers=operator["headers"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "refund_not_retryable"
    assert client.post("/api/v1/staff/refunds/999999/retry",
                       headers=operator["headers"]).status_code == 404


def test_a_refund_wechat_ends_abnormal_is_failed_for_staff(client, app, alice, make_order,
                                                          staff_factory):
    order_id, payment_id = _paid(client, app, alice, make_order, 300)
    operator = staff_factory("operator")
    sim_refunds(app, outcome="ABNORMAL")
    assert _staff_refund(client, operator, payment_id, 300).status_code == 201
    run_jobs(app)
    assert wait_for(lambda: refund_rows(app, payment_id)[0]["status"] == "failed")
    assert "ABNORMAL" in refund_rows(app, payment_id)[0]["failure_reason"]
    assert payment_state(app, payment_id)["status"] == "refunding"
    listed = client.get("/api/v1/staff/refunds?status=failed", headers=operator["headers"])
    assert [item["payment_id"] for item in listed.get_json()["items"]] == [payment_id]
    assert len(refund_rows(app)) == 1


# ----------------------------------------- 3. no WeChat call inside a request's transaction

def test_a_staff_refund_commits_once_and_leaves_wechat_to_the_worker(client, app, alice,
                                                                    make_order, staff_factory,
                                                                    commits):
    order_id, payment_id = _paid(client, app, alice, make_order, 900)
    operator = staff_factory("operator")
    out_trade_no = payment_state(app, payment_id)["out_trade_no"]
    commits.clear()
    response = _staff_refund(client, operator, payment_id, 400)
    assert response.status_code == 201 and response.get_json()["status"] == "processing"
    assert len(commits) == 1
    assert sim_transaction(app, out_trade_no)["refunds"] == []  # WeChat not asked yet
    assert len(jobs_named(app, "app.tasks.payments.submit_refund")) == 1
    run_jobs(app)
    assert [r["out_refund_no"] for r in sim_transaction(app, out_trade_no)["refunds"]] == \
        [refund_rows(app, payment_id)[0]["out_refund_no"]]


def test_binding_a_phone_calls_wechat_with_no_transaction_open(client, app, alice):
    from app.wechat import miniprogram

    seen = []

    def observe(response, *args, **kwargs):
        if "getuserphonenumber" in response.url:
            seen.append(db.session().in_transaction())

    with app.app_context():
        miniprogram.client()._http.hooks["response"].append(observe)
    response = client.post("/api/v1/auth/phone", json={"code": "phone:13812345678"},
                           headers=alice["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["phone_bound"] is True
    assert seen == [False]


# ---------------------------------------------------------------- jobs are declared one way

def test_jobs_are_declared_and_enqueued_by_function(app):
    from app.common.jobs import declared_jobs, job_name
    from app.extensions import jobs
    from app.tasks import payments as tasks

    assert job_name(tasks.submit_refund) == "app.tasks.payments.submit_refund"
    assert {"app.tasks.payments.submit_refund", "app.tasks.payments.close_expired_payment",
            "app.tasks.payments.reconcile_payments"} <= set(declared_jobs())
    with app.app_context():
        with pytest.raises(TypeError):
            jobs.enqueue_after_commit(db.session, "app.tasks.payments.no_such_job", 1)
        with pytest.raises(TypeError):
            jobs.enqueue_after_commit(db.session, print, 1)  # not a declared job
        db.session.rollback()
        db.session.remove()


def test_nothing_is_written_when_a_refund_is_refused_by_validation(client, app, alice, make_order,
                                                                  staff_factory):
    order_id, payment_id = _paid(client, app, alice, make_order, 100)
    operator = staff_factory("operator")
    before = row_counts(app)
    assert _staff_refund(client, operator, payment_id, 101).status_code == 409
    assert row_counts(app) == before
    assert jobs_named(app, "app.tasks.payments.submit_refund") == []
