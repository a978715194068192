"""User behaviour events (logins, searches) for the statistics.

Searches are the platform's hottest reads (a cached caregiver search is one Redis round trip),
so recording one must not add a database write to it: an event is one RPUSH onto a Redis list
(fail-fast client, half-second timeout), and `flush_events` (a job every minute) moves the list
into `user_events` in batches. Each event carries a random key, unique in the table, so a batch
inserted twice (the job died before trimming the list) counts once. Redis down: the event is
inserted directly (see _insert_now). Nothing here ever fails the
request that records: an event that cannot be stored anywhere is logged and dropped.

Figures that read events therefore lag by up to a minute (the flush interval).
"""
import functools
import json
import logging
import time
import uuid
from datetime import datetime, timezone

import jwt
from flask import current_app, request
from sqlalchemy import select

from app.common.optional_redis import OptionalRedis
from app.extensions import db

log = logging.getLogger("app.stats")
BUFFER_KEY = "stats:events"
FLUSH_LOCK_KEY = "stats:events:flush-lock"
FLUSH_BATCH = 2000
_redis = OptionalRedis("stats_events")


def _event(kind: str, user_id: int | None, at: float) -> dict:
    return {"event_key": uuid.uuid4().hex, "kind": kind, "user_id": user_id,
            "occurred_at": datetime.fromtimestamp(at, timezone.utc).replace(tzinfo=None)}


def record_event(kind: str, user_id: int | None = None) -> None:
    """Note that `user_id` (None: anonymous) did `kind` now. Never raises."""
    now = time.time()
    try:
        if _redis.usable():
            try:
                _redis.conn().rpush(BUFFER_KEY, json.dumps(
                    [uuid.uuid4().hex, kind, user_id, round(now, 3)]))
                return
            except Exception as exc:  # noqa: BLE001  (any Redis failure: use the database)
                _redis.failed("recording a user event", exc)
        _insert_now(_event(kind, user_id, now))
    except Exception:  # noqa: BLE001  (statistics never break the request that records them)
        log.warning("user event %s of user %s dropped", kind, user_id, exc_info=True)


def _insert_now(row: dict) -> None:
    """Redis is down: insert the event at once. Through the caller's session when it holds
    nothing uncommitted (SQLite's single writer may be that very session's transaction, so a
    second connection would wait for it), committing only this row; else on a connection of
    its own."""
    from app.stats.models import UserEvent

    session = db.session
    if session.new or session.dirty or session.deleted:
        _insert([row])
        return
    try:
        session.execute(UserEvent.__table__.insert(), [row])
        session.commit()
    except Exception:
        session.rollback()  # nothing of the caller's was pending: nothing of theirs is lost
        raise


def _insert(rows: list[dict]) -> None:
    """Insert events, skipping keys already stored, on a connection of their own (autocommit:
    the calling request's transaction is not touched)."""
    from app.stats.models import UserEvent

    if not rows:
        return
    table = UserEvent.__table__
    with db.engine.begin() as connection:
        keys = [row["event_key"] for row in rows]
        known = set(connection.execute(select(table.c.event_key).where(
            table.c.event_key.in_(keys))).scalars())
        fresh = [row for row in rows if row["event_key"] not in known]
        if fresh:
            connection.execute(table.insert(), fresh)


def flush_events(max_batches: int = 50) -> int:
    """Move buffered events into the table, oldest first; returns how many were read. One
    flusher at a time (a Redis lock); producers only append, so trimming the first n entries
    after inserting them removes exactly what was inserted."""
    from app.extensions import redis_client

    conn = redis_client.conn
    token = uuid.uuid4().hex
    if not conn.set(FLUSH_LOCK_KEY, token, nx=True, ex=120):
        return 0
    moved = 0
    try:
        for _ in range(max_batches):
            raw = conn.lrange(BUFFER_KEY, 0, FLUSH_BATCH - 1)
            if not raw:
                break
            rows = []
            for item in raw:
                try:
                    key, kind, user_id, at = json.loads(item)
                    rows.append({"event_key": str(key)[:32], "kind": str(kind)[:24],
                                 "user_id": int(user_id) if user_id is not None else None,
                                 "occurred_at": datetime.fromtimestamp(
                                     float(at), timezone.utc).replace(tzinfo=None)})
                except (ValueError, TypeError):
                    log.warning("unreadable user event dropped: %r", item[:200])
            _insert(rows)
            conn.ltrim(BUFFER_KEY, len(raw), -1)
            moved += len(raw)
    finally:
        if conn.get(FLUSH_LOCK_KEY) == token.encode():
            conn.delete(FLUSH_LOCK_KEY)
    return moved


def _caller_user_id() -> int | None:
    """Who is searching, if the mini-program sent its token (public endpoints do not require
    one). The signature is checked; revocation is not (this only attributes a search)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(token.strip(), current_app.config["SECRET_KEY"],
                            algorithms=["HS256"])
    except jwt.PyJWTError:
        return None
    subject = str(claims.get("sub", ""))
    return int(subject) if claims.get("knd") == "user" and subject.isdigit() else None


def counts_as_search(kind: str):
    """View decorator: a first page answered 200 is one search of `kind`. Further pages of the
    same search are not new searches."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            response = view(*args, **kwargs)
            status = getattr(response, "status_code", 200)
            if status == 200 and request.args.get("page", "1").strip() in ("1", ""):
                record_event(kind, _caller_user_id())
            return response
        return wrapper
    return decorator
