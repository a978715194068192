"""Notifications we cannot verify or accept answer 4xx {"code": "FAIL"} and change nothing."""
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from app.wechat.simulator.pay import build_notification
from tests.conftest import row_counts
from tests.payments.conftest import order_state, payment_state, prepay


@pytest.fixture
def open_payment(client, app, alice, make_order):
    order_id = make_order(alice, 1234)
    body = prepay(client, alice, order_id).get_json()
    return {"order_id": order_id, "payment_id": body["payment"]["id"],
            "out_trade_no": body["payment"]["out_trade_no"]}


def transaction(app, out_trade_no, **overrides):
    resource = {"appid": app.config["WECHATPAY_APPID"], "mchid": app.config["WECHATPAY_MCHID"],
                "out_trade_no": out_trade_no, "transaction_id": "4200000000202611220000000001",
                "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                "success_time": "2026-11-22T10:00:00+08:00",
                "payer": {"openid": "o-test"},
                "amount": {"total": 1234, "payer_total": 1234, "currency": "CNY",
                           "payer_currency": "CNY"}}
    resource.update(overrides)
    return resource


def send(client, headers, body):
    return client.post("/wechat/pay/notify", data=body, headers=headers,
                       content_type="application/json")


def test_a_valid_notification_is_applied_once(client, app, open_payment):
    with app.app_context():
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction(app, open_payment["out_trade_no"]))
    assert send(client, headers, body).status_code == 204
    assert send(client, headers, body).status_code == 204  # the same delivery again
    assert order_state(app, open_payment["order_id"])["paid_hooks"] == 1


def _refused(client, app, open_payment, headers, body):
    before = row_counts(app)
    response = send(client, headers, body)
    assert 400 <= response.status_code < 500, response.get_data()
    assert response.get_json()["code"] == "FAIL"
    assert row_counts(app) == before
    assert payment_state(app, open_payment["payment_id"])["status"] == "created"
    assert order_state(app, open_payment["order_id"])["status"] == "pending_payment"
    return response


def test_tampered_body_is_refused(client, app, open_payment):
    with app.app_context():
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction(app, open_payment["out_trade_no"]))
    _refused(client, app, open_payment, headers, body.replace('"支付成功"', '"支付成功 "'))


def test_foreign_signer_is_refused(client, app, open_payment):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with app.app_context():
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction(app, open_payment["out_trade_no"]),
                                           private_key=stranger)
    _refused(client, app, open_payment, headers, body)


def test_unknown_serial_is_refused_without_network(client, app, open_payment):
    with app.app_context():
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction(app, open_payment["out_trade_no"]),
                                           serial="PUB_KEY_ID_SOMEONE_ELSE")
    _refused(client, app, open_payment, headers, body)


def test_stale_timestamp_is_refused(client, app, open_payment):
    with app.app_context():
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction(app, open_payment["out_trade_no"]),
                                           timestamp=int(time.time()) - 301)
    _refused(client, app, open_payment, headers, body)


def test_wrong_amount_is_refused(client, app, open_payment):
    with app.app_context():
        resource = transaction(app, open_payment["out_trade_no"],
                               amount={"total": 1, "payer_total": 1, "currency": "CNY"})
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction", resource)
    assert _refused(client, app, open_payment, headers, body).status_code == 400


def test_unknown_out_trade_no_is_refused(client, app, open_payment):
    with app.app_context():
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction(app, "P20261122000000nosuchorder"))
    _refused(client, app, open_payment, headers, body)


def test_other_merchant_or_app_is_refused(client, app, open_payment):
    with app.app_context():
        for override in ({"appid": "wx-someone-else"}, {"mchid": "1900000000"}):
            headers, body = build_notification(
                "TRANSACTION.SUCCESS", "transaction",
                transaction(app, open_payment["out_trade_no"], **override))
            _refused(client, app, open_payment, headers, body)


def test_garbage_bodies_are_refused(client, app, open_payment):
    for body in ("", "{}", "not json", '{"resource": 5}'):
        response = client.post("/wechat/pay/notify", data=body, content_type="application/json")
        assert 400 <= response.status_code < 500
        assert response.get_json()["code"] == "FAIL"
    assert payment_state(app, open_payment["payment_id"])["status"] == "created"


def test_unknown_refund_is_refused(client, app, open_payment):
    with app.app_context():
        headers, body = build_notification("REFUND.SUCCESS", "refund", {
            "mchid": app.config["WECHATPAY_MCHID"], "out_trade_no": open_payment["out_trade_no"],
            "transaction_id": "4200000000202611220000000001", "out_refund_no": "R-unknown",
            "refund_id": "50000000000000000000000000", "refund_status": "SUCCESS",
            "success_time": "2026-11-22T10:00:00+08:00",
            "amount": {"total": 1234, "refund": 1234, "payer_total": 1234, "payer_refund": 1234}})
    response = client.post("/wechat/pay/refund-notify", data=body, headers=headers,
                           content_type="application/json")
    assert response.status_code == 400 and response.get_json()["code"] == "FAIL"
