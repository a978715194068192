"""Bearer tokens (JWT HS256) for mini-program users and staff, and the guards views use.

A token names its subject and that subject's token_version; bumping the version (logout, ban,
password change) revokes every token issued before, without a deny-list.
"""
import functools
import time
import uuid

import jwt
from flask import current_app, g, request

from app.errors import AppError, Forbidden, Unauthorized
from app.extensions import db


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
    try:
        return jwt.decode(token, current_app.config["SECRET_KEY"], algorithms=["HS256"],
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


def _load_subject(expected_kind: str):
    from app.staff.models import StaffUser
    from app.users.models import User

    claims = _decode(_bearer_token())
    if claims["knd"] != expected_kind or not str(claims["sub"]).isdigit():
        raise TokenInvalid()
    model = User if expected_kind == "user" else StaffUser
    subject = db.session.get(model, int(claims["sub"]))
    if subject is None:
        raise TokenInvalid()
    # A ban also revokes tokens; the banned person is still told why, not just "log in again".
    if expected_kind == "user" and subject.is_banned:
        raise AccountBanned(details={"reason": subject.ban_reason} if subject.ban_reason else None)
    if subject.token_version != claims["ver"]:
        raise TokenInvalid()
    return subject


def login_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        g.current_user = _load_subject("user")
        return view(*args, **kwargs)
    return wrapper


def staff_required(*roles):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            staff = _load_subject("staff")
            if not staff.is_active:
                raise AccountBanned(message="员工账号已停用")
            if roles and staff.role not in roles and staff.role != "admin":
                raise Forbidden()
            g.current_staff = staff
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
    return g.current_user


def current_staff():
    return g.current_staff


def current_actor():
    return getattr(g, "current_staff", None) or getattr(g, "current_user", None)
