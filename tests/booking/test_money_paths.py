"""Registrations and their money on every path: paid = refunded + kept for each payment, one
row per out_refund_no, one commit per request, and orders that say what happened."""

import requests

from app.extensions import db
from tests.booking.conftest import book, pay, registration_row, schedule_row
from tests.payments.conftest import payment_state, run_jobs, sim_transaction, wait_for

PATIENT = "王小明"  # make_patient's default name: it must never appear whole in a message


def sim_refunds(app, **settings):
    response = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/refunds",
                             json=settings, timeout=10)
    assert response.status_code == 200, response.text


def cancel(client, person, registration_id):
    return client.post(f"/api/v1/registrations/{registration_id}/cancel",
                       headers=person["headers"])


def stop(client, operator, schedule_id, reason="医生临时出诊任务"):
    return client.post(f"/api/v1/staff/schedules/{schedule_id}/stop", json={"reason": reason},
                       headers=operator["headers"])


def messages(client, person):
    return client.get("/api/v1/notifications?page_size=100",
                      headers=person["headers"]).get_json()["items"]


def registration_detail(app, registration_id):
    from app.booking.models import Registration

    with app.app_context():
        row = db.session.get(Registration, registration_id)
        state = {"status": row.status, "stop_reason": row.stop_reason,
                 "cancelled_at": row.cancelled_at, "closed_at": row.closed_at}
        db.session.remove()
        return state


def money_of_every_payment(app):
    """For each payment: what was paid, refunded (our rows, and WeChat's own record), kept."""
    from app.payments.models import Payment, Refund

    with app.app_context():
        result = {}
        for payment in db.session.query(Payment).order_by(Payment.id):
            refunds = db.session.query(Refund).filter_by(payment_id=payment.id).all()
            result[payment.id] = {
                "order_id": payment.order_id, "status": payment.status,
                "paid": payment.amount_fen if payment.transaction_id else 0,
                "refunded": payment.refunded_fen,
                "refund_rows": sum(r.amount_fen for r in refunds if r.status == "succeeded"),
                "out_refund_nos": [r.out_refund_no for r in refunds],
                "refund_statuses": sorted(r.status for r in refunds),
                "out_trade_no": payment.out_trade_no}
        db.session.remove()
    for money in result.values():
        money["kept"] = money["paid"] - money["refunded"]
        tx = sim_transaction(app, money["out_trade_no"])
        at_wechat = (tx or {}).get("refunds") or []
        money["wechat_refunded"] = sum(r["refund"] for r in at_wechat if r["status"] == "SUCCESS")
        money["wechat_refund_nos"] = sorted(r["out_refund_no"] for r in at_wechat)
    return result


def test_money_adds_up_on_every_path(client, app, catalogue, verified, staff_factory):
    schedule_id = catalogue["schedule"](total=20, fee_fen=2000)
    stopped_schedule = catalogue["schedule"](total=5, fee_fen=1500, period="afternoon")
    people = verified(7)
    operator = staff_factory("operator")
    orders = {}

    def booked(person, schedule, paid=True):
        body = book(client, person, schedule).get_json()
        if paid:
            pay(app, body)
        return body

    # pay only: everything kept
    orders["kept"] = booked(people[0], schedule_id)
    # pay, then cancel: refunded in full
    orders["cancelled"] = booked(people[1], schedule_id)
    assert cancel(client, people[1], orders["cancelled"]["registration"]["id"]).status_code == 200
    # pay, then 停诊: refunded in full
    orders["stopped"] = booked(people[2], stopped_schedule)
    # partial staff refund: 700 back, 1300 kept
    orders["partial"] = booked(people[3], schedule_id)
    refund = client.post(f"/api/v1/staff/payments/{orders['partial']['payment']['id']}/refunds",
                         json={"amount_fen": 700, "reason": "部分退款"},
                         headers=operator["headers"])
    assert refund.status_code == 201
    # paid after close: cancelled unpaid, the payment still arrives
    orders["paid_after_close"] = booked(people[4], schedule_id, paid=False)
    assert cancel(client, people[4],
                  orders["paid_after_close"]["registration"]["id"]).status_code == 200
    assert pay(app, orders["paid_after_close"])["deliveries"] == [204]
    assert stop(client, operator, stopped_schedule).status_code == 200
    run_jobs(app)
    # a refund WeChat refuses: retried with the same number, then failed, then staff retry it
    orders["refused"] = booked(people[5], schedule_id)
    sim_refunds(app, refuse="NOT_ENOUGH")
    assert cancel(client, people[5], orders["refused"]["registration"]["id"]).status_code == 200
    run_jobs(app)
    run_jobs(app)
    refused_payment = orders["refused"]["payment"]["id"]
    assert payment_state(app, refused_payment)["refunds"] == [(2000, "processing")]
    from app.payments.models import Refund
    from app.tasks.payments import submit_refund
    from app.common.time import utcnow
    from datetime import timedelta
    with app.app_context():
        row = db.session.query(Refund).filter_by(payment_id=refused_payment).one()
        row.created_at = utcnow() - timedelta(days=2)
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert submit_refund(row.id) == "failed"
        db.session.remove()

    settled = {"kept", "cancelled", "stopped", "partial", "paid_after_close"}
    assert wait_for(lambda: all(
        money_of_every_payment(app)[orders[name]["payment"]["id"]]["status"]
        in ("paid", "refunded", "partially_refunded") for name in settled))
    expected_refunded = {"kept": 0, "cancelled": 2000, "stopped": 1500, "partial": 700,
                         "paid_after_close": 2000, "refused": 0}
    money = money_of_every_payment(app)
    assert len(money) == len(orders) + 0  # one payment per order
    for name, body in orders.items():
        m = money[body["payment"]["id"]]
        assert m["paid"] == m["refunded"] + m["kept"], name
        assert m["refunded"] == expected_refunded[name] == m["refund_rows"] == \
            m["wechat_refunded"], (name, m)
        assert len(set(m["out_refund_nos"])) == len(m["out_refund_nos"]), name
        assert len(m["out_refund_nos"]) == (0 if name == "kept" else 1), (name, m)
    assert money[refused_payment]["refund_statuses"] == ["failed"]
    assert money[refused_payment]["status"] == "refunding"  # still owed, listed for staff

    # staff retry it once the account is topped up: refunded, still the one row
    sim_refunds(app, refuse=None)
    failed = client.get("/api/v1/staff/refunds?status=failed",
                        headers=operator["headers"]).get_json()["items"]
    assert [item["payment_id"] for item in failed] == [refused_payment]
    assert client.post(f"/api/v1/staff/refunds/{failed[0]['id']}/retry",
                       headers=operator["headers"]).status_code == 200
    run_jobs(app)
    assert wait_for(lambda: payment_state(app, refused_payment)["status"] == "refunded")
    m = money_of_every_payment(app)[refused_payment]
    assert m["paid"] == m["refunded"] + m["kept"] and m["kept"] == 0
    assert m["refunded"] == m["refund_rows"] == m["wechat_refunded"] == 2000
    assert m["wechat_refund_nos"] == m["out_refund_nos"] and len(m["out_refund_nos"]) == 1
    assert registration_row(app, orders["refused"]["registration"]["id"])["status"] == "refunded"
    assert registration_row(app, orders["paid_after_close"]["registration"]["id"])["status"] \
        == "cancelled"  # it never booked a visit
    assert schedule_row(app, schedule_id)["available"] == 20 - 2  # kept + partial hold slots


def test_paying_after_an_unpaid_cancel_is_refunded_and_acknowledged(client, app, catalogue,
                                                                   verified):
    """Before: mark_booked raised, the notification answered 409 and the money stayed taken."""
    schedule_id = catalogue["schedule"](total=1, fee_fen=3000)
    person, other = verified(2)
    body = book(client, person, schedule_id).get_json()
    registration_id = body["registration"]["id"]
    assert cancel(client, person, registration_id).get_json()["status"] == "cancelled"
    assert pay(app, body)["deliveries"] == [204]  # before the close job reached WeChat
    state = payment_state(app, body["payment"]["id"])
    assert state["status"] == "refunding" and state["refunds"] == [(3000, "processing")]
    assert registration_row(app, registration_id)["status"] == "cancelled"
    assert book(client, other, schedule_id).status_code == 201  # the slot was not taken back
    run_jobs(app)
    assert wait_for(lambda: payment_state(app, body["payment"]["id"])["status"] == "refunded")
    assert registration_row(app, registration_id)["status"] == "cancelled"
    kinds = sorted(m["kind"] for m in messages(client, person))
    assert kinds == ["refund_succeeded", "registration_cancelled"]


def test_cancel_and_stop_commit_once_and_refund_from_the_worker(client, app, catalogue, verified,
                                                               staff_factory, commits):
    schedule_id = catalogue["schedule"](total=5, fee_fen=1000)
    first, second, third = verified(3)
    bodies = [book(client, person, schedule_id).get_json() for person in (first, second, third)]
    for body in bodies[:2]:
        pay(app, body)
    operator = staff_factory("operator")
    commits.clear()
    response = cancel(client, first, bodies[0]["registration"]["id"])
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert len(commits) == 1
    out_trade_no = payment_state(app, bodies[0]["payment"]["id"])["out_trade_no"]
    assert sim_transaction(app, out_trade_no)["refunds"] == []  # WeChat is the worker's
    assert payment_state(app, bodies[0]["payment"]["id"])["refunds"] == [(1000, "processing")]
    commits.clear()
    assert stop(client, operator, schedule_id, "设备检修").get_json() == {
        "schedule_id": schedule_id, "stopped": 1, "closed": 1}
    assert len(commits) == 1
    assert payment_state(app, bodies[1]["payment"]["id"])["refunds"] == [(1000, "processing")]
    run_jobs(app)
    for body in bodies[:2]:
        assert wait_for(lambda: registration_row(app, body["registration"]["id"])["status"]
                        == "refunded")
    assert payment_state(app, bodies[2]["payment"]["id"])["status"] == "closed"


def test_orders_say_what_happened_and_messages_mask_the_name(client, app, catalogue, verified,
                                                            staff_factory):
    from app.tasks.payments import sweep_expired_payments
    from tests.payments.test_payments import _expire_now

    stopped_schedule = catalogue["schedule"](total=5, fee_fen=1000)
    other_schedule = catalogue["schedule"](total=5, fee_fen=1000, period="afternoon")
    paid_one, unpaid_one, late_one = verified(3)
    paid_body = book(client, paid_one, stopped_schedule).get_json()
    pay(app, paid_body)
    unpaid_body = book(client, unpaid_one, stopped_schedule).get_json()
    late_body = book(client, late_one, other_schedule).get_json()
    operator = staff_factory("operator")
    assert stop(client, operator, stopped_schedule, "医生临时出诊任务").status_code == 200
    stopped = registration_detail(app, paid_body["registration"]["id"])
    closed = registration_detail(app, unpaid_body["registration"]["id"])
    assert stopped["status"] == "stopped" and stopped["stop_reason"] == "医生临时出诊任务"
    assert closed["status"] == "closed" and closed["stop_reason"] == "医生临时出诊任务"
    _expire_now(app, late_body["payment"]["id"])
    with app.app_context():
        # the unpaid order's payment (expired by 停诊) closes too, if its job has not yet
        assert sweep_expired_payments()[late_body["payment"]["id"]] == "closed"
        db.session.remove()
    timed_out = registration_detail(app, late_body["registration"]["id"])
    assert timed_out["status"] == "closed" and timed_out["stop_reason"] is None
    run_jobs(app)
    assert wait_for(lambda: registration_row(app, paid_body["registration"]["id"])["status"]
                    == "refunded")
    inbox = {person_name: messages(client, person) for person_name, person in
             (("paid", paid_one), ("unpaid", unpaid_one), ("late", late_one))}
    assert sorted(m["kind"] for m in inbox["paid"]) == ["refund_succeeded",
                                                        "registration_booked",
                                                        "schedule_stopped"]
    assert [m["kind"] for m in inbox["unpaid"]] == ["schedule_stopped"]
    assert [m["kind"] for m in inbox["late"]] == ["registration_closed"]
    for items in inbox.values():
        for message in items:
            assert PATIENT not in message["body"], message
            assert "王" in message["body"], message  # the masked form is there
    refund_message = next(m for m in inbox["paid"] if m["kind"] == "refund_succeeded")
    assert "10.00" in refund_message["body"]
