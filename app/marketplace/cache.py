"""The caregiver search cache, in Redis under "cache:caregivers:".

A search page is cached by (normalised query, local date, search-data version) for
CAREGIVER_SEARCH_CACHE_SECONDS. The version is a Redis counter bumped after the commit of any
transaction that changed a table search reads. Writers do not call anything: SQLAlchemy session
events collect the touched tables (`after_flush` for ORM objects, `do_orm_execute` for bulk
statements run through the session) and `after_commit` bumps the version once. An entry written
by a reader that raced a commit lands under the old version and is never read again, so the
very next search after a commit sees it. Changes made outside the session (raw connections,
text SQL) are only bounded by the TTL.

Two entries per answer: one by the raw query string, looked up before the query is even
parsed (`answer_from_raw_query`), one by the normalised query (other spellings of the same
search). Either lookup is one round trip (a script reads the version and the entry). The
local date is part of the key because ages are counted from today. Only the public list
answer is cached (never anything per user). Redis failing never fails a search: the page is
computed from the database, the failure is logged at warning and Redis is left alone for
RETRY_AFTER_SECONDS (app/common/optional_redis.py); a version bump that failed is retried
before the next cached read.

Importing this module installs the session listeners (app/__init__.py imports it once).
"""
import functools
import hashlib
import json
import logging

import redis
from flask import Response, current_app, request
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


# one round trip: read the version and the entry stored under it
_LOOKUP = """
local version = redis.call('GET', KEYS[1]) or '0'
return {version, redis.call('GET', ARGV[1] .. version .. ARGV[2])}
"""
_scripts = {}


def _lookup(conn, kind: str, digest: str) -> tuple[int, bytes | None]:
    script = _scripts.get(id(conn))
    if script is None:
        script = _scripts[id(conn)] = conn.register_script(_LOOKUP)
    version, raw = script(keys=[VERSION_KEY], args=[
        f"{PREFIX}search:{kind}:", f":{local_today().isoformat()}:{digest}"])
    if isinstance(raw, str):  # a client with decode_responses
        raw = raw.encode()
    if raw is not None and raw[:1] != b"{":
        log.warning("caregiver search cache entry (%s) is not a JSON object; recomputing", kind)
        raw = None
    return int(version), raw


def _key(kind: str, version: int, digest: str) -> str:
    return f"{PREFIX}search:{kind}:{version}:{local_today().isoformat()}:{digest}"


def _open() -> redis.Redis | None:
    """The cache's client, with a pending version bump sent first; None while it is off."""
    if _ttl_ms() <= 0 or not _redis.usable():
        return None
    conn = _redis.conn()
    if _state["bump_pending"]:
        conn.incr(VERSION_KEY)
        _state["bump_pending"] = False
    return conn


def cached_search(query: dict, compute) -> bytes:
    """compute() through the cache; `query` is the normalised query (JSON-ready) and compute()
    returns the response body (bytes), which is stored and returned as it is."""
    digest = hashlib.sha1(_dumps(query).encode()).hexdigest()
    try:
        conn = _open()
        if conn is None:
            return compute()
        # the version is read BEFORE the database: a commit after this read bumps it, so what
        # we compute from older data is stored under a version nobody asks for any more
        version, raw = _lookup(conn, "body", digest)
    except redis.RedisError as exc:
        _redis.failed("caregiver search cache read", exc)
        return compute()
    if raw is not None:
        return raw
    value = compute()
    try:
        conn.set(_key("body", version, digest), value, px=_ttl_ms())
    except redis.RedisError as exc:
        _redis.failed("caregiver search cache write", exc)
    return value


def answer_from_raw_query(view):
    """Search view decorator, outside the argument parser: the same query string (parameters
    in any order) asked again within the TTL is answered with the stored body before anything
    is parsed, one Redis round trip in all. Only 200 answers are stored, so a query string is
    cached only after it passed validation; the version in the key drops it on the next
    relevant commit like the parsed entries."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        digest = hashlib.sha1(_dumps(sorted(request.args.items(multi=True))).encode()
                              ).hexdigest()
        try:
            conn = _open()
            version, raw = _lookup(conn, "raw", digest) if conn is not None else (None, None)
        except redis.RedisError as exc:
            _redis.failed("caregiver search cache read", exc)
            conn = None
        else:
            if raw is not None:
                return Response(raw, mimetype="application/json")
        response = view(*args, **kwargs)
        if conn is not None and isinstance(response, Response) and response.status_code == 200:
            try:
                conn.set(_key("raw", version, digest), response.get_data(), px=_ttl_ms())
            except redis.RedisError as exc:
                _redis.failed("caregiver search cache write", exc)
        return response
    return wrapper


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
