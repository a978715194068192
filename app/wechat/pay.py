"""WeChat Pay API v3 for the mini-program (JSAPI), over wechatpayv3 2.0.4 in public-key mode.

Module-level functions that use current_app's WECHATPAY_* settings. The SDK object is built
lazily, once per app and configuration, and never talks to the network when it is built
(public-key mode: no certificate download). The SDK returns (status, text) and does not raise
on 4xx/5xx; here every answer other than the expected 2xx becomes a typed error:

  PayOrderNotFound   404 (ORDER_NOT_EXIST, RESOURCE_NOT_EXISTS)
  PayOrderPaid       ORDERPAID (closing a paid order)
  PayApiError        any other 4xx; WeChat's status/code/message in .http_status,
                     .wechat_code, .message (and .details)
  PayUnavailable     no answer (connection error, timeout), 5xx or 429 (WeChat: "retry with
                     the same parameters"), or an answer whose signature does not verify.
                     The outcome is unknown: retry or query.
"""
import json
import logging
import re
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import requests
from flask import current_app
from wechatpayv3 import WeChatPay, WeChatPayType

from app.wechat.errors import (NotificationRejected, PayApiError, PayOrderNotFound, PayOrderPaid,
                               PayUnavailable)

__all__ = ["jsapi_prepay", "request_payment_params", "query_transaction", "close_transaction",
           "refund", "query_refund", "parse_notification", "client", "PayApiError",
           "PayOrderNotFound", "PayOrderPaid", "PayUnavailable", "NotificationRejected",
           "ORDER_PAID", "ORDER_CLOSED", "CN_TZ"]

log = logging.getLogger("app.wechat.pay")

CN_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")
ORDER_PAID = "ORDERPAID"          # what WeChat's close-order API answers for a paid order
ORDER_CLOSED = "ORDER_CLOSED"
NOT_FOUND_CODES = {"ORDER_NOT_EXIST", "ORDERNOTEXIST", "RESOURCE_NOT_EXISTS", "NOT_FOUND"}
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
OUT_NO_PATTERN = re.compile(r"^[0-9A-Za-z_\-|*@]{6,32}$")
OUT_REFUND_NO_PATTERN = re.compile(r"^[0-9A-Za-z_\-|*@]{1,64}$")
NOTIFY_HEADERS = ("Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature",
                  "Wechatpay-Serial", "Wechatpay-Signature-Type")

_build_lock = threading.Lock()


# -- the SDK object -----------------------------------------------------------------------------

def _settings(config):
    return (
        config.get("WECHATPAY_MCHID"),
        config.get("WECHATPAY_APPID") or config.get("WECHAT_APP_ID"),
        config.get("WECHATPAY_MERCHANT_SERIAL"),
        config.get("WECHATPAY_MERCHANT_PRIVATE_KEY"),
        config.get("WECHATPAY_APIV3_KEY"),
        config.get("WECHATPAY_PUBLIC_KEY"),
        config.get("WECHATPAY_PUBLIC_KEY_ID"),
        (config.get("WECHATPAY_GATEWAY") or "").rstrip("/"),
        tuple(config.get("WECHATPAY_TIMEOUT") or (5, 10)),
    )


def client() -> WeChatPay:
    """The app's wechatpayv3.WeChatPay (rebuilt only when a WECHATPAY_* setting changes)."""
    app = current_app._get_current_object()
    settings = _settings(app.config)
    cached = app.extensions.get("wechatpay")
    if cached is not None and cached[0] == settings:
        return cached[1]
    with _build_lock:
        cached = app.extensions.get("wechatpay")
        if cached is not None and cached[0] == settings:
            return cached[1]
        mchid, appid, serial, private_key, apiv3_key, public_key, public_key_id, gateway, \
            timeout = settings
        missing = [name for name, value in (
            ("WECHATPAY_MCHID", mchid), ("WECHATPAY_APPID", appid),
            ("WECHATPAY_MERCHANT_SERIAL", serial),
            ("WECHATPAY_MERCHANT_PRIVATE_KEY", private_key),
            ("WECHATPAY_APIV3_KEY", apiv3_key), ("WECHATPAY_PUBLIC_KEY", public_key),
            ("WECHATPAY_PUBLIC_KEY_ID", public_key_id)) if not value]
        if missing:
            raise RuntimeError("WeChat Pay is not configured: " + ", ".join(missing))
        wxpay = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG, mchid=mchid, private_key=private_key,
            cert_serial_no=serial, appid=appid, apiv3_key=apiv3_key,
            notify_url=app.config.get("WECHATPAY_NOTIFY_URL"), public_key=public_key,
            public_key_id=public_key_id, timeout=timeout, logger=None)
        if gateway:
            # wechatpayv3 has no public hook for the host; this private attribute is the one
            # place it reads it (it signs only the path, so a prefixed gateway works too).
            wxpay._core._gate_way = gateway
        app.extensions["wechatpay"] = (settings, wxpay)
        return wxpay


def _call(operation, fn, *args, expect=(200,), **kwargs):
    """Run one SDK request; return the decoded JSON body (or None for an empty 2xx)."""
    try:
        status, body = fn(*args, **kwargs)
    except requests.RequestException as exc:
        log.warning("wechatpay %s: no answer (%s: %s)", operation, type(exc).__name__, exc)
        raise PayUnavailable(details={"operation": operation, "error": type(exc).__name__})
    except Exception as exc:  # the SDK raises bare Exception, e.g. for a bad answer signature
        log.error("wechatpay %s: SDK refused the answer: %s", operation, exc)
        raise PayUnavailable(details={"operation": operation, "error": str(exc)[:200]})
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
    if status in expect:
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except ValueError:
            log.error("wechatpay %s: %s answer is not JSON: %.200s", operation, status, text)
            raise PayUnavailable(details={"operation": operation, "error": "invalid_json"})
    code, message = _error_fields(text)
    if status >= 500 or status == 429:
        log.warning("wechatpay %s: %s %s %s", operation, status, code, message)
        raise PayUnavailable(details={"operation": operation, "http_status": status,
                                      "code": code, "message": message})
    log.info("wechatpay %s: %s %s %s", operation, status, code, message)
    if status == 404 or code in NOT_FOUND_CODES:
        raise PayOrderNotFound(status, code, message)
    if code == ORDER_PAID:
        raise PayOrderPaid(status, code, message)
    raise PayApiError(status, code, message)


def _error_fields(text):
    try:
        payload = json.loads(text)
    except ValueError:
        return "UNKNOWN", text[:200] or None
    if not isinstance(payload, dict):
        return "UNKNOWN", text[:200]
    return str(payload.get("code") or "UNKNOWN"), payload.get("message")


# -- API calls ----------------------------------------------------------------------------------

def rfc3339_cn(moment: datetime) -> str:
    """'2026-03-01T10:00:00+08:00' for a naive-UTC (or aware) datetime."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(CN_TZ).replace(microsecond=0).isoformat()


def _check_fen(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int (fen), got {value!r}")


def jsapi_prepay(out_trade_no: str, description: str, amount_fen: int, openid: str,
                 expires_at: datetime, attach: str) -> str:
    """Create the WeChat order for wx.requestPayment; returns prepay_id. Ordering again with
    the same out_trade_no and the same parameters is safe (WeChat answers the same order)."""
    if not OUT_NO_PATTERN.match(out_trade_no or ""):
        raise ValueError(f"out_trade_no must be 6-32 of [0-9A-Za-z_-|*@], got {out_trade_no!r}")
    _check_fen("amount_fen", amount_fen)
    if not openid:
        raise ValueError("openid is required")
    if not description:
        raise ValueError("description is required")
    notify_url = current_app.config.get("WECHATPAY_NOTIFY_URL")
    if not notify_url:
        raise RuntimeError("WECHATPAY_NOTIFY_URL is not set")
    result = _call("prepay", client().pay, description=description[:127],
                   out_trade_no=out_trade_no, amount={"total": amount_fen, "currency": "CNY"},
                   payer={"openid": openid}, time_expire=rfc3339_cn(expires_at),
                   attach=attach or None, notify_url=notify_url)
    if not result or not result.get("prepay_id"):
        raise PayUnavailable(details={"operation": "prepay", "error": "no prepay_id"})
    return result["prepay_id"]


def request_payment_params(prepay_id: str) -> dict:
    """The object for wx.requestPayment(...): signed locally, no network."""
    wxpay = client()
    appid = current_app.config.get("WECHATPAY_APPID") or current_app.config["WECHAT_APP_ID"]
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex
    package = f"prepay_id={prepay_id}"
    return {"timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA",
            "paySign": wxpay.sign([appid, timestamp, nonce, package])}


def query_transaction(out_trade_no: str) -> dict:
    """WeChat's view of the order: trade_state SUCCESS|NOTPAY|CLOSED|REFUND|USERPAYING|PAYERROR,
    and once paid transaction_id, success_time, payer.openid, amount.payer_total."""
    return _call("query", client().query, out_trade_no=out_trade_no)


def close_transaction(out_trade_no: str) -> None:
    """Close an unpaid order. Closing a closed one is fine; a paid one raises PayOrderPaid
    (a PayApiError with wechat_code ORDERPAID). After any other PayApiError, query."""
    try:
        _call("close", client().close, out_trade_no, expect=(200, 204))
    except PayApiError as exc:
        if exc.wechat_code == ORDER_CLOSED:
            return None
        raise
    return None


def refund(out_refund_no: str, out_trade_no: str, refund_fen: int, total_fen: int,
           reason: str) -> dict:
    """Ask for a refund; the answer is usually status PROCESSING, the result comes by
    REFUND.* notification (to WECHATPAY_REFUND_NOTIFY_URL) or query_refund. The same
    out_refund_no is the same refund at WeChat, so retrying is safe."""
    if not OUT_REFUND_NO_PATTERN.match(out_refund_no or ""):
        raise ValueError(f"bad out_refund_no {out_refund_no!r}")
    _check_fen("refund_fen", refund_fen)
    _check_fen("total_fen", total_fen)
    notify_url = current_app.config.get("WECHATPAY_REFUND_NOTIFY_URL")
    if not notify_url:
        raise RuntimeError("WECHATPAY_REFUND_NOTIFY_URL is not set")
    return _call("refund", client().refund, out_refund_no=out_refund_no,
                 amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
                 out_trade_no=out_trade_no, reason=(reason or None) and reason[:80],
                 notify_url=notify_url)


def query_refund(out_refund_no: str) -> dict:
    """WeChat's view of one refund (status PROCESSING|SUCCESS|CLOSED|ABNORMAL)."""
    return _call("query_refund", client().query_refund, out_refund_no)


# -- notifications ------------------------------------------------------------------------------

def _notification_headers(headers) -> dict:
    """Case-insensitive pick of the Wechatpay-* headers, under the names the SDK looks for."""
    lowered = {str(key).lower().replace("_", "-"): value for key, value in headers.items()}
    picked = {}
    for name in NOTIFY_HEADERS:
        value = lowered.get(name.lower(), lowered.get("http-" + name.lower()))
        if value is not None:
            picked[name] = value.strip() if isinstance(value, str) else value
    return picked


def parse_notification(headers, body: str) -> dict:
    """Verify and decrypt a TRANSACTION.* / REFUND.* notification.

    Returns {"id", "event_type", "resource": <decrypted dict>}. Raises
    NotificationRejected(reason): stale_timestamp, bad_signature (including a Wechatpay-Serial
    that is not our WeChat Pay public key id: checked before the SDK, which would otherwise try
    to download platform certificates), bad_appid / bad_mchid (not our merchant), malformed.
    """
    config = current_app.config
    picked = _notification_headers(headers)
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise NotificationRejected("malformed")
    body = body or ""

    timestamp = picked.get("Wechatpay-Timestamp") or ""
    max_skew = int(config.get("PAY_NOTIFY_MAX_SKEW_SECONDS") or 300)
    if not (timestamp.isascii() and timestamp.isdigit()) or \
            abs(time.time() - int(timestamp)) > max_skew:
        raise NotificationRejected("stale_timestamp")
    if picked.get("Wechatpay-Serial") != config.get("WECHATPAY_PUBLIC_KEY_ID") or \
            not picked.get("Wechatpay-Signature") or not picked.get("Wechatpay-Nonce"):
        raise NotificationRejected("bad_signature")
    picked.setdefault("Wechatpay-Signature-Type", SIGNATURE_TYPE)
    if picked["Wechatpay-Signature-Type"] != SIGNATURE_TYPE:
        raise NotificationRejected("bad_signature")

    wxpay = client()
    try:
        # verifies the signature first; anything that raises after that is the content
        result = wxpay.callback(picked, body)
    except Exception as exc:
        log.warning("pay notification: unreadable after the signature check: %s", exc)
        raise NotificationRejected("malformed")
    if result is None:
        # bad signature, or a resource that does not decrypt with our APIv3 key
        raise NotificationRejected("bad_signature")
    envelope = json.loads(body)
    resource = result.get("resource")
    if not isinstance(resource, dict) or not isinstance(result.get("event_type"), str) or \
            not result.get("id"):
        raise NotificationRejected("malformed")
    original_type = (envelope.get("resource") or {}).get("original_type")
    event_type = result["event_type"]
    appid = config.get("WECHATPAY_APPID") or config.get("WECHAT_APP_ID")
    if original_type == "transaction" or event_type.startswith("TRANSACTION."):
        if resource.get("appid") != appid:
            raise NotificationRejected("bad_appid")
        if resource.get("mchid") != config.get("WECHATPAY_MCHID"):
            raise NotificationRejected("bad_mchid")
    elif original_type == "refund" or event_type.startswith("REFUND."):
        if resource.get("mchid") != config.get("WECHATPAY_MCHID"):
            raise NotificationRejected("bad_mchid")
    return {"id": result["id"], "event_type": event_type, "resource": resource}
