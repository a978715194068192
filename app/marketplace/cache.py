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

Each bump also records which caregivers the commit changed (CHANGES_KEY, a sorted set by
version, the last CHANGES_KEPT commits), so the in-process index (live_index.py) takes in just
those rows; "*" stands for "reload everything" (users, skills list, hospitals, a bulk change of
more than CHANGED_IDS_MAX caregivers, a bump that had to be retried). The ids of a bulk UPDATE
or DELETE are read with the statement's own WHERE clause just before it runs. EPOCH_KEY is a
random token set once per Redis data set: a flushed Redis starts a new epoch, so versions are
never compared across two histories.

Importing this module installs the session listeners (app/__init__.py imports it once).
"""
import functools
import hashlib
import json
import logging
import os
import threading
import time

import redis
from flask import Response, current_app, g, request
from sqlalchemy import event, inspect, select

from app.common.time import local_today
from app.common.optional_redis import OptionalRedis
from app.extensions import db

log = logging.getLogger("app.marketplace.cache")

PREFIX = "cache:caregivers:"
VERSION_KEY = PREFIX + "version"
CHANGES_KEY = PREFIX + "changes"
EPOCH_KEY = PREFIX + "epoch"
BUMPS_CHANNEL = PREFIX + "bumps"
CHANGES_KEPT = 2000
CHANGED_IDS_MAX = 1000
EVERYTHING = "*"
# tables whose rows a search answer (or the hospital it sorts by) is built from
SEARCH_TABLES = frozenset({
    "caregivers", "caregiver_skills", "caregiver_districts", "caregiver_hospitals",
    "caregiver_prices", "availability_day_windows", "availability_busy_blocks",
    "qualifications", "care_skills", "users", "hospitals"})
# users change on every login; only their status (a ban) hides a caregiver
_USER_COLUMNS = frozenset({"status"})
_TOUCHED = "search_data_touched"
_CHANGED = "search_caregivers_changed"
# tables whose rows name no caregiver (or change what every answer means): reload everything
_RELOAD_TABLES = frozenset({"users", "care_skills", "hospitals"})

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


# both scripts take the epoch key as KEYS[1] and a fresh token as ARGV[1]: the epoch is set
# by whichever runs first on an empty Redis
_EPOCH = """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
"""
# one round trip: the epoch, the version and the entry stored under it
_LOOKUP = _EPOCH + """
local version = redis.call('GET', KEYS[2]) or '0'
return {version, epoch, redis.call('GET', ARGV[2] .. version .. ARGV[3])}
"""
# one round trip: the next version, with the caregivers it changed, announced to every process
_BUMP = _EPOCH + """
local version = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[3], version, version .. ':' .. ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[3]) + 1))
redis.call('PUBLISH', KEYS[4], version .. ':' .. epoch)
return {version, epoch}
"""
_scripts = {}


def _script(conn, source: str):
    script = _scripts.get((id(conn), source))
    if script is None:
        script = _scripts[(id(conn), source)] = conn.register_script(source)
    return script


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _lookup(conn, kind: str, digest: str) -> tuple[int, bytes | None]:
    version, epoch, raw = _script(conn, _LOOKUP)(keys=[EPOCH_KEY, VERSION_KEY], args=[
        os.urandom(8).hex(), f"{PREFIX}search:{kind}:", f":{local_today().isoformat()}:{digest}"])
    g.search_data_version = (int(version), _text(epoch))
    if isinstance(raw, str):  # a client with decode_responses
        raw = raw.encode()
    if raw is not None and raw[:1] != b"{":
        log.warning("caregiver search cache entry (%s) is not a JSON object; recomputing", kind)
        raw = None
    return int(version), raw


def search_data_version() -> tuple[int, str] | None:
    """(version, epoch) of the search data as this request read it (one Redis round trip
    the first time), or None while Redis is off or failing."""
    known = g.get("search_data_version") or version_watch.current()
    if known is not None:
        return known
    try:
        conn = _open()
        if conn is None:
            return None
        _lookup(conn, "none", "-")
    except redis.RedisError as exc:
        _redis.failed("caregiver search version read", exc)
        return None
    return g.search_data_version


def changes_between(low: int, high: int) -> set[int] | None:
    """The caregivers changed by the commits that made versions low+1 .. high, or None when
    everything must be reloaded (an EVERYTHING entry, or entries missing: trimmed, or a bump
    made without its record)."""
    try:
        entries = _redis.conn().zrangebyscore(CHANGES_KEY, f"({low}", high)
    except redis.RedisError as exc:
        _redis.failed("caregiver search change log read", exc)
        return None
    if len(entries) != high - low:
        return None
    changed = set()
    for entry in entries:
        _, _, ids = _text(entry).partition(":")
        if ids == EVERYTHING:
            return None
        changed.update(int(i) for i in ids.split(",") if i)
    return changed


def _key(kind: str, version: int, digest: str) -> str:
    return f"{PREFIX}search:{kind}:{version}:{local_today().isoformat()}:{digest}"


def _open() -> redis.Redis | None:
    """The cache's client, with a pending version bump sent first; None while it is off."""
    if _ttl_ms() <= 0 or not _redis.usable():
        return None
    conn = _redis.conn()
    if _state["bump_pending"]:
        _bump(conn, EVERYTHING)  # which caregivers the failed bump was for is not kept
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
        from app.marketplace.live_index import live_index

        if live_index.serves_without_lookup():
            # the index answers at once: nothing to look up in Redis, but a query string this
            # process answered a moment ago for the same data is answered again as it was
            return page_memo.answer(view, args, kwargs)
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
                return Response(raw, mimetype="application/json",
                                headers={"X-Search-Source": "cache"})
        today, now = local_today(), time.monotonic()
        response = page_memo.remember(view(*args, **kwargs), today, now)
        if (conn is not None and isinstance(response, Response) and response.status_code == 200
                and g.get("search_source") != "index"):
            try:
                conn.set(_key("raw", version, digest), response.get_data(), px=_ttl_ms())
            except redis.RedisError as exc:
                _redis.failed("caregiver search cache write", exc)
        return response
    return wrapper


class PageMemo:
    """The pages this process answered from its index, by raw query string, each kept for the
    search-data version and epoch and the local date it was computed for and at most
    CAREGIVER_SEARCH_CACHE_SECONDS, as the Redis cache keeps them: the same string asked again
    costs a dict lookup instead of a parse and a search. A page is kept under the version the
    index answered it for, which is exactly the data it shows. At most MEMO_BYTES per process,
    counting each entry's query string, body and ENTRY_BYTES of bookkeeping (so long query
    strings with tiny pages cannot grow it either), the oldest dropped first."""

    MEMO_BYTES = 16 * 1024 * 1024
    ENTRY_BYTES = 256

    def __init__(self):
        self._pages: dict[bytes, tuple] = {}  # query string → (known, today, expires, body)
        self._bytes = 0
        self._lock = threading.Lock()

    def answer(self, view, args, kwargs):
        known, today, now = version_watch.current(), local_today(), time.monotonic()
        query_string = request.query_string
        entry = self._pages.get(query_string)
        if entry is not None and entry[:2] == (known, today) and entry[2] > now:
            return Response(entry[3], mimetype="application/json",
                            headers={"X-Search-Source": "memo"})
        return self.remember(view(*args, **kwargs), today, now)

    def remember(self, response, today, now):
        """Keep a 200 page the index answered, under the version it answered for (a patch in
        the request may have moved it past what the watch knew before)."""
        if (isinstance(response, Response) and response.status_code == 200
                and g.get("search_source") == "index"):
            self._keep(request.query_string, (g.search_version, today,
                                              now + _ttl_ms() / 1000, response.get_data()))
        return response

    def _size(self, query_string: bytes, entry: tuple) -> int:
        return len(query_string) + len(entry[3]) + self.ENTRY_BYTES

    def _keep(self, query_string: bytes, entry: tuple) -> None:
        with self._lock:
            old = self._pages.pop(query_string, None)
            if old is not None:
                self._bytes -= self._size(query_string, old)
            self._pages[query_string] = entry
            self._bytes += self._size(query_string, entry)
            while self._bytes > self.MEMO_BYTES and self._pages:
                oldest = next(iter(self._pages))
                self._bytes -= self._size(oldest, self._pages.pop(oldest))

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()
            self._bytes = 0


page_memo = PageMemo()


def _bump(conn, changed: str) -> None:
    version, epoch = _script(conn, _BUMP)(
        keys=[EPOCH_KEY, VERSION_KEY, CHANGES_KEY, BUMPS_CHANNEL],
        args=[os.urandom(8).hex(), changed, CHANGES_KEPT])
    version_watch.advance(int(version), _text(epoch))  # this process knows at once


def bump_version(changed=EVERYTHING) -> None:
    """Make every cached search page unreachable, recording which caregivers changed (ids, or
    EVERYTHING). Always tried, even while Redis is considered down; a failure is retried
    before the next cached read."""
    if changed != EVERYTHING:
        changed = ",".join(str(i) for i in sorted(changed)) if changed else EVERYTHING
    try:
        _bump(_redis.conn(), changed)
        _state["bump_pending"] = False
    except redis.RedisError as exc:
        _state["bump_pending"] = True
        _redis.failed("caregiver search cache version bump", exc)


class VersionWatch:
    """The search-data version as this process knows it without a Redis round trip per search:
    a thread subscribed to BUMPS_CHANNEL (every bump publishes "version:epoch") that also reads
    the version and epoch every POLL_SECONDS, for a lost message or a flushed Redis (which
    gets a new epoch there and then). A commit
    made in this process is known at once (bump_version); one made elsewhere as soon as its
    message is read, normally well under a millisecond. While the thread is not subscribed,
    current() is None and searches read the version from Redis themselves."""

    POLL_SECONDS = 1.0

    def __init__(self):
        self._known: tuple[int, str] | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.subscribed = False

    def current(self) -> tuple[int, str] | None:
        return self._known if self.subscribed else None

    def advance(self, version: int, epoch: str | None) -> None:
        """Never backwards within an epoch (a poll may read an older value than a message
        just handled); a new epoch replaces it; no epoch (a flushed Redis) forgets it."""
        with self._lock:
            known = self._known
            if epoch is None:
                self._known = None
            elif known is None or known[1] != epoch or version > known[0]:
                self._known = (version, epoch)

    def stop(self) -> None:
        """End the thread (tests); current() is None afterwards."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        self.subscribed = False
        self._known = None

    def start(self, app) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(app,), daemon=True,
                                        name="caregiver-search-version")
        self._thread.start()

    def _run(self, app) -> None:
        with app.app_context():
            client = _redis.conn()
            kwargs = {**client.connection_pool.connection_kwargs, "socket_timeout": None}
            conn = redis.Redis(connection_pool=redis.ConnectionPool(
                connection_class=client.connection_pool.connection_class, **kwargs))
        while not self._stop.is_set():
            pubsub = conn.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(BUMPS_CHANNEL)
                next_poll = 0.0
                while not self._stop.is_set():
                    if time.monotonic() >= next_poll:
                        conn.set(EPOCH_KEY, os.urandom(8).hex(), nx=True)  # a new history
                        version, epoch = conn.mget(VERSION_KEY, EPOCH_KEY)
                        self.advance(int(version or 0), None if epoch is None else _text(epoch))
                        self.subscribed = True  # subscribed before that read: nothing missed
                        next_poll = time.monotonic() + self.POLL_SECONDS
                    # a short wait on the socket (no Redis command): stop() is heard quickly
                    message = pubsub.get_message(timeout=min(self.POLL_SECONDS, 0.25))
                    if message and message.get("type") == "message":
                        version, _, epoch = _text(message["data"]).partition(":")
                        self.advance(int(version), epoch)
            except (redis.RedisError, OSError, ValueError) as exc:
                self.subscribed = False
                log.warning("caregiver search version watch lost Redis (%s); retrying", exc)
                self._stop.wait(self.POLL_SECONDS)
            finally:
                try:
                    pubsub.close()
                except (redis.RedisError, OSError):
                    pass
        self.subscribed = False


version_watch = VersionWatch()


# ---- what a transaction touched --------------------------------------------------------------

def _mark(session, table_name: str | None, caregiver_ids=()):
    """Note a change of `table_name` for `caregiver_ids` (None: everyone)."""
    if table_name not in SEARCH_TABLES:
        return
    session.info.setdefault(_TOUCHED, set()).add(table_name)
    changed = session.info.setdefault(_CHANGED, set())
    if changed is EVERYTHING:
        return
    if caregiver_ids is None or table_name in _RELOAD_TABLES:
        session.info[_CHANGED] = EVERYTHING
        return
    changed.update(i for i in caregiver_ids if i is not None)
    session.info[_CHANGED] = EVERYTHING if len(changed) > CHANGED_IDS_MAX else changed


def _caregiver_of(obj):
    """The caregiver id an ORM object of a search table belongs to."""
    if _table_of(obj) == "caregivers":
        return getattr(obj, "id", None)
    return getattr(obj, "caregiver_id", None)


def _table_of(obj) -> str | None:
    table = getattr(type(obj), "__table__", None)
    return getattr(table, "name", None)


@event.listens_for(db.session, "after_flush")
def _after_flush(session, _flush_context):
    for obj in session.new:
        name = _table_of(obj)
        if name != "users":  # a new user is nobody's caregiver yet
            _mark(session, name, (_caregiver_of(obj),))
    for obj in session.deleted:
        _mark(session, _table_of(obj), (_caregiver_of(obj),))
    for obj in session.dirty:
        name = _table_of(obj)
        if name not in SEARCH_TABLES or not session.is_modified(obj):
            continue
        if name == "users":
            state = inspect(obj)
            if not any(state.attrs[c].history.has_changes() for c in _USER_COLUMNS):
                continue
        ids = [_caregiver_of(obj)]
        moved = inspect(obj).attrs.get("caregiver_id") if name != "caregivers" else None
        if moved is not None:  # a row moved to another caregiver changes both
            ids += list(moved.history.deleted or ())
        _mark(session, name, ids)


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
    if name not in SEARCH_TABLES:
        return
    if name == "users":
        if orm_execute_state.is_insert:
            return
        columns = _dml_columns(orm_execute_state) if orm_execute_state.is_update else None
        if columns is not None and not (columns & _USER_COLUMNS):
            return
    _mark(orm_execute_state.session, name, _bulk_caregiver_ids(orm_execute_state, table))


def _bulk_caregiver_ids(orm_execute_state, table) -> list | None:
    """The caregivers a bulk statement on `table` changes, or None (everyone / cannot tell).
    INSERT: the caregiver_id of each parameter row; UPDATE / DELETE: read with the
    statement's WHERE clause just before it runs, in the same transaction."""
    key = "id" if table.name == "caregivers" else "caregiver_id"
    if key not in table.c:
        return None
    if orm_execute_state.is_insert:
        if table.name == "caregivers":
            return None  # new rows, ids not known yet
        parameters = orm_execute_state.parameters
        rows = parameters if isinstance(parameters, list) else [parameters or {}]
        ids = [row.get(key) if isinstance(row, dict) else None for row in rows]
        return None if not ids or None in ids else ids
    where = orm_execute_state.statement.whereclause
    if where is None or isinstance(orm_execute_state.parameters, list):
        return None
    connection = orm_execute_state.session.connection()
    ids = connection.execute(select(table.c[key]).distinct().where(where)
                             .limit(CHANGED_IDS_MAX + 1),
                             orm_execute_state.parameters or {}).scalars().all()
    return None if len(ids) > CHANGED_IDS_MAX else ids


@event.listens_for(db.session, "after_commit")
def _after_commit(session):
    changed = session.info.pop(_CHANGED, EVERYTHING)
    if session.info.pop(_TOUCHED, None):
        bump_version(changed)


@event.listens_for(db.session, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    if previous_transaction.parent is None:  # the whole transaction, not a savepoint
        session.info.pop(_TOUCHED, None)
        session.info.pop(_CHANGED, None)
