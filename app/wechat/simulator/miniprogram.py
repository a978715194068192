"""Simulated mini-program endpoints: jscode2session, token, stable_token, getuserphonenumber.

Deterministic on purpose: the same js_code always maps to the same openid (and a phone code
to the same phone), so a demo or a test can log the same person in again. Codes that start
with "invalid" are refused with 40029, as WeChat refuses a used or forged code.
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


def _issue_token():
    token = "SIM_" + secrets.token_urlsafe(40)
    redis_client.conn.set(f"sim:wx:token:{token}", "1", ex=TOKEN_TTL)
    return token


def _token_valid(token):
    return bool(token) and redis_client.conn.exists(f"sim:wx:token:{token}")


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
    if not _app_credentials_ok(args.get("appid"), args.get("secret")):
        return _err(40001, "invalid credential")
    return jsonify({"access_token": _issue_token(), "expires_in": TOKEN_TTL})


@bp.post("/cgi-bin/stable_token")
def stable_token():
    _count("stable_token")
    body = _json_body()
    if body is None:
        return _err(47001, "data format error")
    if body.get("grant_type") != "client_credential":
        return _err(40002, "invalid grant_type")
    if not _app_credentials_ok(body.get("appid"), body.get("secret")):
        return _err(40001, "invalid credential")
    conn = redis_client.conn
    current = conn.get("sim:wx:stable_token")
    if current and not body.get("force_refresh") and _token_valid(current.decode()):
        return jsonify({"access_token": current.decode(),
                        "expires_in": max(conn.ttl(f"sim:wx:token:{current.decode()}"), 1)})
    fresh = _issue_token()
    conn.set("sim:wx:stable_token", fresh, ex=TOKEN_TTL)
    return jsonify({"access_token": fresh, "expires_in": TOKEN_TTL})


@bp.post("/wxa/business/getuserphonenumber")
def getuserphonenumber():
    _count("getuserphonenumber")
    if not _token_valid(request.args.get("access_token")):
        return _err(40001, "invalid credential, access_token is invalid or not latest")
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
    for key in conn.scan_iter("sim:wx:token:*"):
        conn.delete(key)
    conn.delete("sim:wx:stable_token")
    return jsonify({"errcode": 0})


@bp.get("/_control/calls")
def calls():
    conn = redis_client.conn
    return jsonify({key.decode().rsplit(":", 1)[1]: int(conn.get(key))
                    for key in conn.scan_iter("sim:wx:calls:*")})
