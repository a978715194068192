"""Read-through caches for the public catalogue, in Redis under "cache:".

Two kinds, with different promises:

- The catalogue (hospital list pages, hospital details with their department tree, doctor
  details) changes only when staff edit it. Entries live CATALOGUE_CACHE_SECONDS (60 s) under a
  generation number; `invalidate_catalogue()` bumps the generation, so every entry written
  before a staff change is unreachable at once (an entry a concurrent reader writes late lands
  under the old generation and is never read).
- Schedule counts (the per-department, per-day aggregates of the calendar and the day lists)
  change with every booking. Entries live at most HOT_READ_CACHE_SECONDS (1 s): the database is
  the truth and the API may lag it by that much at most. One key per (department, day), so a
  booking can drop exactly the keys its schedule feeds: `invalidate_schedule_counts(schedule)`.

Values are JSON. Redis failing (down, timing out) never fails a read: the value is computed
from the database and the failure is logged at warning. The cache talks to the app's Redis
through its own client without retries and with short timeouts (the app client retries for
seconds, far too long for an optional cache), and after a failure leaves Redis alone for
RETRY_AFTER_SECONDS (app/common/optional_redis.py). A catalogue invalidation that failed is
retried before the next cached read, so a staff change made during an outage is not hidden once Redis is back.
"""
import hashlib
import json
import logging
from datetime import date

import redis
from flask import current_app

from app.common.optional_redis import OptionalRedis

log = logging.getLogger("app.hospitals.cache")

PREFIX = "cache:"
CATALOGUE_GENERATION_KEY = PREFIX + "catalogue:gen"

_state = {"catalogue_invalidation_pending": False}
_redis = OptionalRedis("hospitals_cache")


def _catalogue_ttl_ms() -> int:
    seconds = float(current_app.config["CATALOGUE_CACHE_SECONDS"])
    from app.common import replica
    if replica.configured():
        # an entry filled from a lagging replica right after a staff change would otherwise
        # show the old catalogue for the whole TTL under the new generation
        seconds = min(seconds, float(current_app.config.get("READ_REPLICA_CACHE_SECONDS", 5)))
    return int(seconds * 1000)


def _counts_ttl_ms() -> int:
    # never more than a second or two behind the database, whatever the configuration says
    return int(min(float(current_app.config["HOT_READ_CACHE_SECONDS"]), 2.0) * 1000)


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))





def reset() -> None:
    """Forget a recorded Redis failure (tests; an operator after fixing Redis)."""
    _redis.reset()


# ---- catalogue -------------------------------------------------------------------------------

def catalogue_key_part(*parts) -> str:
    """A short stable key part for arbitrary parameters (keywords may be any text)."""
    return hashlib.sha1(_dumps(parts).encode()).hexdigest()


def cached_catalogue(name: str, compute):
    """compute() through the catalogue cache; `name` identifies the value within a generation."""
    ttl = _catalogue_ttl_ms()
    if ttl <= 0 or not _redis.usable():
        return compute()
    try:
        conn = _redis.conn()
        if _state["catalogue_invalidation_pending"]:
            conn.incr(CATALOGUE_GENERATION_KEY)
            _state["catalogue_invalidation_pending"] = False
        generation = int(conn.get(CATALOGUE_GENERATION_KEY) or 0)
        key = f"{PREFIX}catalogue:{generation}:{name}"
        raw = conn.get(key)
    except redis.RedisError as exc:
        _redis.failed("catalogue cache read", exc)
        return compute()
    if raw is not None:
        try:
            return json.loads(raw)
        except ValueError:
            log.warning("catalogue cache entry %s is not JSON; recomputing", key)
    value = compute()
    try:
        conn.set(key, _dumps(value), px=ttl)
    except redis.RedisError as exc:
        _redis.failed("catalogue cache write", exc)
    return value


def invalidate_catalogue() -> None:
    """After a staff change to hospitals, departments or doctors (call after the commit).
    Always tried, even while Redis is considered down; if it fails it is retried before the
    next cached read."""
    try:
        _redis.conn().incr(CATALOGUE_GENERATION_KEY)
        _state["catalogue_invalidation_pending"] = False
    except redis.RedisError as exc:
        _state["catalogue_invalidation_pending"] = True
        _redis.failed("catalogue cache invalidation", exc)


# ---- schedule counts -------------------------------------------------------------------------

def aggregate_key(department_id: int, day: date) -> str:
    """A department's own schedules on a day, summed: the calendar's building block."""
    return f"{PREFIX}counts:agg:{department_id}:{day.isoformat()}"


def day_key(department_id: int, day: date) -> str:
    """A department's own schedules on a day, one row each: the day list's building block."""
    return f"{PREFIX}counts:day:{department_id}:{day.isoformat()}"


def cached_counts(keys: list[str], compute_missing) -> dict:
    """{key: value} for every key; compute_missing(missing_keys) -> {key: value} fills the keys
    the cache does not hold (one MGET, one database round for all of them, one pipelined write)."""
    ttl = _counts_ttl_ms()
    if not keys:
        return {}
    if ttl <= 0 or not _redis.usable():
        return compute_missing(list(keys))
    try:
        conn = _redis.conn()
        raws = conn.mget(keys)
    except redis.RedisError as exc:
        _redis.failed("schedule count cache read", exc)
        return compute_missing(list(keys))
    found, missing = {}, []
    for key, raw in zip(keys, raws):
        value = None
        if raw is not None:
            try:
                value = json.loads(raw)
            except ValueError:
                log.warning("schedule count cache entry %s is not JSON; recomputing", key)
        if value is None:
            missing.append(key)
        else:
            found[key] = value
    if missing:
        computed = compute_missing(missing)
        try:
            pipe = conn.pipeline(transaction=False)
            for key in missing:
                pipe.set(key, _dumps(computed[key]), px=ttl)
            pipe.execute()
        except redis.RedisError as exc:
            _redis.failed("schedule count cache write", exc)
        found.update({key: computed[key] for key in missing})
    return found


def invalidate_counts(department_id: int, day: date) -> None:
    """Drop one department's cached counts for one day. Needs no database; never raises.
    Skipped while Redis is considered down (the entries expire within a second anyway)."""
    if not _redis.usable():
        return
    try:
        _redis.conn().delete(aggregate_key(department_id, day), day_key(department_id, day))
    except redis.RedisError as exc:
        _redis.failed("schedule count cache invalidation", exc)


def invalidate_schedule_counts(schedule) -> None:
    """Drop the cached counts a schedule feeds: its department's calendar and day list for its
    date (a top-level department's views are assembled from these same keys). Call it once the
    change to `available`, `total` or `status` has committed. Never raises; without it the API
    still catches up within HOT_READ_CACHE_SECONDS.

    `schedule` is a Schedule or a schedule id. A loaded Schedule costs no database read; an id
    (or an expired Schedule, as every object is after a commit) is looked up: in the caller's
    transaction if one is open, else, inside an after-commit hook where the session cannot
    emit SQL, on a connection of its own. Cheapest of all, when the department and date are at
    hand: `invalidate_counts(department_id, work_date)`."""
    try:
        where = _schedule_place(schedule)
    except Exception as exc:  # a cache purge must never break the caller
        log.warning("schedule count cache invalidation skipped (%s)", exc)
        return
    if where is not None:
        invalidate_counts(*where)


def _schedule_place(schedule):
    from sqlalchemy import inspect, select
    from sqlalchemy.exc import InvalidRequestError

    from app.extensions import db
    from app.hospitals.models import Schedule

    if isinstance(schedule, Schedule):
        loaded = inspect(schedule).dict
        if loaded.get("department_id") is not None and loaded.get("work_date") is not None:
            return loaded["department_id"], loaded["work_date"]
        schedule = inspect(schedule).identity[0]
    query = select(Schedule.department_id, Schedule.work_date).where(Schedule.id == int(schedule))
    try:
        row = db.session.execute(query).first()
    except InvalidRequestError:  # in after_commit: this session may not emit SQL any more
        with db.engine.connect() as connection:
            row = connection.execute(query).first()
            connection.rollback()
    return None if row is None else (row[0], row[1])
