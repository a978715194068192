"""Slots without oversell.

The database decides: a slot is taken only by `UPDATE schedules SET available = available - 1
WHERE id = ? AND available > 0 AND status = 'open'`, and given back by the mirror update.

For hot releases a Redis gate holds each schedule's remaining count and turns the surplus
away before it reaches the database (one Lua call, no DB write). The gate is only a filter and
it heals itself within seconds in both directions, the cron rebuild being the last resort:

- over-count (the gate lets through a seat the database no longer has: a rebuild read the
  count before a booking committed, a FLUSHDB, ...): the database's conditional update refuses
  it, and that refusal sets the gate to 0; the token is not given back.
- under-count (the gate says sold out while the database has a seat: a give-back lost after
  its commit, a process that died between the decrement and the commit, a rebuild or a
  sold-out mark that overwrote a give-back): while the gate answers sold out, one request per
  schedule per BOOKING_GATE_RECHECK_SECONDS (a Redis SET NX lease, across every process and
  host) reads the database and reopens the gate with what is really free.

"Really free" is the database's count minus the tokens in flight (taken at the gate, not yet
committed or rolled back), which each take records with its time in a sorted set; a token
older than BOOKING_GATE_INFLIGHT_SECONDS is taken for lost (its process died), so a crashed
request holds its seat in the gate that long at most. A wrong guess either way is cheap: a
seat counted twice is cut by the database (above), a seat missed is found by the next
re-check.

A sold-out answer is remembered in each process for BOOKING_GATE_LOCAL_SECONDS (never longer
than the re-check interval), so the flood after a sell-out costs no Redis round trip either.
The longest a sold-out answer can stand while the database has a seat is therefore about
INFLIGHT + RECHECK + LOCAL seconds (1.5 + 1 + 0.5 by default). When Redis fails, booking takes
the database path.
"""
import functools
import logging
import os
import time

import redis
from flask import current_app, request
from sqlalchemy import update

from app.common.redis_client import quick_retry
from app.extensions import db, redis_client
from app.hospitals.models import Schedule

log = logging.getLogger("app.booking.slots")
GATE_TTL_SECONDS = 6 * 3600

# KEYS gate, recheck lease; ARGV lease ms.
# -1 no gate yet, 1 open, 0 sold out, 2 sold out and the caller holds the re-check lease.
_PEEK = """
local remaining = redis.call('GET', KEYS[1])
if not remaining then return -1 end
if tonumber(remaining) > 0 then return 1 end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 2 end
return 0
"""
# KEYS gate, in-flight set; ARGV token, in-flight set TTL s. -1 no gate yet, 0 sold out, 1 taken.
_TAKE = """
local remaining = redis.call('GET', KEYS[1])
if not remaining then return -1 end
if tonumber(remaining) <= 0 then return 0 end
redis.call('DECR', KEYS[1])
local now = redis.call('TIME')
redis.call('ZADD', KEYS[2], now[1] * 1000 + math.floor(now[2] / 1000), ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return 1
"""
# KEYS gate, in-flight set; ARGV token ('' for a seat released by a cancel or close).
# A seat goes back only to a gate that exists (a missing gate is rebuilt from the database).
_GIVE = """
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return -1
"""
# KEYS gate, in-flight set; ARGV token. The database refused: the gate said a seat too many.
_SOLD_OUT = """
if ARGV[1] ~= '' then redis.call('ZREM', KEYS[2], ARGV[1]) end
redis.call('SET', KEYS[1], 0, 'EX', ARGV[2])
return 0
"""
# KEYS gate, in-flight set; ARGV database count, in-flight window ms, gate TTL s, mode.
# mode 'reopen': only a gate at 0 (or missing) is raised; 'missing': only a missing gate is
# set; 'overwrite': always. The gate becomes the database's count minus the tokens in flight.
_SET_FROM_DB = """
local now = redis.call('TIME')
now = now[1] * 1000 + math.floor(now[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
local current = redis.call('GET', KEYS[1])
if ARGV[4] == 'missing' and current then return tonumber(current) end
if ARGV[4] == 'reopen' and current and tonumber(current) > 0 then return tonumber(current) end
local free = tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[2])
if free < 0 then free = 0 end
redis.call('SET', KEYS[1], free, 'EX', ARGV[3])
return free
"""
_SCRIPTS = {"peek": _PEEK, "take": _TAKE, "give": _GIVE, "sold_out": _SOLD_OUT,
            "set_from_db": _SET_FROM_DB}


def take_in_database(schedule_id: int) -> bool:
    result = db.session.execute(
        update(Schedule).where(Schedule.id == schedule_id, Schedule.available > 0,
                               Schedule.status == "open")
        .values(available=Schedule.available - 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


def give_back_in_database(schedule_id: int) -> bool:
    result = db.session.execute(
        update(Schedule).where(Schedule.id == schedule_id, Schedule.available < Schedule.total)
        .values(available=Schedule.available + 1).execution_options(synchronize_session=False))
    return result.rowcount == 1


def issue_visit_number(schedule_id: int) -> int:
    db.session.execute(update(Schedule).where(Schedule.id == schedule_id)
                       .values(numbers_issued=Schedule.numbers_issued + 1)
                       .execution_options(synchronize_session=False))
    return db.session.query(Schedule.numbers_issued).filter(Schedule.id == schedule_id).scalar()


def free_in_database(schedule_id: int) -> int:
    available = db.session.query(Schedule.available).filter(
        Schedule.id == schedule_id, Schedule.status == "open").scalar()
    return max(available or 0, 0)


class Gate:
    """The Redis gate. Every method degrades to "no gate" when the gate cannot be used
    (disabled or Redis failing): the caller then relies on the database alone.

    A booking's way through: `is_sold_out` (cheap early answer, may re-check the database),
    `take` (a ticket, False when sold out, None without a gate), then after the database
    answered exactly one of `settle` (committed), `return_ticket` (rolled back) or
    `mark_sold_out` (the database had none left).
    """

    def __init__(self):
        self._sold_out_until: dict[int, float] = {}

    def _conn(self):
        """(connection, scripts) or None."""
        if not current_app.config["BOOKING_GATE_ENABLED"]:
            return None
        app = current_app._get_current_object()
        bound = app.extensions.get("booking_gate_redis")
        if bound is None:
            url = app.config.get("BOOKING_GATE_REDIS_URL")
            conn = (redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                         retry=quick_retry()) if url else redis_client.conn)
            bound = (conn, {name: conn.register_script(text) for name, text in _SCRIPTS.items()})
            app.extensions["booking_gate_redis"] = bound
        return bound

    @staticmethod
    def key(schedule_id: int) -> str:
        return f"booking:gate:{schedule_id}"

    def _run(self, name, schedule_id, *args, lease=False):
        bound = self._conn()
        if bound is None:
            return None
        key = self.key(schedule_id)
        keys = [key, key + (":recheck" if lease else ":inflight")]
        try:
            return int(bound[1][name](keys=keys, args=args))
        except redis.RedisError as exc:
            log.warning("gate unavailable (%s); database path", exc)
            return None

    # --------------------------------------------------------------- settings, local memory

    @staticmethod
    def _seconds(name):
        return float(current_app.config[name])

    def _local_seconds(self):
        # a process must not remember "sold out" longer than the gate takes to re-check
        return min(self._seconds("BOOKING_GATE_LOCAL_SECONDS"),
                   self._seconds("BOOKING_GATE_RECHECK_SECONDS"))

    def _remember_sold_out(self, schedule_id: int):
        seconds = self._local_seconds()
        if seconds > 0:
            now = time.monotonic()
            if len(self._sold_out_until) > 10000:  # bounded: forget expired entries
                self._sold_out_until = {k: v for k, v in self._sold_out_until.items() if v > now}
            self._sold_out_until[schedule_id] = now + seconds

    def _forget_sold_out(self, schedule_id: int):
        self._sold_out_until.pop(schedule_id, None)

    # ------------------------------------------------------------------------- booking path

    def is_sold_out(self, schedule_id: int) -> bool:
        """Cheap early answer for the flood after a sell-out (no database work at all), except
        that one caller per schedule per re-check interval reads the database and reopens the
        gate if it has seats (the under-count heals)."""
        if not current_app.config["BOOKING_GATE_ENABLED"]:
            return False
        if self._sold_out_until.get(schedule_id, 0) > time.monotonic():
            _gate_hit("check", "turned_away")
            return True
        lease_ms = max(int(self._seconds("BOOKING_GATE_RECHECK_SECONDS") * 1000), 1)
        outcome = self._run("peek", schedule_id, lease_ms, lease=True)
        if outcome == 2:
            free = free_in_database(schedule_id)
            if free > 0:
                reopened = self.set_from_database(schedule_id, free, "reopen")
                if reopened:
                    log.info("gate %s reopened at %s (the database had seats)", schedule_id,
                             reopened)
                    self._forget_sold_out(schedule_id)
                    return False
            outcome = 0
        if outcome == 0:
            self._remember_sold_out(schedule_id)
            _gate_hit("check", "turned_away")
            return True
        return False

    def take(self, schedule_id: int):
        """A ticket (go on to the database), False (sold out) or None (no gate: database)."""
        ticket = os.urandom(8).hex()
        ttl = max(int(self._seconds("BOOKING_GATE_INFLIGHT_SECONDS") * 4), 60)
        outcome = self._run("take", schedule_id, ticket, ttl)
        if outcome == -1:
            self.rebuild(schedule_id)
            outcome = self._run("take", schedule_id, ticket, ttl)
        if outcome is None or outcome == -1:
            return None
        if outcome == 0:
            self._remember_sold_out(schedule_id)
            _gate_hit("take", "turned_away")
            return False
        _gate_hit("take", "passed")
        return ticket

    def settle(self, schedule_id: int, ticket):
        """The booking committed: its ticket is no longer in flight."""
        bound = self._conn()
        if ticket and bound is not None:
            try:
                bound[0].zrem(self.key(schedule_id) + ":inflight", ticket)
            except redis.RedisError:
                pass  # it ages out of the in-flight window

    def return_ticket(self, schedule_id: int, ticket):
        """The booking rolled back before taking the seat in the database."""
        if ticket:
            self._run("give", schedule_id, ticket)

    def mark_sold_out(self, schedule_id: int, ticket):
        """The database had none left although the gate let this one through: set the gate to
        0 and keep the ticket (giving it back would keep counting a seat that is not there)."""
        if ticket:
            self._remember_sold_out(schedule_id)
            self._run("sold_out", schedule_id, ticket, GATE_TTL_SECONDS)

    # ---------------------------------------------------------------- outside a booking

    def give_back(self, schedule_id: int):
        """A seat came back in the database (cancel, close), after its commit."""
        self._forget_sold_out(schedule_id)
        self._run("give", schedule_id, "")

    def set_sold_out(self, schedule_id: int):
        """The schedule cannot be booked any more (停诊)."""
        self._run("sold_out", schedule_id, "", GATE_TTL_SECONDS)

    def set_from_database(self, schedule_id: int, free: int, mode: str):
        window_ms = int(self._seconds("BOOKING_GATE_INFLIGHT_SECONDS") * 1000)
        return self._run("set_from_db", schedule_id, free, window_ms, GATE_TTL_SECONDS, mode)

    def rebuild(self, schedule_id: int, overwrite=False):
        """Set the gate from the database's count (only where missing unless overwrite)."""
        if self._conn() is None:
            return None
        free = free_in_database(schedule_id)
        result = self.set_from_database(schedule_id, free, "overwrite" if overwrite
                                        else "missing")
        if overwrite:
            self._forget_sold_out(schedule_id)
        return result

    def forget(self, schedule_id: int):
        bound = self._conn()
        if bound is not None:
            key = self.key(schedule_id)
            try:
                bound[0].delete(key, key + ":inflight", key + ":recheck")
            except redis.RedisError:
                pass


gate = Gate()


def _gate_hit(step: str, result: str) -> None:
    """/metrics: the gate's answers (app/observability/metrics.py; never raises)."""
    from app.observability.metrics import GATE_HITS, count
    count(GATE_HITS, step, result)


_ID_LIMIT = 2 ** 31


def sold_out_first(view):
    """Booking view decorator, outside login_required: a well-formed booking of a schedule the
    gate knows is sold out is answered before the caller's principal is looked up (and before
    the body schema runs), so the flood after a sell-out costs one JWT check and no database
    or Redis round trip per user. The token must still be a valid, unexpired user token (401
    otherwise); it is not checked against revocation, because the answer changes nothing and
    tells only what the public calendar shows. Anything else takes the normal path."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        try:
            body = request.get_json(silent=True) if request.is_json else None
        except Exception:  # whatever the parser refuses, the normal path answers properly
            body = None
        if isinstance(body, dict) and body.keys() == {"schedule_id", "patient_id"} and all(
                type(value) is int and 0 < value < _ID_LIMIT for value in body.values()):
            sold_out = gate.is_sold_out(body["schedule_id"])
            # a re-check read the database: end that transaction before the guards run (on
            # SQLite it holds the write lock, and the principal is read on another connection)
            if db.session.registry.has():
                db.session.rollback()
            if sold_out:
                _refuse_sold_out()  # counted as a booking refused (slot_sold_out) inside
        return view(*args, **kwargs)
    return wrapper


def _refuse_sold_out():
    """401 unless the caller holds a valid user token; else 409 slot_sold_out."""
    from app.booking.services import SlotSoldOut
    from app.common.auth import TokenInvalid, _bearer_token, _decode

    claims = _decode(_bearer_token())
    if claims["knd"] != "user":
        raise TokenInvalid()
    from app.observability.metrics import BOOKING_OUTCOMES, count
    count(BOOKING_OUTCOMES, SlotSoldOut.code)
    raise SlotSoldOut()
