"""Bearer tokens (JWT HS256) for mini-program users and staff, and the guards views use.

A token names its subject and that subject's token_version; bumping the version (logout, ban,
password change) revokes every token issued before, without a deny-list.
"""
import functools
import json
import logging
import time
import uuid

import redis

import jwt
from flask import current_app, g, request
from werkzeug.local import LocalProxy

from app.common.principal_cache import local_principals, publish_purge
from app.errors import AppError, Forbidden, Unauthorized
from app.extensions import db

log = logging.getLogger("app.auth")


class AccountBanned(AppError):
    status = 403
    code = "account_banned"
    message = "账号已被封禁"


class TokenInvalid(Unauthorized):
    code = "token_invalid"
    message = "登录状态无效,请重新登录"


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "登录已过期,请重新登录"


def issue_token(kind: str, subject_id: int, token_version: int) -> str:
    now = int(time.time())
    payload = {"sub": str(subject_id), "knd": kind, "ver": token_version, "iat": now,
               "exp": now + current_app.config["JWT_TTL_SECONDS"], "jti": uuid.uuid4().hex}
    return jwt.encode(payload, current_app.config["SECRET_KEY"], algorithm="HS256")


def _decode(token: str) -> dict:
    claims = _verified_claims(current_app.config["SECRET_KEY"], token)
    if claims["exp"] <= time.time():
        raise TokenExpired()
    return claims


@functools.lru_cache(maxsize=8192)
def _verified_claims(secret: str, token: str) -> dict:
    """Signature and shape of a token never change, so each distinct token is verified once
    per process; expiry (and the token version, by the caller) are checked on every use."""
    try:
        return jwt.decode(token, secret, algorithms=["HS256"],
                          options={"require": ["sub", "exp", "iat", "ver", "knd"]})
    except jwt.ExpiredSignatureError:
        raise TokenExpired()
    except jwt.PyJWTError:
        raise TokenInvalid()


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


PRINCIPAL_TTL_SECONDS = 300


def _principal_key(kind: str, subject_id: int) -> str:
    return f"auth:principal:{kind}:{subject_id}"


def _models():
    from app.staff.models import StaffUser
    from app.users.models import User

    return {"user": User, "staff": StaffUser}


def _principal(kind: str, subject_id: int) -> dict | None:
    """What a guard needs to know about a subject (token version, ban, role), from Redis when
    cached. Hot endpoints then answer without a database round trip; any change of those
    fields purges the entry after commit (see install_principal_cache), so a logout or a ban
    still takes effect on the next request."""
    from app.extensions import redis_client

    key = _principal_key(kind, subject_id)
    local = local_principals.get(key)
    if local is not None:
        return local
    generation = local_principals.generation()
    try:
        cached = redis_client.conn.get(key)
    except redis.RedisError:
        cached = None
    if cached:
        principal = json.loads(cached)
        local_principals.put(key, principal, generation,
                             current_app.config["AUTH_LOCAL_CACHE_SECONDS"])
        return principal
    subject = db.session.get(_models()[kind], subject_id)
    if subject is None:
        return None
    if kind == "user":
        principal = {"ver": subject.token_version, "banned": subject.is_banned,
                     "reason": subject.ban_reason}
    else:
        principal = {"ver": subject.token_version, "active": subject.is_active,
                     "role": subject.role}
    try:
        redis_client.conn.set(key, json.dumps(principal), ex=PRINCIPAL_TTL_SECONDS)
    except redis.RedisError:
        pass
    return principal


def purge_principal(kind: str, subject_id: int):
    from app.extensions import redis_client

    key = _principal_key(kind, subject_id)
    try:
        redis_client.conn.delete(key)
    except redis.RedisError:
        log.warning("could not purge cached principal %s:%s", kind, subject_id)
    publish_purge(redis_client.conn, key)


_principal_cache_installed = False


def install_principal_cache():
    """Purge the cached principal whenever a field it caches changes (after the commit)."""
    global _principal_cache_installed
    from app.extensions import redis_client

    local_principals.configure(redis_client.url)
    if _principal_cache_installed:
        return
    _principal_cache_installed = True
    from sqlalchemy import event
    from sqlalchemy.orm import object_session

    from app.extensions import jobs

    watched = {"user": ("token_version", "status", "ban_reason"),
               "staff": ("token_version", "is_active", "role")}
    for kind, model in _models().items():
        for field in watched[kind]:
            def on_set(target, value, oldvalue, initiator, kind=kind):
                session = object_session(target)
                if session is not None and target.id is not None and value != oldvalue:
                    jobs.call_after_commit(session, purge_principal, kind, target.id)
            event.listen(getattr(model, field), "set", on_set)


def _authenticate(expected_kind: str) -> tuple[int, dict]:
    claims = _decode(_bearer_token())
    if claims["knd"] != expected_kind or not str(claims["sub"]).isdigit():
        raise TokenInvalid()
    subject_id = int(claims["sub"])
    principal = _principal(expected_kind, subject_id)
    if principal is None:
        raise TokenInvalid()
    # A ban also revokes tokens; the banned person is still told why, not just "log in again".
    if expected_kind == "user" and principal["banned"]:
        raise AccountBanned(details={"reason": principal["reason"]} if principal["reason"]
                            else None)
    if principal["ver"] != claims["ver"]:
        raise TokenInvalid()
    return subject_id, principal


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.current_user_id, _ = _authenticate("user")
        return view(*args, **kwargs)
    return wrapper


def staff_required(*roles):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff_id, principal = _authenticate("staff")
            if not principal["active"]:
                raise AccountBanned(message="员工账号已停用")
            if roles and principal["role"] not in roles and principal["role"] != "admin":
                raise Forbidden()
            g.current_staff_id = staff_id
            return view(*args, **kwargs)
        return wrapper
    return decorator


def user_or_staff_required(view):
    """For resources both an owner and staff may read (files)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        claims = _decode(_bearer_token())
        if claims.get("knd") == "staff":
            return staff_required()(view)(*args, **kwargs)
        return login_required(view)(*args, **kwargs)
    return wrapper


def current_user():
    """The caller's User, loaded on first use (guards themselves need no database)."""
    if "current_user" not in g:
        user = db.session.get(_models()["user"], g.current_user_id)
        if user is None:
            raise TokenInvalid()
        g.current_user = user
    return g.current_user


def lazy_current_user():
    """The caller as a proxy that loads the User on first attribute access, for services
    that can often answer without it (a sold-out booking needs no database at all)."""
    return LocalProxy(current_user)


def current_staff():
    if "current_staff" not in g:
        staff = db.session.get(_models()["staff"], g.current_staff_id)
        if staff is None:
            raise TokenInvalid()
        g.current_staff = staff
    return g.current_staff


def current_actor():
    if "current_staff_id" in g:
        return current_staff()
    if "current_user_id" in g:
        return current_user()
    return None
