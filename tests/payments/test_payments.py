"""Payments through the real wechatpayv3 SDK and the simulator, over real HTTP."""
import threading

import requests
from rq import Queue
from rq.serializers import JSONSerializer

from app.extensions import db, redis_client
from tests.conftest import row_counts
from tests.payments.conftest import (jobs_named, order_state, payment_state, prepay, run_jobs,
                                     sim_mode, sim_pay, sim_transaction, wait_for)


def follow_up_jobs(app, name="app.tasks.payments.payment_succeeded"):
    with app.app_context():
        queue = Queue("default", connection=redis_client.conn, serializer=JSONSerializer)
        return [job for job in queue.jobs if job.func_name == name]


def test_prepay_returns_request_payment_params_and_reuses_the_open_prepay(client, app, alice,
                                                                          make_order):
    order_id = make_order(alice, 2500)
    first = prepay(client, alice, order_id)
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    params = body["pay_params"]
    assert params["signType"] == "RSA" and params["package"].startswith("prepay_id=")
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert body["payment"]["amount_fen"] == 2500 and body["payment"]["status"] == "created"
    again = prepay(client, alice, order_id).get_json()
    assert again["pay_params"]["package"] == params["package"]
    assert again["payment"]["id"] == body["payment"]["id"]
    assert row_counts(app)["payments"] == 1


def test_prepay_refuses_foreign_unknown_and_closed_orders(client, app, alice, bob, make_order):
    order_id = make_order(alice)
    before = row_counts(app)
    foreign = prepay(client, bob, order_id)
    assert foreign.status_code == 404 and foreign.get_json()["error"]["code"] == "order_not_found"
    unknown_type = client.post("/api/v1/payments/prepay", json={"order_type": "nope",
                                                               "order_id": order_id},
                               headers=alice["headers"])
    assert unknown_type.status_code == 404
    assert unknown_type.get_json()["error"]["code"] == "unknown_order_type"
    assert row_counts(app) == before


def test_paying_moves_the_order_once_and_enqueues_one_follow_up(client, app, alice, make_order):
    order_id = make_order(alice, 1800)
    body = prepay(client, alice, order_id).get_json()
    paid = sim_pay(app, body["pay_params"]["package"].split("=", 1)[1])
    assert paid.status_code == 200, paid.text
    assert paid.json()["deliveries"] == [204]
    assert order_state(app, order_id)["status"] == "paid"
    state = payment_state(app, body["payment"]["id"])
    assert state["status"] == "paid" and state["transaction_id"] == paid.json()["transaction_id"]
    assert len(follow_up_jobs(app)) == 1
    mine = client.get(f"/api/v1/payments/{body['payment']['id']}", headers=alice["headers"])
    assert mine.get_json()["status"] == "paid"
    assert prepay(client, alice, order_id).status_code == 409  # the order is no longer payable


def test_twenty_concurrent_duplicate_notifications_apply_once(client, app, alice, make_order):
    order_id = make_order(alice, 990)
    body = prepay(client, alice, order_id).get_json()
    sim_mode(app, mode="duplicate", copies=20)
    paid = sim_pay(app, body["pay_params"]["package"].split("=", 1)[1])
    assert paid.status_code == 200, paid.text
    assert paid.json()["deliveries"] == [204] * 20
    state = order_state(app, order_id)
    assert state["status"] == "paid" and state["paid_hooks"] == 1
    assert len(follow_up_jobs(app)) == 1


def test_dropped_notification_is_settled_by_reconciliation(client, app, alice, make_order):
    from app.tasks.payments import reconcile_payments

    order_id = make_order(alice, 700)
    body = prepay(client, alice, order_id).get_json()
    sim_mode(app, mode="drop")
    paid = sim_pay(app, body["pay_params"]["package"].split("=", 1)[1])
    assert paid.json()["deliveries"] == []
    assert order_state(app, order_id)["status"] == "pending_payment"
    with app.app_context():
        quiet_too_short = reconcile_payments(older_than_seconds=3600)
        assert quiet_too_short == {}
        outcomes = reconcile_payments(older_than_seconds=0)
        db.session.remove()
    assert outcomes == {f"payment:{body['payment']['id']}": "paid"}
    assert order_state(app, order_id)["status"] == "paid"
    assert len(follow_up_jobs(app)) == 1
    with app.app_context():
        assert reconcile_payments(older_than_seconds=0) == {}  # nothing left to ask about
        db.session.remove()


def _expire_now(app, payment_id):
    from datetime import timedelta

    from app.common.time import utcnow
    from app.payments.models import Payment

    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        payment.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()


def test_unpaid_order_closes_at_its_ttl_through_the_delayed_job(client, app, alice, make_order):
    from rq.registry import ScheduledJobRegistry

    app.config["PAYMENT_TTL_SECONDS"] = 1
    try:
        order_id = make_order(alice, 500)
        body = prepay(client, alice, order_id).get_json()
    finally:
        app.config["PAYMENT_TTL_SECONDS"] = 900
    payment_id = body["payment"]["id"]
    with app.app_context():
        conn = redis_client.conn
        registry = ScheduledJobRegistry("default", connection=conn, serializer=JSONSerializer)
        assert registry.get_job_ids() == [f"payment-close-{payment_id}"]
        db.session.remove()

    def worker_closed_it():  # the job is due 2 s after the 1 s TTL
        run_jobs(app, scheduler=True)
        return payment_state(app, payment_id)["status"] == "closed"

    assert wait_for(worker_closed_it, seconds=15)
    assert order_state(app, order_id) == {"status": "closed", "paid_hooks": 0,
                                          "closed_hooks": 1, "refunded_fen": 0}
    # WeChat closed it too: paying now is refused there
    refused = sim_pay(app, body["pay_params"]["package"].split("=", 1)[1])
    assert refused.status_code == 400
    assert prepay(client, alice, order_id).status_code == 409


def test_cron_sweep_closes_when_the_scheduled_job_was_lost(client, app, alice, make_order):
    from rq.registry import ScheduledJobRegistry

    from app.tasks.payments import sweep_expired_payments

    order_id = make_order(alice, 500)
    payment_id = prepay(client, alice, order_id).get_json()["payment"]["id"]
    with app.app_context():
        conn = redis_client.conn
        registry = ScheduledJobRegistry("default", connection=conn, serializer=JSONSerializer)
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
        assert registry.get_job_ids() == []
        assert sweep_expired_payments() == {}  # not due yet
    _expire_now(app, payment_id)
    with app.app_context():
        assert sweep_expired_payments() == {payment_id: "closed"}
        assert sweep_expired_payments() == {}
        db.session.remove()
    assert order_state(app, order_id)["status"] == "closed"


def test_close_finds_a_payment_made_at_the_last_moment(client, app, alice, make_order):
    """Notification dropped, TTL passes: the close step queries first and books it as paid."""
    from app.tasks.payments import close_expired_payment

    order_id = make_order(alice, 300)
    body = prepay(client, alice, order_id).get_json()
    sim_mode(app, mode="drop")
    sim_pay(app, body["pay_params"]["package"].split("=", 1)[1])
    _expire_now(app, body["payment"]["id"])
    with app.app_context():
        assert close_expired_payment(body["payment"]["id"]) == "paid"
        db.session.remove()
    assert order_state(app, order_id)["status"] == "paid"


def _paid_order(client, app, user, make_order, amount):
    order_id = make_order(user, amount)
    body = prepay(client, user, order_id).get_json()
    assert sim_pay(app, body["pay_params"]["package"].split("=", 1)[1]).status_code == 200
    return order_id, body["payment"]["id"]


_wait_for = wait_for  # the booking tests import it from here


def test_partial_then_full_refund(client, app, alice, make_order, staff_factory):
    order_id, payment_id = _paid_order(client, app, alice, make_order, 1000)
    operator = staff_factory("operator")
    url = f"/api/v1/staff/payments/{payment_id}/refunds"
    first = client.post(url, json={"amount_fen": 300, "reason": "部分退款"},
                        headers=operator["headers"])
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "processing"  # the worker asks WeChat
    assert payment_state(app, payment_id)["status"] == "refunding"
    run_jobs(app)
    assert _wait_for(lambda: payment_state(app, payment_id)["status"] == "partially_refunded")
    over = client.post(url, json={"amount_fen": 701, "reason": "超额"}, headers=operator["headers"])
    assert over.status_code == 409 and over.get_json()["error"]["code"] == "refund_exceeds_paid"
    assert over.get_json()["error"]["details"]["refundable_fen"] == 700
    rest = client.post(url, json={"amount_fen": 700, "reason": "余额退款"},
                       headers=operator["headers"])
    assert rest.status_code == 201
    run_jobs(app)
    assert _wait_for(lambda: payment_state(app, payment_id)["status"] == "refunded")
    state = payment_state(app, payment_id)
    assert state["refunded_fen"] == 1000
    assert sorted(state["refunds"]) == [(300, "succeeded"), (700, "succeeded")]
    assert order_state(app, order_id)["refunded_fen"] == 1000
    assert order_state(app, order_id)["status"] == "refunded"
    nothing_left = client.post(url, json={"amount_fen": 1, "reason": "再退"},
                               headers=operator["headers"])
    assert nothing_left.status_code == 409


def test_concurrent_refunds_never_exceed_the_paid_amount(client, app, alice, make_order,
                                                         staff_factory):
    order_id, payment_id = _paid_order(client, app, alice, make_order, 100)
    operator = staff_factory("operator")
    url = f"{app.config['LIVE_URL']}/api/v1/staff/payments/{payment_id}/refunds"
    statuses = []
    barrier = threading.Barrier(10)

    def refund():
        barrier.wait()
        response = requests.post(url, json={"amount_fen": 30, "reason": "并发退款"},
                                 headers=operator["headers"], timeout=60)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=refund) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 3 + [409] * 7
    run_jobs(app)
    assert _wait_for(lambda: payment_state(app, payment_id)["refunded_fen"] == 90)
    state = payment_state(app, payment_id)
    assert state["status"] == "partially_refunded"
    assert sum(amount for amount, _ in state["refunds"]) == 90


def test_refund_notification_before_the_refund_api_answers(client, app, alice, make_order,
                                                          staff_factory):
    order_id, payment_id = _paid_order(client, app, alice, make_order, 400)
    sim_mode(app, refund_timing="early")
    operator = staff_factory("operator")
    response = client.post(f"/api/v1/staff/payments/{payment_id}/refunds",
                           json={"amount_fen": 400, "reason": "患者取消"},
                           headers=operator["headers"])
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["status"] == "processing"
    run_jobs(app)  # the job's refund call is answered after the notification settled it
    state = payment_state(app, payment_id)
    assert state["status"] == "refunded" and state["refunded_fen"] == 400
    assert state["refunds"] == [(400, "succeeded")]
    assert len(jobs_named(app, "app.tasks.payments.refund_succeeded", "finished")) == 1


def test_lost_refund_notification_is_settled_by_reconciliation(client, app, alice, make_order,
                                                               staff_factory):
    from app.tasks.payments import reconcile_payments

    order_id, payment_id = _paid_order(client, app, alice, make_order, 400)
    sim_mode(app, mode="drop")
    operator = staff_factory("operator")
    response = client.post(f"/api/v1/staff/payments/{payment_id}/refunds",
                           json={"amount_fen": 150, "reason": "部分退款"},
                           headers=operator["headers"])
    assert response.status_code == 201
    run_jobs(app)
    out_trade_no = payment_state(app, payment_id)["out_trade_no"]
    # WeChat settled it (and its notification was dropped): we still do not know
    assert wait_for(lambda: [r["status"] for r in sim_transaction(app, out_trade_no)["refunds"]]
                    == ["SUCCESS"])
    assert payment_state(app, payment_id)["status"] == "refunding"
    with app.app_context():
        outcomes = reconcile_payments(older_than_seconds=0)
        db.session.remove()
    assert list(outcomes.values()) == ["applied"]
    assert payment_state(app, payment_id)["status"] == "partially_refunded"


def test_refunding_an_unpaid_or_unknown_payment_is_refused(client, app, alice, make_order,
                                                          staff_factory):
    order_id = make_order(alice, 100)
    payment_id = prepay(client, alice, order_id).get_json()["payment"]["id"]
    operator = staff_factory("operator")
    reviewer = staff_factory("reviewer")
    before = row_counts(app)
    unpaid = client.post(f"/api/v1/staff/payments/{payment_id}/refunds",
                         json={"amount_fen": 100, "reason": "退款"}, headers=operator["headers"])
    assert unpaid.status_code == 409
    assert unpaid.get_json()["error"]["code"] == "payment_not_refundable"
    unknown = client.post("/api/v1/staff/payments/999999/refunds",
                          json={"amount_fen": 100, "reason": "退款"}, headers=operator["headers"])
    assert unknown.status_code == 404
    for amount in (0, -5, 1.5, "100"):
        bad = client.post(f"/api/v1/staff/payments/{payment_id}/refunds",
                          json={"amount_fen": amount, "reason": "退款"}, headers=operator["headers"])
        assert bad.status_code == 422
    assert client.post(f"/api/v1/staff/payments/{payment_id}/refunds",
                       json={"amount_fen": 100, "reason": "退款"},
                       headers=reviewer["headers"]).status_code == 403
    assert row_counts(app) == before
    other = client.get(f"/api/v1/payments/{payment_id}", headers=alice["headers"])
    assert other.status_code == 200


def test_closing_an_unpaid_order_now_closes_it_at_wechat_too(client, app, alice, make_order):
    from app.payments.services import close_unpaid_now

    order_id = make_order(alice, 200)
    body = prepay(client, alice, order_id).get_json()
    with app.app_context():
        assert close_unpaid_now("demo_order", order_id) == "closed"
        assert close_unpaid_now("demo_order", order_id) == "noop"
        db.session.remove()
    assert order_state(app, order_id)["status"] == "closed"
    assert sim_pay(app, body["pay_params"]["package"].split("=", 1)[1]).status_code == 400


def test_money_arriving_for_a_closed_order_is_refunded_in_full(client, app, alice, make_order):
    """WeChat reports a payment we had closed locally (close never reached WeChat)."""
    from app.payments.models import Payment
    from app.tasks.payments import submit_refund

    order_id = make_order(alice, 600)
    body = prepay(client, alice, order_id).get_json()
    payment_id = body["payment"]["id"]
    with app.app_context():  # closed here only, as if the close call to WeChat was lost
        payment = db.session.get(Payment, payment_id)
        payment.status = "closed"
        db.session.commit()
        db.session.remove()
    paid = sim_pay(app, body["pay_params"]["package"].split("=", 1)[1])
    assert paid.json()["deliveries"] == [204]
    state = payment_state(app, payment_id)
    assert state["status"] == "refunding" and state["refunds"] == [(600, "processing")]
    assert order_state(app, order_id)["status"] == "pending_payment"  # the order never paid
    jobs = follow_up_jobs(app, "app.tasks.payments.submit_refund")
    assert len(jobs) == 1 and len(follow_up_jobs(app)) == 0
    with app.app_context():
        submit_refund(*jobs[0].args)
        db.session.remove()
    assert _wait_for(lambda: payment_state(app, payment_id)["status"] == "refunded")
