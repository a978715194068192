"""Bearer tokens (JWT HS256) for mini-program users and staff, and the guards views use.

A token names its subject and that subject's token_version; bumping the version (logout, ban,
password change) revokes every token issued before, without a deny-list.

Guards check the subject's principal (token version, ban, staff role and activity) on every
request: from this process's copy (app/common/principal_cache.py), else with one primary-key
SELECT of three columns. Worst case for a ban, logout or role change, on every process:
- made through the ORM (services, attribute changes, bulk ORM UPDATE/DELETE): refused once
  the purge published after the commit arrives (milliseconds);
- made in SQL, or its purge lost: refused AUTH_LOCAL_CACHE_SECONDS (1 s; capped at 1.5 s)
  after the commit, plus the time one request takes: within the 2 s promise.
A fill that read the subject before a ban cannot outlive the ban's purge. Redis holds no
principals; a Redis outage only turns the copies off (every guard reads the database).
"""
import functools
import logging
import threading
import time
import uuid

import jwt
from flask import current_app, g, request
from werkzeug.local import LocalProxy

from app.common.principal_cache import (MAX_HOLD_SECONDS, PURGE_ALL, channel_for,
                                        local_principals, publish_purge)
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


def _principal_key(kind: str, subject_id: int) -> str:
    return f"auth:principal:{kind}:{subject_id}"


def _models():
    from app.staff.models import StaffUser
    from app.users.models import User

    return {"user": User, "staff": StaffUser}


_principal_sql: dict = {}


def _principal_query(engine, kind: str) -> tuple[str, bool]:
    """Three columns by primary key, built in SQLAlchemy Core and compiled once per dialect:
    no entity, no identity map, no statement cache lookup per request."""
    key = (engine.dialect.name, kind)
    sql = _principal_sql.get(key)
    if sql is None:
        from sqlalchemy import bindparam, select

        table = _models()[kind].__table__
        columns = ((table.c.token_version, table.c.status, table.c.ban_reason) if kind == "user"
                   else (table.c.token_version, table.c.is_active, table.c.role))
        query = select(*columns).where(table.c.id == bindparam("id"))
        compiled = query.compile(dialect=engine.dialect)
        sql = _principal_sql[key] = (compiled.string, compiled.positional)
    return sql


_principal_engine_lock = threading.Lock()


def _principal_engine():
    """Where guards read principals. MariaDB: a small engine of its own in autocommit mode
    that neither pings on checkout nor rolls back on return, so a read is one round trip; a
    connection the server dropped fails the read, is discarded, and the read is retried once.
    SQLite (in-process, no round trips to save): the app's engine."""
    engine = current_app.extensions.get("principal_engine")
    if engine is None:
        with _principal_engine_lock:
            engine = current_app.extensions.get("principal_engine")
            if engine is None:
                engine = db.engine
                if engine.dialect.name != "sqlite":
                    from sqlalchemy import create_engine

                    engine = create_engine(engine.url, isolation_level="AUTOCOMMIT",
                                           pool_pre_ping=False, pool_reset_on_return=None,
                                           pool_recycle=1800)
                current_app.extensions["principal_engine"] = engine
    return engine


def _read_principal(kind: str, subject_id: int) -> dict | None:
    """One SELECT outside any transaction (autocommit): it shows what was committed when it
    ran, and it takes no lock (SQLite: no BEGIN IMMEDIATE, the request's session is not
    involved). The DBAPI cursor of a pooled connection: SQLAlchemy's Connection would add a
    ROLLBACK round trip on close even in autocommit mode."""
    engine = _principal_engine()
    sql, positional = _principal_query(engine, kind)
    parameters = (subject_id,) if positional else {"id": subject_id}
    for attempt in (1, 2):
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            row = cursor.fetchone()
            cursor.close()
            break
        except engine.dialect.loaded_dbapi.Error as exc:
            if attempt == 2 or not engine.dialect.is_disconnect(exc, connection.dbapi_connection,
                                                                None):
                raise
            connection.invalidate(exc)  # a fresh connection for the retry
        finally:
            connection.close()
    if row is None:
        return None
    if kind == "user":
        return {"ver": row[0], "banned": row[1] == "banned", "reason": row[2]}
    return {"ver": row[0], "active": bool(row[1]), "role": row[2]}


def _hold_seconds() -> float:
    return min(float(current_app.config["AUTH_LOCAL_CACHE_SECONDS"]), MAX_HOLD_SECONDS)


def _principal(kind: str, subject_id: int, *, before_fill=None) -> dict | None:
    """What a guard needs to know about a subject (token version, ban, role).

    From this process's copy when it holds one (at most AUTH_LOCAL_CACHE_SECONDS old, dropped
    at once by a purge), else one primary-key SELECT of three columns. Worst case: a change
    made in SQL, or whose purge was lost, is seen everywhere AUTH_LOCAL_CACHE_SECONDS (1 s,
    capped at 1.5 s) after its commit; a change made through the ORM within the pub/sub
    latency. See app/common/principal_cache.py for why a racing fill cannot resurrect a stale
    principal. `before_fill` is called between the database read and the copy being kept
    (tests use it to hold a fill there while a ban commits).
    """
    key = _principal_key(kind, subject_id)
    held = local_principals.get(key)
    if held is not None:
        return held
    # both taken before the read: a purge after this point refuses the fill, and the copy
    # expires `hold` seconds after a moment that preceded what it shows
    generation = local_principals.generation()
    expires_at = time.monotonic() + _hold_seconds()
    principal = _read_principal(kind, subject_id)
    if principal is not None:
        if before_fill is not None:
            before_fill()
        local_principals.put(key, principal, generation, expires_at)
    return principal


def purge_principal(kind: str, subject_id: int):
    from app.extensions import redis_client

    publish_purge(redis_client.conn, _principal_key(kind, subject_id))


def purge_all_principals():
    """After a bulk UPDATE or DELETE of users or staff through the ORM (rows unknown)."""
    from app.extensions import redis_client

    publish_purge(redis_client.conn, PURGE_ALL)


_principal_cache_installed = False


def install_principal_cache(app):
    """Purge the copies of a principal whenever a field they hold changes (after the commit)."""
    global _principal_cache_installed
    from app.extensions import redis_client

    hold = float(app.config["AUTH_LOCAL_CACHE_SECONDS"])
    if not 0 <= hold <= MAX_HOLD_SECONDS:
        raise RuntimeError(f"AUTH_LOCAL_CACHE_SECONDS must be between 0 and {MAX_HOLD_SECONDS}:"
                           " a ban, logout or role change must take effect within 2 s")
    local_principals.configure(redis_client.url, channel_for(redis_client.conn))
    if _principal_cache_installed:
        return
    _principal_cache_installed = True
    from sqlalchemy import event
    from sqlalchemy.orm import object_session

    from app.extensions import jobs

    models = _models()
    watched = {"user": ("token_version", "status", "ban_reason"),
               "staff": ("token_version", "is_active", "role")}
    for kind, model in models.items():
        for field in watched[kind]:
            def on_set(target, value, oldvalue, initiator, kind=kind):
                session = object_session(target)
                if session is not None and target.id is not None and value != oldvalue:
                    jobs.call_after_commit(session, purge_principal, kind, target.id)
            event.listen(getattr(model, field), "set", on_set)

        def on_delete(mapper, connection, target, kind=kind):
            session = object_session(target)
            if session is not None:
                jobs.call_after_commit(session, purge_principal, kind, target.id)
        event.listen(model, "after_delete", on_delete)

    tables = {model.__table__.name for model in models.values()}

    @event.listens_for(db.session, "do_orm_execute")
    def on_bulk(state):
        # session.execute(update(User)...) sets no attribute: purge every copy after commit
        if (state.is_update or state.is_delete) and getattr(
                getattr(state.statement, "table", None), "name", None) in tables:
            jobs.call_after_commit(state.session, purge_all_principals)


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
    # read by app/common/api.py Blueprint: the operation documents bearer security and 401/403
    wrapper.auth_requirement = {"kind": "user", "roles": ()}
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
        wrapper.auth_requirement = {"kind": "staff", "roles": roles}
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
    wrapper.auth_requirement = {"kind": "user_or_staff", "roles": ()}
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
