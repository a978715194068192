"""Reads that may be served by a read replica: browse, search and statistics queries.

`reader()` is the session those queries use. With READ_REPLICA_DATABASE_URL set it is a
session on the replica's engine (the Flask-SQLAlchemy bind "replica"), one per application
context (so per request) and closed at its teardown; without a replica, or while the replica
cannot be reached, it is the primary's session (`db.session`), so callers never need to know
which one they got. Only read-only queries go through it: a replica lags the primary, so
nothing that decides a write may read here, and the replica session refuses to flush.

A replica that fails its connection check (a connection checked out of its pool, which
pool_pre_ping tests) is left alone for READ_REPLICA_RETRY_SECONDS: every reader meanwhile gets
the primary at no cost. A query failing later, on a connection that passed the check, is not
retried on the primary (the request fails as it would on the primary).
"""
import logging
import threading
import time

from flask import current_app, g
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger("app.replica")

BIND = "replica"
_G_KEY = "_replica_session"


class ReplicaReadOnly(RuntimeError):
    """A write was attempted through the replica session (a programming error)."""


class _State:
    """Per application: when the replica may be tried again after a failed check."""

    def __init__(self):
        self.down_until = 0.0
        self.lock = threading.Lock()


def engine_options(url: str, base: dict) -> dict:
    """The bind's engine options: the primary's pool settings plus what create_app gives
    every engine of that dialect (SQLite: wait for locks; MariaDB: READ COMMITTED)."""
    options = {name: value for name, value in (base or {}).items()
               if name not in ("connect_args", "isolation_level")}
    if url.startswith("sqlite"):
        options = {name: value for name, value in options.items()
                   if name not in ("pool_size", "max_overflow")}
        options["connect_args"] = {"timeout": 30}
    elif url.startswith("mysql"):
        options["isolation_level"] = "READ COMMITTED"
        # a replica that is down must not hold a request for the driver's default 10 s
        options["connect_args"] = {"connect_timeout": 3}
    return {**options, "url": url}


def configure(app) -> None:
    """Called by create_app before db.init_app: READ_REPLICA_DATABASE_URL becomes the bind."""
    url = app.config.get("READ_REPLICA_DATABASE_URL")
    app.extensions["replica"] = _State()
    if not url:
        return
    binds = dict(app.config.get("SQLALCHEMY_BINDS") or {})
    binds[BIND] = engine_options(url, app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    app.config["SQLALCHEMY_BINDS"] = binds
    app.teardown_appcontext(_close_session)


def configured(app=None) -> bool:
    app = app or current_app
    return BIND in (app.config.get("SQLALCHEMY_BINDS") or {})


def engine():
    """The replica's engine, or None without a replica."""
    return db.engines.get(BIND) if configured() else None


def _refuse_flush(session, _context, _instances):
    raise ReplicaReadOnly("the replica session is read-only; write through db.session")


def _close_session(_exception=None):
    session = g.pop(_G_KEY, None)
    if session is not None:
        session.close()


def mark_down(reason) -> None:
    state = current_app.extensions["replica"]
    seconds = float(current_app.config.get("READ_REPLICA_RETRY_SECONDS", 30))
    with state.lock:
        first = state.down_until <= time.monotonic()
        state.down_until = time.monotonic() + seconds
    if first:
        log.warning("read replica unreachable, reading from the primary for %.0f s: %s",
                    seconds, reason)


def is_down() -> bool:
    return current_app.extensions["replica"].down_until > time.monotonic()


def reader() -> Session:
    """The session for a read-only browse/search/statistics query (see the module's doc)."""
    session = g.get(_G_KEY)
    if session is not None:
        return session
    replica = engine()
    if replica is None or is_down():
        return db.session
    session = Session(bind=replica, autoflush=False, expire_on_commit=False)
    event.listen(session, "before_flush", _refuse_flush)
    try:
        session.connection()  # the check: a pooled connection, pinged (pool_pre_ping)
    except Exception as exc:  # noqa: BLE001  (any failure to connect: use the primary)
        session.close()
        mark_down(exc)
        return db.session
    setattr(g, _G_KEY, session)
    return session


def check() -> None:
    """Readiness: SELECT 1 on the replica (raises when it does not answer)."""
    replica = engine()
    if replica is None:
        return
    with replica.connect() as connection:
        connection.execute(text("SELECT 1"))
