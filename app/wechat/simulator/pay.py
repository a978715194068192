"""Simulated WeChat Pay API v3 (JSAPI payments and refunds), on the real wire protocol.

Mounted at /_sim/wechatpay (WECHATPAY_GATEWAY points here when the simulator is on):

  POST /v3/pay/transactions/jsapi                       → {"prepay_id"}
  GET  /v3/pay/transactions/out-trade-no/<no>?mchid=    → transaction (404 ORDER_NOT_EXIST)
  GET  /v3/pay/transactions/id/<transaction_id>?mchid=  → transaction
  POST /v3/pay/transactions/out-trade-no/<no>/close     → 204 (400 ORDERPAID when paid)
  POST /v3/refund/domestic/refunds                      → refund, status PROCESSING
  GET  /v3/refund/domestic/refunds/<out_refund_no>      → refund (404 RESOURCE_NOT_EXISTS)

Every /v3 request must carry a valid `Authorization: WECHATPAY2-SHA256-RSA2048 …` made with the
merchant key (else 401 SIGN_ERROR); every answer is signed with the WeChat Pay (platform) key,
Wechatpay-Serial = the public key id. wechatpayv3 signs the path without the gateway's
/_sim/wechatpay prefix, so that is what is verified.

The payer's side: POST /_sim/pay {"prepay_id"} (or {"package": "prepay_id=wx…"}, the string
the mini-program hands to wx.requestPayment, or {"out_trade_no"}) pays the order and sends
the signed, AES-256-GCM encrypted TRANSACTION.SUCCESS notification to the order's notify_url
before answering {"transaction_id", "deliveries": [HTTP status or null per copy]}. A refund is
marked SUCCESS and its REFUND.SUCCESS notification sent ~50 ms after the refund API answered
(refund_timing "async"), or before it answers (refund_timing "early").

Test hooks under /_sim/wechatpay/_control/ (no signature needed):

  POST notifications {"mode": normal|drop|duplicate, "copies": n, "refund_timing": async|early}
       drop: state changes, nothing is sent; duplicate: `copies` identical notifications sent
       at once. Kept in Redis until changed. GET notifications shows the setting.
  GET  transactions/<out_trade_no>          raw state, its refunds and every delivery made
  POST transactions/<out_trade_no>/notify   {"copies": n} deliver TRANSACTION.SUCCESS again
  POST refunds/<out_refund_no>/notify       {"copies": n} deliver the refund's final notification
                                            (REFUND.SUCCESS / ABNORMAL / CLOSED) again
  POST refunds {"refuse": CODE|null, "times": n|null, "outcome": SUCCESS|ABNORMAL|CLOSED}
       refuse: the refund API answers CODE (NOT_ENOUGH 403, SYSTEM_ERROR 500, ...) to the next
       `times` new refunds (null: until refuse is cleared), creating nothing, as WeChat does,
       so the same out_refund_no can be retried; outcome: how accepted refunds end.
       GET refunds shows the setting.

The human-readable catalogue of all this is the index page at /_sim (app/wechat/simulator/index.py).

State lives in Redis under sim:pay:* so web, worker and cron processes share one WeChat Pay.
`build_notification()` makes signed notifications for tests (tampered, foreign, stale …).
"""
import base64
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Blueprint, Response, current_app, jsonify, request

from app.extensions import redis_client
from app.wechat.simulator.keys import load_keys

log = logging.getLogger("app.wechat.simulator.pay")

PREFIX = "/_sim/wechatpay"
bp = Blueprint("wechatpay_simulator", __name__)
payer_bp = Blueprint("wechatpay_simulator_payer", __name__)

CN_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
STATE_TTL = 30 * 24 * 3600
MAX_CLOCK_SKEW = 300
REFUND_DELAY_SECONDS = 0.05
DELIVERY_TIMEOUT = (2, 5)  # WeChat waits about 5 s for an answer
DEFAULT_CONTROL = {"mode": "normal", "copies": 5, "refund_timing": "async"}
# what WeChat's refund API answers when it refuses a refund: code → (HTTP status, message)
REFUND_REFUSALS = {
    "NOT_ENOUGH": (403, "基本账户余额不足，请充值后重新发起"),
    "USER_ACCOUNT_ABNORMAL": (403, "退款请求失败，用户账户异常"),
    "NO_AUTH": (403, "没有退款权限"),
    "INVALID_REQUEST": (400, "请求参数符合参数格式，但不符合业务规则"),
    "FREQUENCY_LIMITED": (429, "频率限制"),
    "SYSTEM_ERROR": (500, "系统超时，请稍后重试"),
}
REFUND_OUTCOMES = ("SUCCESS", "ABNORMAL", "CLOSED")
REFUND_FINAL = {"SUCCESS": "REFUND.SUCCESS", "ABNORMAL": "REFUND.ABNORMAL",
                "CLOSED": "REFUND.CLOSED"}
OUT_TRADE_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{6,32}$")
OUT_REFUND_NO = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
TRADE_STATE_DESC = {"NOTPAY": "订单未支付", "SUCCESS": "支付成功", "CLOSED": "订单已关闭",
                    "REFUND": "订单发生过退款,退款详情请查询退款单"}
PAID_STATES = ("SUCCESS", "REFUND")


def register(app):
    app.register_blueprint(bp, url_prefix=PREFIX)
    app.register_blueprint(payer_bp, url_prefix="/_sim")


# -- helpers -----------------------------------------------------------------------------------

def _keys():
    return load_keys(current_app.config["INSTANCE_DIR"])


def _mchid():
    return current_app.config.get("WECHATPAY_MCHID") or _keys().mchid


def _appid():
    return current_app.config.get("WECHATPAY_APPID") or current_app.config.get("WECHAT_APP_ID")


def _now_cn():
    return datetime.now(CN_TZ).replace(microsecond=0)


def _conn():
    return redis_client.conn


def _load(key):
    raw = _conn().get(key)
    return json.loads(raw) if raw else None


def _store(key, value):
    _conn().set(key, json.dumps(value, ensure_ascii=False), ex=STATE_TTL)


def _tx_key(out_trade_no):
    return f"sim:pay:tx:{out_trade_no}"


def _refund_key(out_refund_no):
    return f"sim:pay:refund:{out_refund_no}"


def _lock(out_trade_no):
    """One transaction (and its refunds) changes under this lock, in any process."""
    return _conn().lock(f"sim:pay:lock:{out_trade_no}", timeout=30, blocking_timeout=30)


def _json(status, payload):
    return Response(json.dumps(payload, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8")


def _error(status, code, message, **detail):
    payload = {"code": code, "message": message}
    if detail:
        payload["detail"] = detail
    return _json(status, payload)


def _body():
    """WeChat reads the body as JSON; None when it is not a JSON object."""
    try:
        body = json.loads(request.get_data(as_text=True) or "{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _is_fen(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def control_settings() -> dict:
    stored = _load("sim:pay:control") or {}
    return {**DEFAULT_CONTROL, **stored}


# -- request authentication and response signing ------------------------------------------------

def _signed_target():
    """METHOD line's URL as the client signed it: path and query, without our mount prefix."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if not raw or not raw.startswith("/"):
        raw = quote(request.script_root + request.path)
        query = request.query_string.decode("latin-1")
        if query:
            raw += "?" + query
    mount = request.script_root + PREFIX
    return raw[len(mount):] if raw.startswith(mount) else raw


def _authentication_error():
    header = request.headers.get("Authorization", "")
    scheme, _, rest = header.partition(" ")
    if scheme != SIGNATURE_TYPE:
        return "missing or unsupported Authorization scheme"
    fields = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    for name in ("mchid", "nonce_str", "signature", "timestamp", "serial_no"):
        if not fields.get(name):
            return f"Authorization lacks {name}"
    if fields["mchid"] != _mchid():
        return "mchid is not a merchant here"
    if fields["serial_no"] != _keys().merchant_serial:
        return "serial_no is not the merchant's certificate serial"
    timestamp = fields["timestamp"]
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
        return "timestamp too far from now"
    message = "%s\n%s\n%s\n%s\n%s\n" % (request.method, _signed_target(), timestamp,
                                         fields["nonce_str"], request.get_data(as_text=True))
    try:
        signature = base64.b64decode(fields["signature"], validate=True)
        _keys().merchant_public_key.verify(signature, message.encode("utf-8"),
                                           padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return "signature does not verify"
    return None


@bp.before_request
def _authenticate():
    if request.path.startswith(PREFIX + "/_control/"):
        return None
    problem = _authentication_error()
    if problem:
        log.info("wechatpay simulator: 401 for %s %s: %s", request.method, request.path, problem)
        return _error(401, "SIGN_ERROR", "签名错误", reason=problem)
    return None


def sign_message(timestamp, nonce, body, private_key=None):
    private_key = private_key or _keys().platform_private_key
    signature = private_key.sign(f"{timestamp}\n{nonce}\n{body}\n".encode("utf-8"),
                                 padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


@bp.after_request
def _sign_response(response):
    if request.path.startswith(PREFIX + "/_control/"):
        return response
    body = response.get_data(as_text=True)
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex.upper()
    response.headers["Wechatpay-Timestamp"] = timestamp
    response.headers["Wechatpay-Nonce"] = nonce
    response.headers["Wechatpay-Signature"] = sign_message(timestamp, nonce, body)
    response.headers["Wechatpay-Serial"] = _keys().public_key_id
    response.headers["Wechatpay-Signature-Type"] = SIGNATURE_TYPE
    response.headers["Request-ID"] = uuid.uuid4().hex
    return response


# -- notifications ------------------------------------------------------------------------------

def build_notification(event_type, original_type, resource, *, summary=None, keys=None,
                       private_key=None, serial=None, apiv3_key=None, timestamp=None,
                       nonce=None, notification_id=None):
    """(headers, body) of a v3 notification: resource encrypted with AEAD_AES_256_GCM under the
    APIv3 key (associated_data = original_type), signed over "TS\\nNONCE\\nBODY\\n" with the
    platform key. Every part can be overridden to make a forged, foreign or stale one."""
    keys = keys or _keys()
    private_key = private_key or keys.platform_private_key
    serial = serial if serial is not None else keys.public_key_id
    apiv3_key = apiv3_key or keys.apiv3_key
    aead_nonce = base64.b64encode(os.urandom(9)).decode("ascii")[:12]
    plaintext = json.dumps(resource, ensure_ascii=False).encode("utf-8")
    ciphertext = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        aead_nonce.encode("ascii"), plaintext, original_type.encode("utf-8"))
    body = json.dumps({
        "id": notification_id or str(uuid.uuid4()),
        "create_time": _now_cn().isoformat(),
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": summary or {"TRANSACTION.SUCCESS": "支付成功", "REFUND.SUCCESS": "退款成功",
                               "REFUND.ABNORMAL": "退款异常",
                               "REFUND.CLOSED": "退款关闭"}.get(event_type, event_type),
        "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(ciphertext).decode("ascii"),
                     "associated_data": original_type, "nonce": aead_nonce},
    }, ensure_ascii=False)
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or uuid.uuid4().hex.upper()
    headers = {
        "Wechatpay-Timestamp": timestamp,
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": sign_message(timestamp, nonce, body, private_key),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }
    return headers, body


def _post_once(url, headers, body):
    try:
        response = requests.post(url, data=body.encode("utf-8"), timeout=DELIVERY_TIMEOUT,
                                 headers={**headers, "Content-Type": "application/json",
                                          "User-Agent": "Mozilla/4.0 (WeChatPay simulator)"})
        return response.status_code
    except requests.RequestException as exc:
        log.info("wechatpay simulator: delivery to %s failed: %s", url, exc)
        return None


def deliver(url, headers, body, copies=1) -> list:
    """POST the notification `copies` times (all at once when more than one); the HTTP
    statuses, None where the merchant did not answer."""
    if not url or copies <= 0:
        return []
    if copies == 1:
        return [_post_once(url, headers, body)]
    statuses = [None] * copies
    barrier = threading.Barrier(copies)

    def send(index):
        try:
            barrier.wait(timeout=5)
        except threading.BrokenBarrierError:
            pass
        statuses[index] = _post_once(url, headers, body)

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=DELIVERY_TIMEOUT[0] + DELIVERY_TIMEOUT[1] + 10)
    return statuses


def _copies_for_mode(settings):
    if settings["mode"] == "drop":
        return 0
    if settings["mode"] == "duplicate":
        return max(int(settings.get("copies") or 1), 1)
    return 1


def _record_delivery(key, lock_name, event_type, notification_id, statuses):
    with _lock(lock_name):
        record = _load(key)
        if record is None:
            return
        log_entries = record.setdefault("notifications", [])
        log_entries.append({"event_type": event_type, "id": notification_id,
                            "statuses": statuses, "at": _now_cn().isoformat()})
        del log_entries[:-50]
        _store(key, record)


def _notify_transaction(tx, copies):
    headers, body = build_notification("TRANSACTION.SUCCESS", "transaction",
                                       transaction_view(tx))
    statuses = deliver(tx["notify_url"], headers, body, copies)
    _record_delivery(_tx_key(tx["out_trade_no"]), tx["out_trade_no"], "TRANSACTION.SUCCESS",
                     json.loads(body)["id"], statuses)
    return statuses


def _notify_refund(refund, copies):
    statuses = []
    event_type = REFUND_FINAL.get(refund["status"], "REFUND.SUCCESS")
    if refund.get("notify_url"):
        headers, body = build_notification(event_type, "refund",
                                           refund_notification_resource(refund))
        statuses = deliver(refund["notify_url"], headers, body, copies)
        notification_id = json.loads(body)["id"]
    else:
        notification_id = None
    _record_delivery(_refund_key(refund["out_refund_no"]), refund["out_trade_no"],
                     event_type, notification_id, statuses)
    return statuses


# -- views of the state -------------------------------------------------------------------------

def transaction_view(tx) -> dict:
    view = {
        "appid": tx["appid"], "mchid": tx["mchid"], "out_trade_no": tx["out_trade_no"],
        "trade_type": "JSAPI", "trade_state": tx["trade_state"],
        "trade_state_desc": TRADE_STATE_DESC.get(tx["trade_state"], ""),
        "amount": {"total": tx["amount_total"], "currency": "CNY", "payer_currency": "CNY"},
        "promotion_detail": [],
    }
    if tx.get("attach"):
        view["attach"] = tx["attach"]
    if tx.get("transaction_id"):
        view.update({"transaction_id": tx["transaction_id"], "bank_type": "OTHERS",
                     "success_time": tx["success_time"], "payer": {"openid": tx["openid"]}})
        view["amount"]["payer_total"] = tx["amount_total"]
    return view


def refund_view(refund) -> dict:
    view = {
        "refund_id": refund["refund_id"], "out_refund_no": refund["out_refund_no"],
        "transaction_id": refund["transaction_id"], "out_trade_no": refund["out_trade_no"],
        "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
        "create_time": refund["create_time"], "status": refund["status"],
        "funds_account": "AVAILABLE", "promotion_detail": [],
        "amount": {"total": refund["total"], "refund": refund["refund"], "from": [],
                   "payer_total": refund["total"], "payer_refund": refund["refund"],
                   "settlement_total": refund["total"], "settlement_refund": refund["refund"],
                   "discount_refund": 0, "currency": "CNY", "refund_fee": 0},
    }
    if refund.get("success_time"):
        view["success_time"] = refund["success_time"]
    return view


def refund_notification_resource(refund) -> dict:
    return {
        "mchid": refund["mchid"], "out_trade_no": refund["out_trade_no"],
        "transaction_id": refund["transaction_id"], "out_refund_no": refund["out_refund_no"],
        "refund_id": refund["refund_id"], "refund_status": refund["status"],
        "success_time": refund.get("success_time"),
        "user_received_account": "支付用户零钱",
        "amount": {"total": refund["total"], "refund": refund["refund"],
                   "payer_total": refund["total"], "payer_refund": refund["refund"]},
    }


# -- payments -----------------------------------------------------------------------------------

def _prepay_params(body):
    """The order's parameters, or an error response."""
    if body is None:
        return None, _error(400, "PARAM_ERROR", "请求体不是合法的JSON对象")
    if body.get("appid") != _appid() or body.get("mchid") != _mchid():
        return None, _error(400, "APPID_MCHID_NOT_MATCH", "AppID和mch_id不匹配")
    description = body.get("description")
    if not isinstance(description, str) or not 1 <= len(description) <= 127:
        return None, _error(400, "PARAM_ERROR", "description 不合法")
    out_trade_no = body.get("out_trade_no")
    if not isinstance(out_trade_no, str) or not OUT_TRADE_NO.match(out_trade_no):
        return None, _error(400, "PARAM_ERROR", "out_trade_no 不合法")
    notify_url = body.get("notify_url")
    if not isinstance(notify_url, str) or not notify_url.startswith(("http://", "https://")):
        return None, _error(400, "PARAM_ERROR", "notify_url 不合法")
    amount = body.get("amount")
    if not isinstance(amount, dict) or not _is_fen(amount.get("total")) or \
            amount.get("currency", "CNY") != "CNY":
        return None, _error(400, "PARAM_ERROR", "amount.total 必须为正整数(分)")
    payer = body.get("payer")
    if not isinstance(payer, dict) or not isinstance(payer.get("openid"), str) or \
            not payer["openid"]:
        return None, _error(400, "PARAM_ERROR", "payer.openid 不能为空")
    time_expire = body.get("time_expire")
    if time_expire is not None:
        try:
            parsed = datetime.fromisoformat(time_expire)
        except (TypeError, ValueError):
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            return None, _error(400, "PARAM_ERROR", "time_expire 必须为 RFC3339 格式")
    attach = body.get("attach")
    if attach is not None and (not isinstance(attach, str) or len(attach) > 128):
        return None, _error(400, "PARAM_ERROR", "attach 不合法")
    return {"appid": body["appid"], "mchid": body["mchid"], "description": description,
            "out_trade_no": out_trade_no, "notify_url": notify_url,
            "amount_total": amount["total"], "openid": payer["openid"],
            "time_expire": time_expire, "attach": attach}, None


@bp.post("/v3/pay/transactions/jsapi")
def jsapi():
    params, problem = _prepay_params(_body())
    if problem:
        return problem
    out_trade_no = params["out_trade_no"]
    with _lock(out_trade_no):
        tx = _load(_tx_key(out_trade_no))
        if tx is not None:
            if tx["trade_state"] in PAID_STATES:
                return _error(400, "ORDERPAID", "该订单已支付")
            if tx["trade_state"] == "CLOSED":
                return _error(400, "ORDER_CLOSED", "订单已关闭")
            if tx["params"] != params:
                return _error(403, "OUT_TRADE_NO_USED", "商户订单号重复")
            return _json(200, {"prepay_id": tx["prepay_id"]})
        prepay_id = "wx" + _now_cn().strftime("%Y%m%d%H%M%S") + secrets.token_hex(10)
        tx = {**params, "params": params, "trade_state": "NOTPAY", "prepay_id": prepay_id,
              "created_at": _now_cn().isoformat(), "transaction_id": None,
              "success_time": None, "closed_at": None, "refunds": [], "notifications": []}
        _store(_tx_key(out_trade_no), tx)
        _conn().set(f"sim:pay:prepay:{prepay_id}", out_trade_no, ex=STATE_TTL)
    return _json(200, {"prepay_id": prepay_id})


def _query_response(tx):
    if request.args.get("mchid") != _mchid():
        return _error(400, "PARAM_ERROR", "mchid 不合法")
    if tx is None:
        return _error(404, "ORDER_NOT_EXIST", "订单不存在")
    return _json(200, transaction_view(tx))


@bp.get("/v3/pay/transactions/out-trade-no/<out_trade_no>")
def query_by_out_trade_no(out_trade_no):
    return _query_response(_load(_tx_key(out_trade_no)))


@bp.get("/v3/pay/transactions/id/<transaction_id>")
def query_by_transaction_id(transaction_id):
    out_trade_no = _conn().get(f"sim:pay:txid:{transaction_id}")
    return _query_response(_load(_tx_key(out_trade_no.decode())) if out_trade_no else None)


@bp.post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
def close(out_trade_no):
    body = _body()
    if body is None or body.get("mchid") != _mchid():
        return _error(400, "PARAM_ERROR", "mchid 不合法")
    with _lock(out_trade_no):
        tx = _load(_tx_key(out_trade_no))
        if tx is None:
            return _error(404, "ORDER_NOT_EXIST", "订单不存在")
        if tx["trade_state"] in PAID_STATES:
            return _error(400, "ORDERPAID", "订单已支付")
        if tx["trade_state"] != "CLOSED":
            tx["trade_state"] = "CLOSED"
            tx["closed_at"] = _now_cn().isoformat()
            _store(_tx_key(out_trade_no), tx)
    return Response("", status=204)


def _prepay_id_for_payer(body):
    """The prepay_id, given as such or as the `package` string ("prepay_id=wx…") that the
    mini-program passes to wx.requestPayment; (prepay_id, error response)."""
    prepay_id = body.get("prepay_id")
    package = body.get("package")
    if package is not None and not prepay_id:
        if not isinstance(package, str) or not package.startswith("prepay_id=") or \
                len(package) <= len("prepay_id="):
            return None, (jsonify({"code": "PARAM_ERROR",
                                   "message": "package 应为 \"prepay_id=…\""}), 400)
        prepay_id = package[len("prepay_id="):]
    if prepay_id is not None and not isinstance(prepay_id, str):
        return None, (jsonify({"code": "PARAM_ERROR", "message": "prepay_id 不合法"}), 400)
    return prepay_id, None


def _find_tx_for_payer(body):
    out_trade_no = body.get("out_trade_no")
    if out_trade_no is not None and not isinstance(out_trade_no, str):
        return None, (jsonify({"code": "PARAM_ERROR", "message": "out_trade_no 不合法"}), 400)
    if not out_trade_no:
        prepay_id, problem = _prepay_id_for_payer(body)
        if problem:
            return None, problem
        found = _conn().get(f"sim:pay:prepay:{prepay_id}") if prepay_id else None
        out_trade_no = found.decode() if found else None
    return out_trade_no, None


@payer_bp.post("/pay")
def payer_pays():
    """The user confirms payment in WeChat: the order is paid and WeChat notifies the merchant
    (synchronously here, so the caller can look at the outcome right after)."""
    body = _body() or {}
    out_trade_no, problem = _find_tx_for_payer(body)
    if problem:
        return problem
    if not out_trade_no:
        return jsonify({"code": "PREPAY_NOT_EXIST", "message": "预支付交易会话不存在"}), 404
    with _lock(out_trade_no):
        tx = _load(_tx_key(out_trade_no))
        if tx is None:
            return jsonify({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}), 404
        if tx["trade_state"] in PAID_STATES:
            return jsonify({"code": "ORDERPAID", "message": "该订单已支付"}), 400
        if tx["trade_state"] == "CLOSED":
            return jsonify({"code": "ORDER_CLOSED", "message": "订单已关闭"}), 400
        if tx.get("time_expire") and not body.get("force") and \
                datetime.fromisoformat(tx["time_expire"]) < datetime.now(CN_TZ):
            return jsonify({"code": "ORDER_EXPIRED", "message": "订单已过支付截止时间"}), 400
        now = _now_cn()
        tx["trade_state"] = "SUCCESS"
        tx["transaction_id"] = "4200" + now.strftime("%Y%m%d") + "".join(
            secrets.choice("0123456789") for _ in range(16))
        tx["success_time"] = now.isoformat()
        _store(_tx_key(out_trade_no), tx)
        _conn().set(f"sim:pay:txid:{tx['transaction_id']}", out_trade_no, ex=STATE_TTL)
    settings = control_settings()
    statuses = _notify_transaction(tx, _copies_for_mode(settings))
    return jsonify({"transaction_id": tx["transaction_id"], "out_trade_no": out_trade_no,
                    "mode": settings["mode"], "deliveries": statuses})


# -- refunds ------------------------------------------------------------------------------------

def _refund_params(body):
    if body is None:
        return None, _error(400, "PARAM_ERROR", "请求体不是合法的JSON对象")
    out_refund_no = body.get("out_refund_no")
    if not isinstance(out_refund_no, str) or not OUT_REFUND_NO.match(out_refund_no):
        return None, _error(400, "PARAM_ERROR", "out_refund_no 不合法")
    amount = body.get("amount")
    if not isinstance(amount, dict) or not _is_fen(amount.get("refund")) or \
            not _is_fen(amount.get("total")) or amount.get("currency", "CNY") != "CNY":
        return None, _error(400, "PARAM_ERROR", "amount 不合法")
    if not body.get("out_trade_no") and not body.get("transaction_id"):
        return None, _error(400, "PARAM_ERROR", "transaction_id 和 out_trade_no 必须二选一")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > 80):
        return None, _error(400, "PARAM_ERROR", "reason 不合法")
    notify_url = body.get("notify_url")
    if notify_url is not None and (not isinstance(notify_url, str)
                                   or not notify_url.startswith(("http://", "https://"))):
        return None, _error(400, "PARAM_ERROR", "notify_url 不合法")
    return {"out_refund_no": out_refund_no, "refund": amount["refund"], "total": amount["total"],
            "reason": reason, "notify_url": notify_url}, None


@bp.post("/v3/refund/domestic/refunds")
def create_refund():
    body = _body()
    params, problem = _refund_params(body)
    if problem:
        return problem
    out_trade_no = body.get("out_trade_no")
    if not out_trade_no:
        found = _conn().get(f"sim:pay:txid:{body['transaction_id']}")
        out_trade_no = found.decode() if found else None
    if not out_trade_no or _load(_tx_key(out_trade_no)) is None:
        return _error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
    with _lock(out_trade_no):
        tx = _load(_tx_key(out_trade_no))
        existing = _load(_refund_key(params["out_refund_no"]))
        if existing is not None:
            if existing["out_trade_no"] != out_trade_no or existing["refund"] != params["refund"]:
                return _error(400, "INVALID_REQUEST", "退款单号已存在,且与本次请求参数不一致")
            return _json(200, refund_view(existing))
        if tx["trade_state"] not in PAID_STATES:
            return _error(400, "INVALID_REQUEST", "订单未支付,不能退款")
        if params["total"] != tx["amount_total"]:
            return _error(400, "INVALID_REQUEST", "订单金额与原订单金额不一致")
        refunded = 0
        for other_no in tx["refunds"]:
            other = _load(_refund_key(other_no))
            if other and other["status"] not in ("CLOSED", "ABNORMAL"):
                refunded += other["refund"]
        if refunded + params["refund"] > tx["amount_total"]:
            return _error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额",
                          refundable=tx["amount_total"] - refunded)
        refusal = _take_refund_refusal()
        if refusal:  # refused before anything exists: the same out_refund_no may come again
            status, message = REFUND_REFUSALS[refusal]
            return _error(status, refusal, message)
        refund = {**params, "out_trade_no": out_trade_no, "mchid": tx["mchid"],
                  "transaction_id": tx["transaction_id"],
                  "refund_id": "50300" + "".join(secrets.choice("0123456789") for _ in range(24)),
                  "status": "PROCESSING", "create_time": _now_cn().isoformat(),
                  "success_time": None, "notifications": []}
        _store(_refund_key(refund["out_refund_no"]), refund)
        tx["refunds"].append(refund["out_refund_no"])
        tx["trade_state"] = "REFUND"
        _store(_tx_key(out_trade_no), tx)
    answer = refund_view(refund)
    if control_settings()["refund_timing"] == "early":
        _complete_refund(refund["out_refund_no"])  # the notification beats the API answer
    else:
        app = current_app._get_current_object()
        threading.Thread(target=_complete_refund_later, args=(app, refund["out_refund_no"]),
                         daemon=True, name="sim-refund").start()
    return _json(200, answer)


def _complete_refund_later(app, out_refund_no):
    time.sleep(REFUND_DELAY_SECONDS)
    with app.app_context():
        try:
            _complete_refund(out_refund_no)
        except Exception:
            log.exception("wechatpay simulator: completing refund %s failed", out_refund_no)


def _complete_refund(out_refund_no):
    refund = _load(_refund_key(out_refund_no))
    if refund is None:
        return
    with _lock(refund["out_trade_no"]):
        refund = _load(_refund_key(out_refund_no))
        if refund is None or refund["status"] != "PROCESSING":
            return
        refund["status"] = refund_settings()["outcome"]
        if refund["status"] == "SUCCESS":
            refund["success_time"] = _now_cn().isoformat()
        _store(_refund_key(out_refund_no), refund)
    _notify_refund(refund, _copies_for_mode(control_settings()))


@bp.get("/v3/refund/domestic/refunds/<out_refund_no>")
def query_refund(out_refund_no):
    refund = _load(_refund_key(out_refund_no))
    if refund is None:
        return _error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    return _json(200, refund_view(refund))


# -- control (tests and demos) ------------------------------------------------------------------

@bp.route("/_control/notifications", methods=["GET", "POST"])
def notifications_control():
    if request.method == "GET":
        return jsonify(control_settings())
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"code": "PARAM_ERROR", "message": "JSON object expected"}), 400
    settings = control_settings()
    if "mode" in body:
        if body["mode"] not in ("normal", "drop", "duplicate"):
            return jsonify({"code": "PARAM_ERROR", "message": "mode: normal|drop|duplicate"}), 400
        settings["mode"] = body["mode"]
        if body["mode"] == "duplicate" and "copies" not in body:
            settings["copies"] = DEFAULT_CONTROL["copies"]
    if "copies" in body:
        if not _is_fen(body["copies"]) or body["copies"] > 50:
            return jsonify({"code": "PARAM_ERROR", "message": "copies: 1..50"}), 400
        settings["copies"] = body["copies"]
    if "refund_timing" in body:
        if body["refund_timing"] not in ("async", "early"):
            return jsonify({"code": "PARAM_ERROR", "message": "refund_timing: async|early"}), 400
        settings["refund_timing"] = body["refund_timing"]
    _conn().set("sim:pay:control", json.dumps(settings))
    return jsonify(settings)


@bp.get("/_control/transactions/<out_trade_no>")
def transaction_control(out_trade_no):
    tx = _load(_tx_key(out_trade_no))
    if tx is None:
        return jsonify({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}), 404
    tx.pop("params", None)
    tx["refunds"] = [_load(_refund_key(no)) for no in tx["refunds"]]
    return jsonify(tx)


def _copies_from_body():
    body = request.get_json(silent=True) or {}
    copies = body.get("copies", 1)
    return copies if _is_fen(copies) and copies <= 50 else 1


@bp.post("/_control/transactions/<out_trade_no>/notify")
def transaction_renotify(out_trade_no):
    """WeChat's retry: deliver TRANSACTION.SUCCESS again for a paid order."""
    tx = _load(_tx_key(out_trade_no))
    if tx is None or not tx.get("transaction_id"):
        return jsonify({"code": "ORDER_NOT_PAID", "message": "订单未支付"}), 400
    paid_view = {**tx, "trade_state": "SUCCESS"}  # the notification is about the payment
    return jsonify({"deliveries": _notify_transaction(paid_view, _copies_from_body())})


@bp.post("/_control/refunds/<out_refund_no>/notify")
def refund_renotify(out_refund_no):
    refund = _load(_refund_key(out_refund_no))
    if refund is None or refund["status"] not in REFUND_FINAL:
        return jsonify({"code": "REFUND_NOT_DONE", "message": "退款未完成"}), 400
    return jsonify({"deliveries": _notify_refund(refund, _copies_from_body())})


# -- refusing refunds ---------------------------------------------------------------------------

def refund_settings() -> dict:
    stored = _load("sim:pay:refund_control") or {}
    left = _conn().get("sim:pay:refund_refusals_left")
    settings = {"refuse": None, "outcome": "SUCCESS", **stored}
    settings["times_left"] = int(left) if left is not None and settings["refuse"] else None
    return settings


def _take_refund_refusal():
    """The code to refuse this refund with, or None; counts down `times` atomically."""
    settings = refund_settings()
    code = settings["refuse"]
    if not code:
        return None
    if settings["times_left"] is None:
        return code  # refuse every refund until the setting is cleared
    if _conn().decr("sim:pay:refund_refusals_left") >= 0:
        return code
    # used up: back to accepting refunds, and GET shows so
    _conn().set("sim:pay:refund_control", json.dumps({**_load("sim:pay:refund_control"),
                                                      "refuse": None}))
    _conn().delete("sim:pay:refund_refusals_left")
    return None


@bp.route("/_control/refunds", methods=["GET", "POST"])
def refunds_control():
    if request.method == "GET":
        return jsonify(refund_settings())
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"code": "PARAM_ERROR", "message": "JSON object expected"}), 400
    stored = {key: value for key, value in refund_settings().items() if key != "times_left"}
    if "refuse" in body:
        if body["refuse"] is not None and body["refuse"] not in REFUND_REFUSALS:
            return jsonify({"code": "PARAM_ERROR", "message": "refuse: null or one of "
                            + "|".join(REFUND_REFUSALS)}), 400
        stored["refuse"] = body["refuse"]
    times = body.get("times")
    if times is not None and (not _is_fen(times) or times > 1000):
        return jsonify({"code": "PARAM_ERROR", "message": "times: null or 1..1000"}), 400
    if "outcome" in body:
        if body["outcome"] not in REFUND_OUTCOMES:
            return jsonify({"code": "PARAM_ERROR",
                            "message": "outcome: " + "|".join(REFUND_OUTCOMES)}), 400
        stored["outcome"] = body["outcome"]
    conn = _conn()
    conn.set("sim:pay:refund_control", json.dumps(stored))
    if "refuse" in body or "times" in body:
        if times is not None and stored["refuse"]:
            conn.set("sim:pay:refund_refusals_left", times)
        else:
            conn.delete("sim:pay:refund_refusals_left")
    return jsonify(refund_settings())
