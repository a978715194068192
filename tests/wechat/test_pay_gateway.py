"""app.wechat.pay through the real wechatpayv3 SDK, over real HTTP, against the simulator on the
live test server; notifications go to a stdlib HTTP receiver run by the test."""
import base64
import json
import socket
import time
from datetime import datetime, timedelta

import pytest
import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from wechatpayv3.utils import build_authorization

from app.wechat import pay
from app.wechat.errors import (NotificationRejected, PayApiError, PayOrderNotFound, PayOrderPaid,
                               PayUnavailable)
from app.wechat.simulator.keys import load_keys, public_pem
from app.wechat.simulator.pay import build_notification, sign_message
from tests.wechat.conftest import run_app_script, wait_until

OPENID = "oSimPatient0000000000000001"


@pytest.fixture(scope="module")
def foreign_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def keys(app):
    return load_keys(app.config["INSTANCE_DIR"])


@pytest.fixture
def no_network(monkeypatch):
    """Any outbound TCP connection attempt fails the test."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise AssertionError(f"network I/O attempted: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


_counter = iter(range(1, 10**6))


def new_no(prefix="T"):
    return f"{prefix}{int(time.time())}{next(_counter):06d}"


def in_minutes(minutes):
    return datetime.utcnow() + timedelta(minutes=minutes)


def sim(app, path, **kwargs):
    return requests.post(app.config["LIVE_URL"] + path, timeout=30, **kwargs)


def sim_mode(app, **settings):
    response = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/notifications",
                             json=settings, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def sim_state(app, out_trade_no):
    return requests.get(app.config["WECHATPAY_GATEWAY"] + "/_control/transactions/"
                        + out_trade_no, timeout=10).json()


def prepay(amount=100, minutes=15, attach="appointment:42"):
    out_trade_no = new_no()
    prepay_id = pay.jsapi_prepay(out_trade_no, "挂号费-内科", amount, OPENID, in_minutes(minutes),
                                 attach)
    return out_trade_no, prepay_id


def paid_order(app, amount=100):
    out_trade_no, prepay_id = prepay(amount)
    response = sim(app, "/_sim/pay", json={"prepay_id": prepay_id})
    assert response.status_code == 200, response.text
    return out_trade_no, response.json()


def verify_rsa(public_key, message, signature):
    public_key.verify(base64.b64decode(signature), message.encode(), padding.PKCS1v15(),
                      hashes.SHA256())


# -- prepay, paySign, query, the payer ----------------------------------------------------------

def test_prepay_and_pay_sign_verifies_with_the_merchant_public_key(app, ctx, keys):
    _, prepay_id = prepay()
    assert prepay_id.startswith("wx")
    params = pay.request_payment_params(prepay_id)
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == f"prepay_id={prepay_id}" and params["signType"] == "RSA"
    assert params["timeStamp"].isdigit() and len(params["nonceStr"]) <= 32
    message = (f"{app.config['WECHATPAY_APPID']}\n{params['timeStamp']}\n{params['nonceStr']}\n"
               f"{params['package']}\n")
    verify_rsa(keys.merchant_public_key, message, params["paySign"])
    with pytest.raises(InvalidSignature):
        verify_rsa(keys.merchant_public_key, message.replace("prepay_id", "prepay_ix"),
                   params["paySign"])


def test_time_expire_is_sent_as_rfc3339_in_beijing_time(app, ctx):
    out_trade_no = new_no()
    pay.jsapi_prepay(out_trade_no, "挂号费", 100, OPENID, datetime(2031, 1, 1, 2, 0, 0), "a:1")
    assert sim_state(app, out_trade_no)["time_expire"] == "2031-01-01T10:00:00+08:00"


def test_query_then_pay_then_notification_decrypts_to_the_transaction(app, ctx, receiver):
    out_trade_no, prepay_id = prepay(amount=2500)
    before = pay.query_transaction(out_trade_no)
    assert before["trade_state"] == "NOTPAY"
    assert before["amount"]["total"] == 2500 and "transaction_id" not in before

    paid = sim(app, "/_sim/pay", json={"prepay_id": prepay_id})
    assert paid.status_code == 200, paid.text
    assert paid.json()["deliveries"] == [204]
    transaction_id = paid.json()["transaction_id"]
    assert len(transaction_id) == 28 and transaction_id.startswith("4200")

    after = pay.query_transaction(out_trade_no)
    assert after["trade_state"] == "SUCCESS"
    assert after["transaction_id"] == transaction_id
    assert after["amount"]["payer_total"] == 2500 and after["payer"]["openid"] == OPENID
    assert after["appid"] == app.config["WECHATPAY_APPID"]
    assert after["mchid"] == app.config["WECHATPAY_MCHID"]
    assert after["success_time"].endswith("+08:00")

    (record,) = receiver.on("/pay-notify")  # delivered before /_sim/pay answered
    notification = pay.parse_notification(record["headers"], record["body"])
    assert set(notification) == {"id", "event_type", "resource"}
    assert notification["event_type"] == "TRANSACTION.SUCCESS"
    assert notification["resource"] == after
    # header names in any case (e.g. a lower-cased dict) work too
    lowered = {key.lower(): value for key, value in record["headers"].items()}
    assert pay.parse_notification(lowered, record["body"])["resource"] == after


def test_query_unknown_order_raises_not_found(app, ctx):
    with pytest.raises(PayOrderNotFound) as excinfo:
        pay.query_transaction(new_no())
    assert excinfo.value.http_status == 404 and excinfo.value.wechat_code == "ORDER_NOT_EXIST"
    assert isinstance(excinfo.value, PayApiError)


def test_prepay_again_same_params_is_the_same_order_other_params_refused(app, ctx):
    out_trade_no = new_no()
    expires = in_minutes(15)
    first = pay.jsapi_prepay(out_trade_no, "挂号费", 100, OPENID, expires, "a:1")
    assert pay.jsapi_prepay(out_trade_no, "挂号费", 100, OPENID, expires, "a:1") == first
    with pytest.raises(PayApiError) as excinfo:
        pay.jsapi_prepay(out_trade_no, "挂号费", 200, OPENID, expires, "a:1")
    assert excinfo.value.wechat_code == "OUT_TRADE_NO_USED"
    assert excinfo.value.code == "wechatpay_error" and excinfo.value.status == 502


def test_gateway_rejects_bad_arguments_before_calling_wechat(app, ctx):
    with pytest.raises(ValueError):
        pay.jsapi_prepay(new_no(), "挂号费", 0, OPENID, in_minutes(15), "a")
    with pytest.raises(ValueError):
        pay.jsapi_prepay(new_no(), "挂号费", 1.5, OPENID, in_minutes(15), "a")
    with pytest.raises(ValueError):
        pay.jsapi_prepay("short", "挂号费", 100, OPENID, in_minutes(15), "a")
    with pytest.raises(ValueError):
        pay.refund("R1", new_no(), True, 100, "x")


def test_paying_after_time_expire_is_refused_unless_forced(app, ctx, receiver):
    out_trade_no, prepay_id = prepay(minutes=-1)
    late = sim(app, "/_sim/pay", json={"prepay_id": prepay_id})
    assert late.status_code == 400 and late.json()["code"] == "ORDER_EXPIRED"
    assert pay.query_transaction(out_trade_no)["trade_state"] == "NOTPAY"
    forced = sim(app, "/_sim/pay", json={"prepay_id": prepay_id, "force": True})
    assert forced.status_code == 200
    again = sim(app, "/_sim/pay", json={"prepay_id": prepay_id})
    assert again.status_code == 400 and again.json()["code"] == "ORDERPAID"


# -- notifications ------------------------------------------------------------------------------

def transaction_resource(app, **changes):
    resource = {"appid": app.config["WECHATPAY_APPID"], "mchid": app.config["WECHATPAY_MCHID"],
                "out_trade_no": new_no(), "transaction_id": "4200000000202601010000000001",
                "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                "bank_type": "OTHERS", "attach": "appointment:1",
                "success_time": "2026-01-01T09:00:00+08:00", "payer": {"openid": OPENID},
                "amount": {"total": 100, "payer_total": 100, "currency": "CNY",
                           "payer_currency": "CNY"}}
    resource.update(changes)
    return resource


def rejected(headers, body):
    with pytest.raises(NotificationRejected) as excinfo:
        pay.parse_notification(headers, body)
    assert excinfo.value.status == 400 and excinfo.value.code == "notification_rejected"
    return excinfo.value.reason


def test_crafted_notification_is_accepted(app, ctx):
    resource = transaction_resource(app)
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction", resource)
    assert pay.parse_notification(headers, body)["resource"] == resource


def test_tampered_body_is_a_bad_signature(app, ctx, receiver):
    out_trade_no, _ = paid_order(app)
    (record,) = receiver.on("/pay-notify")
    envelope = json.loads(record["body"])
    envelope["summary"] = "支付成功!"
    assert rejected(record["headers"], json.dumps(envelope, ensure_ascii=False)) == \
        "bad_signature"
    assert rejected(record["headers"], record["body"].replace("{", "{ ", 1)) == "bad_signature"
    headers = dict(record["headers"], **{"Wechatpay-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert rejected(headers, record["body"]) == "bad_signature"


def test_foreign_signer_is_a_bad_signature(app, ctx, foreign_key):
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                       transaction_resource(app), private_key=foreign_key)
    assert rejected(headers, body) == "bad_signature"


def test_resource_under_another_apiv3_key_is_refused(app, ctx):
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                       transaction_resource(app), apiv3_key="x" * 32)
    assert rejected(headers, body) == "bad_signature"


def test_foreign_serial_is_a_bad_signature_without_any_network_call(app, ctx, no_network):
    # wechatpayv3 would try to download platform certificates for an unknown serial (P8)
    for serial in ("PUB_KEY_ID_0114999999999999999999999999", "5157F09EFDC096DE15EBE81A47057A72"):
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction_resource(app), serial=serial)
        assert rejected(headers, body) == "bad_signature"
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                       transaction_resource(app))
    del headers["Wechatpay-Serial"]
    assert rejected(headers, body) == "bad_signature"


def test_stale_future_missing_or_garbled_timestamp_is_refused(app, ctx):
    skew = app.config["PAY_NOTIFY_MAX_SKEW_SECONDS"]
    now = int(time.time())
    for timestamp in (now - skew - 60, now + skew + 60, now - 86400):
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction_resource(app), timestamp=timestamp)
        assert rejected(headers, body) == "stale_timestamp"
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                       transaction_resource(app), timestamp=now - skew + 30)
    assert pay.parse_notification(headers, body)["event_type"] == "TRANSACTION.SUCCESS"
    for garbled in ("", "abc", "١٧٠٠٠٠٠٠٠٠", "-5"):
        headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                           transaction_resource(app), timestamp=garbled or 0)
        headers["Wechatpay-Timestamp"] = garbled
        assert rejected(headers, body) == "stale_timestamp"
    del headers["Wechatpay-Timestamp"]
    assert rejected(headers, body) == "stale_timestamp"


def test_other_merchants_notifications_are_refused(app, ctx):
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                       transaction_resource(app, appid="wxsomeoneelse0001"))
    assert rejected(headers, body) == "bad_appid"
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                       transaction_resource(app, mchid="1999999999"))
    assert rejected(headers, body) == "bad_mchid"
    refund_resource = {"mchid": "1999999999", "out_trade_no": new_no(), "out_refund_no": "R1",
                       "refund_id": "503", "refund_status": "SUCCESS", "transaction_id": "42",
                       "amount": {"total": 100, "refund": 100, "payer_total": 100,
                                  "payer_refund": 100}}
    headers, body = build_notification("REFUND.SUCCESS", "refund", refund_resource)
    assert rejected(headers, body) == "bad_mchid"
    refund_resource["mchid"] = app.config["WECHATPAY_MCHID"]  # refunds carry no appid
    headers, body = build_notification("REFUND.SUCCESS", "refund", refund_resource)
    assert pay.parse_notification(headers, body)["resource"] == refund_resource


def test_signed_but_unreadable_notification_is_malformed(app, ctx, keys):
    timestamp, nonce = str(int(time.time())), "N0NCE"
    for body in ("not json at all", json.dumps({"id": "x", "resource_type": "encrypt-resource",
                                                "event_type": "TRANSACTION.SUCCESS",
                                                "resource": {"algorithm": "AEAD_AES_256_GCM",
                                                             "nonce": "abc",
                                                             "ciphertext": "!!notbase64!!",
                                                             "associated_data": "transaction"}})):
        headers = {"Wechatpay-Timestamp": timestamp, "Wechatpay-Nonce": nonce,
                   "Wechatpay-Signature": sign_message(timestamp, nonce, body),
                   "Wechatpay-Serial": keys.public_key_id,
                   "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}
        assert rejected(headers, body) == "malformed"


# -- close --------------------------------------------------------------------------------------

def test_close_unpaid_then_closed_again_then_paying_is_refused(app, ctx, receiver):
    out_trade_no, prepay_id = prepay()
    assert pay.close_transaction(out_trade_no) is None
    assert pay.query_transaction(out_trade_no)["trade_state"] == "CLOSED"
    assert pay.close_transaction(out_trade_no) is None  # already closed: fine
    refused = sim(app, "/_sim/pay", json={"prepay_id": prepay_id})
    assert refused.status_code == 400 and refused.json()["code"] == "ORDER_CLOSED"
    assert receiver.records == []


def test_closing_a_paid_order_raises_order_paid(app, ctx, receiver):
    out_trade_no, _ = paid_order(app)
    with pytest.raises(PayOrderPaid) as excinfo:
        pay.close_transaction(out_trade_no)
    assert isinstance(excinfo.value, PayApiError)
    assert excinfo.value.wechat_code == pay.ORDER_PAID == "ORDERPAID"
    assert pay.query_transaction(out_trade_no)["trade_state"] == "SUCCESS"


def test_closing_an_unknown_order_raises_not_found(app, ctx):
    with pytest.raises(PayOrderNotFound):
        pay.close_transaction(new_no())


# -- refunds ------------------------------------------------------------------------------------

def test_partial_and_full_refunds_idempotent_and_over_refund_refused(app, ctx, receiver):
    out_trade_no, paid = paid_order(app, amount=1000)
    first = pay.refund("R" + out_trade_no + "a", out_trade_no, 300, 1000, "患者取消预约")
    assert first["status"] == "PROCESSING"
    assert first["amount"]["refund"] == 300 and first["amount"]["total"] == 1000
    assert first["out_refund_no"] == "R" + out_trade_no + "a" and first["refund_id"]
    again = pay.refund("R" + out_trade_no + "a", out_trade_no, 300, 1000, "患者取消预约")
    assert again["refund_id"] == first["refund_id"]  # same out_refund_no: the same refund
    rest = pay.refund("R" + out_trade_no + "b", out_trade_no, 700, 1000, "余款")
    assert rest["refund_id"] != first["refund_id"]
    with pytest.raises(PayApiError) as excinfo:
        pay.refund("R" + out_trade_no + "c", out_trade_no, 1, 1000, "多退")
    assert excinfo.value.wechat_code == "INVALID_REQUEST"
    with pytest.raises(PayApiError):  # same refund number, other amount
        pay.refund("R" + out_trade_no + "a", out_trade_no, 200, 1000, "x")

    notified = receiver.wait_for("/refund-notify", count=2)
    resources = {}
    for record in notified:
        parsed = pay.parse_notification(record["headers"], record["body"])
        assert parsed["event_type"] == "REFUND.SUCCESS"
        resources[parsed["resource"]["out_refund_no"]] = parsed["resource"]
    a = resources["R" + out_trade_no + "a"]
    assert a["refund_status"] == "SUCCESS" and a["mchid"] == app.config["WECHATPAY_MCHID"]
    assert a["refund_id"] == first["refund_id"] and a["out_trade_no"] == out_trade_no
    assert a["transaction_id"] == paid["transaction_id"]
    assert a["amount"] == {"total": 1000, "refund": 300, "payer_total": 1000,
                           "payer_refund": 300}
    assert a["success_time"].endswith("+08:00")
    assert resources["R" + out_trade_no + "b"]["amount"]["refund"] == 700

    assert pay.query_refund("R" + out_trade_no + "a")["status"] == "SUCCESS"
    assert pay.query_transaction(out_trade_no)["trade_state"] == "REFUND"
    state = sim_state(app, out_trade_no)
    assert [r["refund"] for r in state["refunds"]] == [300, 700]


def test_refund_of_unpaid_or_unknown_order_or_wrong_total_is_refused(app, ctx):
    out_trade_no, _ = prepay()
    with pytest.raises(PayApiError) as excinfo:
        pay.refund("R" + out_trade_no, out_trade_no, 100, 100, "x")
    assert excinfo.value.wechat_code == "INVALID_REQUEST"
    with pytest.raises(PayOrderNotFound):
        pay.refund("R" + out_trade_no, new_no(), 100, 100, "x")
    with pytest.raises(PayOrderNotFound) as excinfo:
        pay.query_refund("R-unknown-1")
    assert excinfo.value.wechat_code == "RESOURCE_NOT_EXISTS"


def test_refund_with_the_wrong_order_total_is_refused(app, ctx, receiver):
    out_trade_no, _ = paid_order(app, amount=500)
    with pytest.raises(PayApiError):
        pay.refund("R" + out_trade_no, out_trade_no, 100, 600, "x")


def test_refund_early_mode_notifies_before_the_api_answers(app, ctx, receiver):
    out_trade_no, _ = paid_order(app)
    sim_mode(app, refund_timing="early")
    result = pay.refund("R" + out_trade_no, out_trade_no, 100, 100, "取消")
    answered_at = time.monotonic()
    assert result["status"] == "PROCESSING"  # the answer was made before the notification
    (record,) = receiver.on("/refund-notify")  # no waiting: it is already here
    assert record["at"] < answered_at
    parsed = pay.parse_notification(record["headers"], record["body"])
    assert parsed["resource"]["refund_status"] == "SUCCESS"
    assert pay.query_refund("R" + out_trade_no)["status"] == "SUCCESS"


def test_refund_async_mode_notifies_after_the_api_answers(app, ctx, receiver):
    out_trade_no, _ = paid_order(app)
    result = pay.refund("R" + out_trade_no, out_trade_no, 100, 100, "取消")
    assert result["status"] == "PROCESSING"
    (record,) = receiver.wait_for("/refund-notify")
    assert pay.parse_notification(record["headers"], record["body"])["resource"][
        "out_refund_no"] == "R" + out_trade_no


# -- delivery modes -----------------------------------------------------------------------------

def test_drop_mode_pays_but_delivers_nothing_until_redelivered(app, ctx, receiver):
    assert sim_mode(app, mode="drop")["mode"] == "drop"
    out_trade_no, paid = paid_order(app)
    assert paid["deliveries"] == []
    assert pay.query_transaction(out_trade_no)["trade_state"] == "SUCCESS"
    # the simulator logs each notification it would have sent, with the copies it did send:
    # once that entry is there, the moment a delivery could happen has passed
    (logged,) = sim_state(app, out_trade_no)["notifications"]
    assert logged["event_type"] == "TRANSACTION.SUCCESS" and logged["statuses"] == []
    assert receiver.on("/pay-notify") == []
    redelivered = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/transactions/"
                                + out_trade_no + "/notify", json={}, timeout=10)
    assert redelivered.json()["deliveries"] == [204]
    (record,) = receiver.on("/pay-notify")
    assert pay.parse_notification(record["headers"], record["body"])["resource"][
        "trade_state"] == "SUCCESS"
    # refunds are dropped too
    pay.refund("R" + out_trade_no, out_trade_no, 100, 100, "x")
    (refund_log,) = wait_until(lambda: sim_state(app, out_trade_no)["refunds"][0][
        "notifications"], what="the refund's (dropped) notification")
    assert refund_log["event_type"] == "REFUND.SUCCESS" and refund_log["statuses"] == []
    assert receiver.on("/refund-notify") == []
    assert pay.query_refund("R" + out_trade_no)["status"] == "SUCCESS"


def test_duplicate_mode_delivers_n_identical_copies_at_once(app, ctx, receiver):
    sim_mode(app, mode="duplicate", copies=4)
    out_trade_no, paid = paid_order(app)
    assert paid["deliveries"] == [204] * 4
    records = receiver.on("/pay-notify")
    assert len(records) == 4
    assert len({record["body"] for record in records}) == 1
    assert len({record["headers"]["Wechatpay-Signature"] for record in records}) == 1
    ids = {pay.parse_notification(r["headers"], r["body"])["id"] for r in records}
    assert len(ids) == 1
    notifications = sim_state(app, out_trade_no)["notifications"]
    assert notifications[-1]["statuses"] == [204] * 4


def test_delivery_statuses_report_what_the_merchant_answered(app, ctx, receiver):
    receiver.status = 500
    _, paid = paid_order(app)
    assert paid["deliveries"] == [500]


def test_control_rejects_unknown_settings(app):
    response = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/notifications",
                             json={"mode": "sometimes"}, timeout=10)
    assert response.status_code == 400


# -- the simulator's own checks -----------------------------------------------------------------

def test_simulator_rejects_requests_without_a_valid_merchant_signature(app, keys, foreign_key):
    gateway = app.config["WECHATPAY_GATEWAY"]
    mchid, serial = app.config["WECHATPAY_MCHID"], keys.merchant_serial
    path = f"/v3/pay/transactions/out-trade-no/{new_no()}?mchid={mchid}"
    merchant_key = serialization.load_pem_private_key(keys.merchant_private_pem.encode(), None)

    def get(authorization):
        headers = {"Accept": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        return requests.get(gateway + path, headers=headers, timeout=10)

    good = get(build_authorization(path, "GET", mchid, serial, merchant_key))
    assert good.status_code == 404 and good.json()["code"] == "ORDER_NOT_EXIST"

    for authorization in (
            None,
            'WECHATPAY2-SHA256-RSA2048 mchid="%s",nonce_str="abc",signature="AAAA",'
            'timestamp="%d",serial_no="%s"' % (mchid, time.time(), serial),
            build_authorization(path, "GET", mchid, serial, foreign_key),
            build_authorization(path.replace("mchid=", "mchid=1"), "GET", mchid, serial,
                                merchant_key),
            build_authorization(path, "POST", mchid, serial, merchant_key),
            build_authorization(path, "GET", mchid, "0" * 40, merchant_key)):
        response = get(authorization)
        assert response.status_code == 401, authorization
        assert response.json()["code"] == "SIGN_ERROR"


def test_simulator_signs_its_answers_with_the_platform_key(app, keys):
    merchant_key = serialization.load_pem_private_key(keys.merchant_private_pem.encode(), None)
    mchid = app.config["WECHATPAY_MCHID"]
    path = f"/v3/pay/transactions/out-trade-no/{new_no()}?mchid={mchid}"
    response = requests.get(app.config["WECHATPAY_GATEWAY"] + path, timeout=10, headers={
        "Authorization": build_authorization(path, "GET", mchid, keys.merchant_serial,
                                             merchant_key)})
    platform_public = serialization.load_pem_public_key(keys.platform_public_pem.encode())
    assert response.headers["Wechatpay-Serial"] == keys.public_key_id
    message = "%s\n%s\n%s\n" % (response.headers["Wechatpay-Timestamp"],
                                response.headers["Wechatpay-Nonce"], response.text)
    verify_rsa(platform_public, message, response.headers["Wechatpay-Signature"])


# -- failures of the channel --------------------------------------------------------------------

def test_unreachable_gateway_is_unavailable(app, ctx, monkeypatch):
    monkeypatch.setitem(app.config, "WECHATPAY_GATEWAY", "http://127.0.0.1:9")
    with pytest.raises(PayUnavailable) as excinfo:
        pay.query_transaction(new_no())
    assert excinfo.value.status == 503 and excinfo.value.code == "wechatpay_unavailable"


def test_answer_with_a_bad_signature_is_unavailable(app, ctx, monkeypatch, foreign_key):
    out_trade_no, _ = prepay()
    monkeypatch.setitem(app.config, "WECHATPAY_PUBLIC_KEY", public_pem(foreign_key))
    with pytest.raises(PayUnavailable):
        pay.query_transaction(out_trade_no)


NO_NETWORK_SCRIPT = r"""
import json, socket, sys
real_connect = socket.socket.connect
attempts = []
def guarded(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        attempts.append(str(address))
        raise OSError("network I/O attempted: %s" % (address,))
    return real_connect(sock, address)
socket.socket.connect = guarded
from app import create_app
from app.wechat import pay
instance, redis_url = sys.argv[1], sys.argv[2]
app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite:///" + instance + "/app.db",
                             "REDIS_URL": redis_url, "INSTANCE_DIR": instance,
                             "WECHATPAY_GATEWAY": "http://10.255.255.1:81"})
with app.app_context():
    wxpay = pay.client()
    same = pay.client() is wxpay
    params = pay.request_payment_params("wx_prepay_offline")
print(json.dumps({"gateway": wxpay._core._gate_way, "same": same, "params": params,
                  "appid": app.config["WECHATPAY_APPID"], "attempts": attempts}))
"""


def test_no_network_at_app_construction_or_for_payment_params(app, workdir):
    """create_app (which makes the simulator keys), building the SDK object and signing the
    wx.requestPayment parameters all work with every TCP connection refused. Run in a child
    process: a second app in this one would rebind the shared extensions."""
    instance = workdir / "no-network"
    instance.mkdir()
    outcome = run_app_script(NO_NETWORK_SCRIPT, instance, app.config["REDIS_URL"])
    assert outcome["attempts"] == []
    assert outcome["gateway"] == "http://10.255.255.1:81" and outcome["same"] is True
    params = outcome["params"]
    message = (f"{outcome['appid']}\n{params['timeStamp']}\n{params['nonceStr']}\n"
               f"{params['package']}\n")
    verify_rsa(load_keys(instance).merchant_public_key, message, params["paySign"])


# -- the payer takes the client's package; refunds WeChat refuses --------------------------------

def test_payer_takes_the_package_string_the_client_holds(app, ctx, receiver):
    out_trade_no, prepay_id = prepay()
    package = pay.request_payment_params(prepay_id)["package"]
    assert package == "prepay_id=" + prepay_id
    paid = sim(app, "/_sim/pay", json={"package": package})
    assert paid.status_code == 200, paid.text
    assert paid.json()["out_trade_no"] == out_trade_no and paid.json()["deliveries"] == [204]
    assert pay.query_transaction(out_trade_no)["trade_state"] == "SUCCESS"
    again = sim(app, "/_sim/pay", json={"package": package})
    assert again.status_code == 400 and again.json()["code"] == "ORDERPAID"


def test_payer_refuses_a_package_it_cannot_read(app, ctx):
    out_trade_no, prepay_id = prepay()
    for bad in (prepay_id, "prepay_id=", "prepay_id", 42, ["prepay_id=" + prepay_id]):
        response = sim(app, "/_sim/pay", json={"package": bad})
        assert response.status_code == 400, (bad, response.text)
        assert response.json()["code"] == "PARAM_ERROR"
    unknown = sim(app, "/_sim/pay", json={"package": "prepay_id=wx-no-such-prepay"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "PREPAY_NOT_EXIST"
    assert sim(app, "/_sim/pay", json={"out_trade_no": 7}).status_code == 400
    assert pay.query_transaction(out_trade_no)["trade_state"] == "NOTPAY"


def sim_refunds(app, **settings):
    response = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/refunds",
                             json=settings, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_refused_refunds_create_nothing_and_the_same_number_succeeds_later(app, ctx, receiver):
    out_trade_no, _ = paid_order(app, amount=800)
    assert sim_refunds(app, refuse="NOT_ENOUGH", times=2) == {
        "refuse": "NOT_ENOUGH", "times_left": 2, "outcome": "SUCCESS"}
    for _ in range(2):
        with pytest.raises(PayApiError) as excinfo:
            pay.refund("R" + out_trade_no, out_trade_no, 800, 800, "取消")
        assert excinfo.value.http_status == 403 and excinfo.value.wechat_code == "NOT_ENOUGH"
        with pytest.raises(PayOrderNotFound):  # refused: WeChat holds no such refund
            pay.query_refund("R" + out_trade_no)
    assert sim_state(app, out_trade_no)["refunds"] == []
    # used up: the same refund number goes through
    assert pay.refund("R" + out_trade_no, out_trade_no, 800, 800, "取消")["status"] == "PROCESSING"
    (record,) = receiver.wait_for("/refund-notify")
    assert pay.parse_notification(record["headers"], record["body"])["resource"][
        "refund_status"] == "SUCCESS"
    assert requests.get(app.config["WECHATPAY_GATEWAY"] + "/_control/refunds", timeout=10).json() \
        == {"refuse": None, "times_left": None, "outcome": "SUCCESS"}


def test_refusals_without_a_count_last_until_cleared(app, ctx, receiver):
    out_trade_no, _ = paid_order(app, amount=300)
    sim_refunds(app, refuse="SYSTEM_ERROR")
    for _ in range(3):
        with pytest.raises(PayUnavailable):  # 500: the outcome is unknown, retry or query
            pay.refund("R" + out_trade_no, out_trade_no, 300, 300, "x")
    assert sim_refunds(app, refuse=None)["refuse"] is None
    assert pay.refund("R" + out_trade_no, out_trade_no, 300, 300, "x")["status"] == "PROCESSING"


def test_refund_outcome_abnormal_is_notified_and_queried(app, ctx, receiver):
    out_trade_no, _ = paid_order(app, amount=500)
    sim_refunds(app, outcome="ABNORMAL")
    pay.refund("R" + out_trade_no, out_trade_no, 500, 500, "x")
    (record,) = receiver.wait_for("/refund-notify")
    parsed = pay.parse_notification(record["headers"], record["body"])
    assert parsed["event_type"] == "REFUND.ABNORMAL"
    assert parsed["resource"]["refund_status"] == "ABNORMAL"
    assert pay.query_refund("R" + out_trade_no)["status"] == "ABNORMAL"
    # an abnormal refund returns nothing, so the whole amount can be refunded again
    sim_refunds(app, outcome="SUCCESS")
    assert pay.refund("R2" + out_trade_no, out_trade_no, 500, 500, "x")["status"] == "PROCESSING"
    again = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/refunds/R"
                          + out_trade_no + "/notify", json={}, timeout=10)
    assert again.status_code == 200 and again.json()["deliveries"] == [204]


def test_refund_control_rejects_unknown_settings(app):
    url = app.config["WECHATPAY_GATEWAY"] + "/_control/refunds"
    for bad in ({"refuse": "LOTS_OF_MONEY"}, {"refuse": "NOT_ENOUGH", "times": 0},
                {"refuse": "NOT_ENOUGH", "times": "2"}, {"outcome": "MAYBE"}, ["refuse"]):
        assert requests.post(url, json=bad, timeout=10).status_code == 400, bad
    assert requests.get(url, timeout=10).json() == {"refuse": None, "times_left": None,
                                                    "outcome": "SUCCESS"}
