"""The signature check in front of every /open/v1 request (a before_request of the blueprint).

Order (spec v1): headers present and well formed → the key exists → it is usable (not revoked,
not past its rotation overlap) → the timestamp is within the window → the signature matches
(constant-time) → the nonce is new for this key (Redis SET NX, kept twice the window; set only
after the signature matched, so nobody can burn a hospital's nonces) → the hospital is not
suspended (is_active) → the hospital's rate limit. Each refusal is 401 (403, 429) with a stable
code; nothing is read from the body before the signature matched.
"""
import time
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app, g, request
from sqlalchemy import select

from app.common.time import utcnow
from redis.exceptions import RedisError

from app.errors import AppError, Forbidden, RateLimited, ServiceUnavailable, Unauthorized
from app.extensions import db, redis_client
from app.hospital_onboarding.models import HospitalApiKey
from app.hospitals.models import Hospital
from app.open_api import signing


class SignatureMissing(Unauthorized):
    code = "signature_missing"
    message = "缺少签名或签名头格式错误"


class KeyUnknown(Unauthorized):
    code = "key_unknown"
    message = "接口密钥不存在"


class KeyRevoked(Unauthorized):
    code = "key_revoked"
    message = "接口密钥已吊销或已过期"


class TimestampOutOfWindow(Unauthorized):
    code = "timestamp_out_of_window"
    message = "请求时间戳与服务器时间相差过大"


class SignatureInvalid(Unauthorized):
    code = "signature_invalid"
    message = "签名校验失败"


class NonceReused(Unauthorized):
    code = "nonce_reused"
    message = "该请求已处理过(随机串重复)"


class HospitalSuspended(Forbidden):
    code = "hospital_suspended"
    message = "医院已被暂停接入"


class OpenApiRateLimited(RateLimited):
    code = "rate_limited"
    message = "请求过于频繁,请稍后再试"


AUTH_ERRORS = (SignatureMissing, KeyUnknown, KeyRevoked, TimestampOutOfWindow, SignatureInvalid,
               NonceReused)


@dataclass(frozen=True)
class Caller:
    hospital_id: int
    key_id: str


def wire_path() -> str:
    """The path as the client sent it (percent-encoded): the server's RAW_URI / REQUEST_URI,
    else PATH_INFO re-encoded."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0]
        if "://" in path:  # an absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        return path
    return quote(request.script_root + request.path, safe="/:@!$&'()*+,;=-._~")


def _header(name: str, pattern) -> str:
    value = request.headers.get(name)
    if value is None or not pattern.match(value):
        raise SignatureMissing(details={"header": name})
    return value


def verify_request() -> Caller:
    key_id = request.headers.get(signing.HEADER_KEY, "")
    g.open_api_key_header = key_id[:32]
    key_id = _header(signing.HEADER_KEY, signing.KEY_ID)
    timestamp = _header(signing.HEADER_TIMESTAMP, signing.TIMESTAMP)
    nonce = _header(signing.HEADER_NONCE, signing.NONCE)
    signature = _header(signing.HEADER_SIGNATURE, signing.SIGNATURE)

    # the key and its hospital's state in one read (every request pays for it)
    found = db.session.execute(select(HospitalApiKey, Hospital.is_active)
                               .join(Hospital, Hospital.id == HospitalApiKey.hospital_id)
                               .where(HospitalApiKey.key_id == key_id)).first()
    if found is None:
        db.session.rollback()
        raise KeyUnknown()
    key, active = found
    hospital_id, secret, usable = key.hospital_id, key.secret, key.usable(utcnow())
    # the read stays in the transaction the view's service goes on with and ends (READ
    # COMMITTED: it sees what is committed when it reads, wherever its transaction began)
    g.open_api_known_key = (hospital_id, key_id)  # from here on, the call is audited
    if not usable:
        raise KeyRevoked()
    window = current_app.config["OPEN_API_TIMESTAMP_TOLERANCE_SECONDS"]
    if abs(time.time() - int(timestamp)) > window:
        raise TimestampOutOfWindow(details={"server_time": int(time.time())})
    try:
        canonical = signing.canonical_string(request.method, wire_path(),
                                             request.query_string.decode("latin-1"),
                                             timestamp, nonce, request.get_data(cache=True))
    except (UnicodeDecodeError, ValueError):
        raise SignatureInvalid() from None
    if not signing.matches(secret, canonical, signature):
        raise SignatureInvalid()
    try:
        fresh = redis_client.conn.set(f"open:nonce:{key_id}:{nonce}", 1, nx=True, ex=2 * window)
    except RedisError:  # without the nonce store a replay cannot be told apart: refuse
        raise ServiceUnavailable() from None
    if not fresh:
        raise NonceReused()
    if not active:
        raise HospitalSuspended()
    _rate_limit(hospital_id)
    return Caller(hospital_id=hospital_id, key_id=key_id)


def _rate_limit(hospital_id: int):
    """A fixed window per hospital and minute (all its keys together)."""
    limit = current_app.config["OPEN_API_RATE_PER_MINUTE"]
    now = time.time()
    window = int(now // 60)
    key = f"open:rate:{hospital_id}:{window}"
    try:
        pipe = redis_client.conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count = pipe.execute()[0]
    except RedisError:  # the nonce check just passed: Redis hiccuped; do not lock out
        return
    if count > limit:
        error = OpenApiRateLimited(details={"limit_per_minute": limit})
        error.headers = {"Retry-After": str(max(1, int(60 - now % 60) + 1))}
        raise error


def current_caller() -> Caller:
    return g.open_api_caller


__all__ = ["AppError", "Caller", "current_caller", "verify_request", "AUTH_ERRORS"]
