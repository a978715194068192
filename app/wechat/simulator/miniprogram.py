"""Simulated WeChat server APIs of the two apps: the mini-program (jscode2session, token,
stable_token, getuserphonenumber, subscribe messages) and the official account (token,
stable_token, template messages).

Deterministic on purpose: the same js_code always maps to the same openid (and a phone code
to the same phone), so a demo or a test can log the same person in again. Codes that start
with "invalid" are refused with 40029, as WeChat refuses a used or forged code.

Messages: a subscribe message needs one of the user's accepted one-time subscriptions for
that template (sim:wx:subscriptions, filled by POST /_control/subscriptions, as the user
tapping 允许); a send without one answers 43101 and records nothing. Every accepted message is
recorded in sim:wx:messages for tests to read. POST /_control/faults queues injected error
answers or slow answers (the request waits, then answers -1 without doing anything), taken
one per request, in order, before anything else is checked.
"""
import base64
import hashlib
import hmac
import json
import secrets
import time

from flask import Blueprint, current_app, jsonify, request

from app.extensions import redis_client

bp = Blueprint("wechat_simulator", __name__)
TOKEN_TTL = 7200
INVALID_TOKEN = (40001, "invalid credential, access_token is invalid or not latest")
ARGUMENT_INVALID = (47003, "argument invalid!")


def _json_body():
    """WeChat reads the body as JSON whatever the Content-Type (wechatpy sends none)."""
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _err(errcode, errmsg):
    return jsonify({"errcode": errcode, "errmsg": errmsg})


def _count(name):
    redis_client.conn.incr(f"sim:wx:calls:{name}")


def _app_credentials_ok(appid, secret):
    return (appid == current_app.config["WECHAT_APP_ID"]
            and secret == current_app.config["WECHAT_APP_SECRET"])


def _app_for_credentials(appid, secret):
    """The appid when appid + secret are the mini-program's or the official account's."""
    config = current_app.config
    if _app_credentials_ok(appid, secret) or (
            appid == config["WECHAT_OA_APP_ID"] and secret == config["WECHAT_OA_APP_SECRET"]):
        return appid
    return None


def openid_for_code(js_code: str) -> str:
    digest = hmac.new(current_app.config["WECHAT_APP_SECRET"].encode(), js_code.encode(),
                      hashlib.sha256).digest()
    return "o" + base64.urlsafe_b64encode(digest).decode().rstrip("=")[:27]


def phone_for_code(code: str) -> str:
    """'phone:13812345678' yields that number; any other code a stable made-up one."""
    if code.startswith("phone:") and code[6:].isdigit() and len(code[6:]) == 11:
        return code[6:]
    number = int(hashlib.sha256(code.encode()).hexdigest(), 16) % 10**8
    return f"139{number:08d}"


def _issue_token(appid):
    token = "SIM_" + secrets.token_urlsafe(40)
    redis_client.conn.set(f"sim:wx:token:{token}", appid, ex=TOKEN_TTL)
    return token


def _token_app(token):
    """The appid a live token was issued to, or None (unknown, expired or revoked)."""
    appid = redis_client.conn.get(f"sim:wx:token:{token}") if token else None
    return appid.decode() if appid else None


def _token_of(config_name):
    """The request's access_token belongs to that app (a token of the other app is as
    invalid to WeChat as a made-up one)."""
    return _token_app(request.args.get("access_token")) == current_app.config[config_name]


@bp.get("/sns/jscode2session")
def jscode2session():
    _count("jscode2session")
    args = request.args
    if not _app_credentials_ok(args.get("appid"), args.get("secret")):
        return _err(40125, "invalid appsecret")
    if args.get("grant_type") != "authorization_code":
        return _err(40002, "invalid grant_type")
    code = args.get("js_code", "")
    if not code or code.startswith("invalid") or len(code) > 128:
        return _err(40029, "invalid code")
    openid = openid_for_code(code)
    session_key = base64.b64encode(hashlib.sha256(("sk" + code).encode()).digest()[:16]).decode()
    return jsonify({"openid": openid, "session_key": session_key,
                    "unionid": "u" + openid[1:]})


@bp.get("/cgi-bin/token")
def token():
    _count("token")
    args = request.args
    if args.get("grant_type") != "client_credential":
        return _err(40002, "invalid grant_type")
    appid = _app_for_credentials(args.get("appid"), args.get("secret"))
    if appid is None:
        return _err(40001, "invalid credential")
    return jsonify({"access_token": _issue_token(appid), "expires_in": TOKEN_TTL})


@bp.post("/cgi-bin/stable_token")
def stable_token():
    _count("stable_token")
    body = _json_body()
    if body is None:
        return _err(47001, "data format error")
    if body.get("grant_type") != "client_credential":
        return _err(40002, "invalid grant_type")
    appid = _app_for_credentials(body.get("appid"), body.get("secret"))
    if appid is None:
        return _err(40001, "invalid credential")
    conn = redis_client.conn
    key = f"sim:wx:stable_token:{appid}"  # one stable token per app
    current = conn.get(key)
    if current and not body.get("force_refresh") and _token_app(current.decode()) == appid:
        return jsonify({"access_token": current.decode(),
                        "expires_in": max(conn.ttl(f"sim:wx:token:{current.decode()}"), 1)})
    fresh = _issue_token(appid)
    conn.set(key, fresh, ex=TOKEN_TTL)
    return jsonify({"access_token": fresh, "expires_in": TOKEN_TTL})


@bp.post("/wxa/business/getuserphonenumber")
def getuserphonenumber():
    _count("getuserphonenumber")
    if not _token_of("WECHAT_APP_ID"):
        return _err(*INVALID_TOKEN)
    body = _json_body()
    if body is None:
        return _err(47001, "data format error")
    code = body.get("code") or ""
    if not code or code.startswith("invalid"):
        return _err(40029, "invalid code")
    phone = phone_for_code(code)
    return jsonify({"errcode": 0, "errmsg": "ok", "phone_info": {
        "phoneNumber": phone, "purePhoneNumber": phone, "countryCode": "86",
        "watermark": {"timestamp": int(time.time()), "appid": current_app.config["WECHAT_APP_ID"]},
    }})


@bp.post("/_control/revoke-tokens")
def revoke_tokens():
    """Test hook: forget every issued token, as if WeChat rotated them."""
    conn = redis_client.conn
    for pattern in ("sim:wx:token:*", "sim:wx:stable_token*"):
        for key in conn.scan_iter(pattern):
            conn.delete(key)
    return jsonify({"errcode": 0})


@bp.get("/_control/calls")
def calls():
    conn = redis_client.conn
    return jsonify({key.decode().rsplit(":", 1)[1]: int(conn.get(key))
                    for key in conn.scan_iter("sim:wx:calls:*")})


# -- messages: subscribe (mini-program) and template (official account) ---------------------------

MESSAGES = "sim:wx:messages"
MESSAGES_KEPT = 10000  # the oldest drop out of a long-running demo's Redis; no test gets near
SUBSCRIPTIONS = "sim:wx:subscriptions"
FAULTS = "sim:wx:faults"
FAULT_APIS = ("subscribe", "template", "any")
MINIPROGRAM_STATES = ("developer", "trial", "formal")
LANGS = ("zh_CN", "en_US", "zh_HK", "zh_TW")
# what WeChat says with each errcode, so an injected error reads like a real one
ERRMSGS = {
    -1: "system error",
    40001: INVALID_TOKEN[1],
    40003: "invalid openid",
    40014: "invalid access_token",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    47003: ARGUMENT_INVALID[1],
}


def _text(value):
    return isinstance(value, str) and value != ""


def _optional_text(value):
    return value is None or isinstance(value, str)


def _whole(value, low, high):
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _data_ok(data):
    """{key: {"value": str, ...}, ...} with at least one key, as both message APIs want."""
    return isinstance(data, dict) and bool(data) and all(
        isinstance(item, dict) and isinstance(item.get("value"), str) for item in data.values())


def _take_fault(api):
    """The first queued fault for this API (or for any), removed from the queue; None if none.
    LREM takes exactly one copy, so two requests never take the same fault."""
    conn = redis_client.conn
    while True:
        for raw in conn.lrange(FAULTS, 0, -1):
            if json.loads(raw)["api"] in (api, "any"):
                if conn.lrem(FAULTS, 1, raw):
                    return json.loads(raw)
                break  # another request took it first: look again
        else:
            return None


def _faulted(api):
    """The answer a queued fault dictates for this request, or None to process it normally."""
    fault = _take_fault(api)
    if fault is None:
        return None
    if "delay_seconds" in fault:
        # WeChat never processed it: the client gave up first (or sees a system error)
        time.sleep(fault["delay_seconds"])
        return _err(-1, ERRMSGS[-1])
    return _err(fault["errcode"], ERRMSGS.get(fault["errcode"], "simulated error"))


def _subscription_field(openid, template_id):
    return json.dumps([openid, template_id], ensure_ascii=False)  # unambiguous, unlike a ":" join


def _subscriptions_left(openid, template_id):
    count = redis_client.conn.hget(SUBSCRIPTIONS, _subscription_field(openid, template_id))
    return max(int(count or 0), 0)


def _take_subscription(openid, template_id):
    """Spend one accepted subscription; False, spending nothing, when none is left."""
    conn, field = redis_client.conn, _subscription_field(openid, template_id)
    if conn.hincrby(SUBSCRIPTIONS, field, -1) >= 0:
        return True
    conn.hincrby(SUBSCRIPTIONS, field, 1)  # went below zero: put it back
    return False


def _record(api, fields):
    conn = redis_client.conn
    msgid = conn.incr("sim:wx:msgid")
    entry = {"api": api, "msgid": msgid, **fields, "at": time.time()}
    pipe = conn.pipeline()
    pipe.rpush(MESSAGES, json.dumps(entry, ensure_ascii=False))
    pipe.ltrim(MESSAGES, -MESSAGES_KEPT, -1)
    pipe.execute()
    return jsonify({"errcode": 0, "errmsg": "ok", "msgid": msgid})


@bp.post("/cgi-bin/message/subscribe/send")
def subscribe_send():
    _count("subscribe_send")  # on arrival, so a test sees a slow request in flight
    faulted = _faulted("subscribe")
    if faulted:
        return faulted
    if not _token_of("WECHAT_APP_ID"):
        return _err(*INVALID_TOKEN)
    body = _json_body()
    if body is None:
        return _err(47001, "data format error")
    state = body.get("miniprogram_state") or "formal"
    lang = body.get("lang") or "zh_CN"
    if not (_text(body.get("touser")) and _text(body.get("template_id"))
            and _data_ok(body.get("data")) and _optional_text(body.get("page"))
            and state in MINIPROGRAM_STATES and lang in LANGS):
        return _err(*ARGUMENT_INVALID)
    if body["touser"].startswith("invalid"):
        return _err(40003, ERRMSGS[40003])
    if not _take_subscription(body["touser"], body["template_id"]):
        return _err(43101, ERRMSGS[43101])
    return _record("subscribe", {
        "touser": body["touser"], "template_id": body["template_id"], "page": body.get("page"),
        "data": body["data"], "miniprogram_state": state, "lang": lang})


def _miniprogram_ok(value):
    return value is None or (isinstance(value, dict) and _text(value.get("appid"))
                             and _optional_text(value.get("pagepath")))


@bp.post("/cgi-bin/message/template/send")
def template_send():
    _count("template_send")
    faulted = _faulted("template")
    if faulted:
        return faulted
    if not _token_of("WECHAT_OA_APP_ID"):
        return _err(*INVALID_TOKEN)
    body = _json_body()
    if body is None:
        return _err(47001, "data format error")
    if not (_text(body.get("touser")) and _text(body.get("template_id"))
            and _data_ok(body.get("data")) and _optional_text(body.get("url"))
            and _miniprogram_ok(body.get("miniprogram"))):
        return _err(*ARGUMENT_INVALID)
    if body["touser"].startswith("invalid"):
        return _err(40003, ERRMSGS[40003])
    return _record("template", {
        "touser": body["touser"], "template_id": body["template_id"], "url": body.get("url"),
        "miniprogram": body.get("miniprogram"), "data": body["data"]})


def _control_error(errmsg):
    return jsonify({"errcode": 47003, "errmsg": errmsg}), 400


@bp.route("/_control/subscriptions", methods=["GET", "POST"])
def subscriptions_control():
    """Test hook: the user's accepted one-time subscriptions per (openid, template_id)."""
    if request.method == "GET":
        openid, template_id = request.args.get("openid"), request.args.get("template_id")
        if not (_text(openid) and _text(template_id)):
            return _control_error("参数无效: 需要 openid 和 template_id")
        return jsonify({"openid": openid, "template_id": template_id,
                        "count": _subscriptions_left(openid, template_id)})
    body = _json_body()
    if body is None or not (_text(body.get("openid")) and _text(body.get("template_id"))):
        return _control_error("参数无效: 需要 openid 和 template_id")
    count = body.get("count", 1)
    if not _whole(count, 1, 1000):
        return _control_error("参数无效: count 须为 1..1000 的整数")
    field = _subscription_field(body["openid"], body["template_id"])
    total = redis_client.conn.hincrby(SUBSCRIPTIONS, field, count)
    return jsonify({"openid": body["openid"], "template_id": body["template_id"],
                    "count": max(total, 0)})


@bp.route("/_control/messages", methods=["GET", "DELETE"])
def messages_control():
    """Test hook: every message the two send APIs accepted, oldest first (filters optional)."""
    conn = redis_client.conn
    if request.method == "DELETE":
        conn.delete(MESSAGES)
        return jsonify({"errcode": 0})
    wanted = {name: request.args[name] for name in ("touser", "api", "template_id")
              if request.args.get(name)}
    messages = [json.loads(raw) for raw in conn.lrange(MESSAGES, 0, -1)]
    return jsonify({"messages": [message for message in messages
                                 if all(message.get(k) == v for k, v in wanted.items())]})


@bp.route("/_control/faults", methods=["GET", "POST", "DELETE"])
def faults_control():
    """Test hook: queue injected error answers or slow answers for the send APIs."""
    conn = redis_client.conn
    if request.method == "DELETE":
        conn.delete(FAULTS)
    elif request.method == "POST":
        body = _json_body()
        if body is None or body.get("api") not in FAULT_APIS:
            return _control_error("参数无效: api 须为 subscribe | template | any")
        times = body.get("times", 1)
        if not _whole(times, 1, 1000):
            return _control_error("参数无效: times 须为 1..1000 的整数")
        if ("errcode" in body) == ("delay_seconds" in body):
            return _control_error("参数无效: errcode 与 delay_seconds 须给且只给一个")
        if "errcode" in body:
            if not _whole(body["errcode"], -(2**31), 2**31 - 1) or body["errcode"] == 0:
                return _control_error("参数无效: errcode 须为非零整数")
            fault = {"api": body["api"], "errcode": body["errcode"]}
        else:
            delay = body["delay_seconds"]
            if isinstance(delay, bool) or not isinstance(delay, (int, float)) \
                    or not 0 < delay <= 120:
                return _control_error("参数无效: delay_seconds 须在 0 到 120 秒之间")
            fault = {"api": body["api"], "delay_seconds": float(delay)}
        conn.rpush(FAULTS, *[json.dumps(fault)] * times)
    return jsonify({"faults": [json.loads(raw) for raw in conn.lrange(FAULTS, 0, -1)]})
