"""The caregiver search cache, in Redis under "cache:caregivers:".

A search page is cached by (normalised query, local date, search-data version) for
CAREGIVER_SEARCH_CACHE_SECONDS. The version is a Redis counter bumped after the commit of any
transaction that changed a table search reads. Writers do not call anything: SQLAlchemy session
events collect the touched tables (`after_flush` for ORM objects, `do_orm_execute` for bulk
statements run through the session) and `after_commit` bumps the version once. An entry written
by a reader that raced a commit lands under the old version and is never read again, so the
very next search after a commit sees it. Changes made outside the session (raw connections,
text SQL) are only bounded by the TTL.

The local date is part of the key because ages are counted from today. Only the public list
answer is cached (never anything per user). Redis failing never fails a search: the page is
computed from the database, the failure is logged at warning and Redis is left alone for
RETRY_AFTER_SECONDS (app/common/optional_redis.py); a version bump that failed is retried
before the next cached read.

Importing this module installs the session listeners (app/__init__.py imports it once).
"""
import hashlib
import json
import logging

import redis
from flask import current_app
from sqlalchemy import event, inspect

from app.common.time import local_today
from app.common.optional_redis import OptionalRedis
from app.extensions import db

log = logging.getLogger("app.marketplace.cache")

PREFIX = "cache:caregivers:"
VERSION_KEY = PREFIX + "version"
# tables whose rows a search answer (or the hospital it sorts by) is built from
SEARCH_TABLES = frozenset({
    "caregivers", "caregiver_skills", "caregiver_districts", "caregiver_hospitals",
    "caregiver_prices", "availability_day_windows", "availability_busy_blocks",
    "qualifications", "care_skills", "users", "hospitals"})
# users change on every login; only their status (a ban) hides a caregiver
_USER_COLUMNS = frozenset({"status"})
_TOUCHED = "search_data_touched"

_state = {"bump_pending": False}
_redis = OptionalRedis("marketplace_cache")


# ---- Redis -----------------------------------------------------------------------------------

def _ttl_ms() -> int:
    return int(float(current_app.config["CAREGIVER_SEARCH_CACHE_SECONDS"]) * 1000)





def reset() -> None:
    """Forget a recorded Redis failure (tests; an operator after fixing Redis)."""
    _redis.reset()


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def cached_search(query: dict, compute) -> bytes:
    """compute() through the cache; `query` is the normalised query (JSON-ready) and compute()
    returns the response body (bytes), which is stored and returned as it is: a hit is two
    Redis GETs and no JSON work at all."""
    ttl = _ttl_ms()
    if ttl <= 0 or not _redis.usable():
        return compute()
    digest = hashlib.sha1(_dumps(query).encode()).hexdigest()
    try:
        conn = _redis.conn()
        if _state["bump_pending"]:
            conn.incr(VERSION_KEY)
            _state["bump_pending"] = False
        # the version is read BEFORE the database: a commit after this read bumps it, so what
        # we compute from older data is stored under a version nobody asks for any more
        version = int(conn.get(VERSION_KEY) or 0)
        # "body:" — entries are response bodies (the format before held undumped pages)
        key = f"{PREFIX}search:body:{version}:{local_today().isoformat()}:{digest}"
        raw = conn.get(key)
    except redis.RedisError as exc:
        _redis.failed("caregiver search cache read", exc)
        return compute()
    if raw is not None:
        if isinstance(raw, str):  # a client with decode_responses
            raw = raw.encode()
        if raw[:1] == b"{":
            return raw
        log.warning("caregiver search cache entry %s is not a JSON object; recomputing", key)
    value = compute()
    try:
        conn.set(key, value, px=ttl)
    except redis.RedisError as exc:
        _redis.failed("caregiver search cache write", exc)
    return value


def bump_version() -> None:
    """Make every cached search page unreachable. Always tried, even while Redis is considered
    down; a failure is retried before the next cached read."""
    try:
        _redis.conn().incr(VERSION_KEY)
        _state["bump_pending"] = False
    except redis.RedisError as exc:
        _state["bump_pending"] = True
        _redis.failed("caregiver search cache version bump", exc)


# ---- what a transaction touched --------------------------------------------------------------

def _mark(session, table_name: str | None):
    if table_name in SEARCH_TABLES:
        session.info.setdefault(_TOUCHED, set()).add(table_name)


def _table_of(obj) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


@event.listens_for(db.session, "after_flush")
def _after_flush(session, _flush_context):
    for obj in session.new:
        name = _table_of(obj)
        if name != "users":  # a new user is nobody's caregiver yet
            _mark(session, name)
    for obj in session.deleted:
        _mark(session, _table_of(obj))
    for obj in session.dirty:
        name = _table_of(obj)
        if name not in SEARCH_TABLES or not session.is_modified(obj):
            continue
        if name == "users":
            state = inspect(obj)
            if not any(state.attrs[c].history.has_changes() for c in _USER_COLUMNS):
                continue
        _mark(session, name)


def _dml_columns(orm_execute_state) -> set[str] | None:
    """The column names a bulk UPDATE sets, or None when they cannot be told."""
    statement = orm_execute_state.statement
    names = set()
    values = getattr(statement, "_values", None)
    if values:
        names.update(getattr(key, "key", None) or getattr(key, "name", None) or str(key)
                     for key in values)
    parameters = orm_execute_state.parameters
    rows = parameters if isinstance(parameters, list) else [parameters] if parameters else []
    for row in rows:
        if isinstance(row, dict):
            names.update(str(key) for key in row)
    return names or None


@event.listens_for(db.session, "do_orm_execute")
def _bulk_statement(orm_execute_state):
    if not (orm_execute_state.is_insert or orm_execute_state.is_update
            or orm_execute_state.is_delete):
        return
    table = getattr(orm_execute_state.statement, "table", None)
    name = getattr(table, "name", None)
    if name == "users":
        if orm_execute_state.is_insert:
            return
        columns = _dml_columns(orm_execute_state) if orm_execute_state.is_update else None
        if columns is not None and not (columns & _USER_COLUMNS):
            return
    _mark(orm_execute_state.session, name)


@event.listens_for(db.session, "after_commit")
def _after_commit(session):
    if session.info.pop(_TOUCHED, None):
        bump_version()


@event.listens_for(db.session, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_TOUCHED, None)
