"""Slots without oversell.

The database decides: a slot is taken only by `UPDATE schedules SET available = available - 1
WHERE id = ? AND available > 0 AND status = 'open'`, and given back by the mirror update.

For hot releases a Redis gate holds each schedule's remaining count and turns the surplus
away before it reaches the database (one Lua call, no DB write). The gate is only a filter:
it is built from the database when missing, rebuilt from it by cron, set to 0 when the database
says sold out, and when Redis fails the booking simply takes the database path.
"""
import logging
import time

import redis
from flask import current_app
from sqlalchemy import update

from app.common.redis_client import quick_retry
from app.extensions import db, redis_client
from app.hospitals.models import Schedule

log = logging.getLogger("app.booking.slots")
GATE_TTL_SECONDS = 6 * 3600

# KEYS[1] gate key. Returns 1 taken, 0 sold out, -1 no gate yet.
_TAKE = """
local remaining = redis.call('GET', KEYS[1])
if not remaining then return -1 end
if tonumber(remaining) <= 0 then return 0 end
redis.call('DECR', KEYS[1])
return 1
"""
# give a token back only to a gate that exists (a missing gate is rebuilt from the DB)
_GIVE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
return -1
"""


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


class Gate:
    """The Redis gate. Every method answers None when the gate cannot be used (disabled or
    Redis failing): the caller then relies on the database alone.

    A sold-out answer is also remembered in this process for BOOKING_GATE_LOCAL_SECONDS (1 s),
    so the flood after a sell-out costs no Redis round trip either; a slot given back becomes
    bookable again within that second.
    """

    def __init__(self):
        self._sold_out_until: dict[int, float] = {}

    def _conn(self):
        if not current_app.config["BOOKING_GATE_ENABLED"]:
            return None
        app = current_app._get_current_object()
        conn = app.extensions.get("booking_gate_redis")
        if conn is None:
            url = app.config.get("BOOKING_GATE_REDIS_URL")
            conn = (redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                         retry=quick_retry()) if url else redis_client.conn)
            app.extensions["booking_gate_redis"] = conn
        return conn

    @staticmethod
    def key(schedule_id: int) -> str:
        return f"booking:gate:{schedule_id}"

    def _run(self, script, schedule_id):
        conn = self._conn()
        if conn is None:
            return None
        try:
            return int(conn.eval(script, 1, self.key(schedule_id)))
        except redis.RedisError as exc:
            log.warning("gate unavailable (%s); database path", exc)
            return None

    def is_sold_out(self, schedule_id: int) -> bool:
        """Cheap early answer for the flood after a sell-out (no DB work at all)."""
        conn = self._conn()
        if conn is None:
            return False
        if self._sold_out_until.get(schedule_id, 0) > time.monotonic():
            return True
        try:
            value = conn.get(self.key(schedule_id))
        except redis.RedisError:
            return False
        sold_out = value is not None and int(value) <= 0
        if sold_out:
            self._remember_sold_out(schedule_id)
        return sold_out

    def _remember_sold_out(self, schedule_id: int):
        seconds = current_app.config["BOOKING_GATE_LOCAL_SECONDS"]
        if seconds:
            if len(self._sold_out_until) > 10000:  # bounded: forget expired entries
                now = time.monotonic()
                self._sold_out_until = {k: v for k, v in self._sold_out_until.items() if v > now}
            self._sold_out_until[schedule_id] = time.monotonic() + seconds

    def take(self, schedule_id: int):
        """True: go on to the database; False: sold out; None: no gate, use the database."""
        outcome = self._run(_TAKE, schedule_id)
        if outcome == -1:
            self.rebuild(schedule_id)
            outcome = self._run(_TAKE, schedule_id)
        if outcome is None or outcome == -1:
            return None
        if outcome == 0:
            self._remember_sold_out(schedule_id)
        return outcome == 1

    def give_back(self, schedule_id: int):
        self._sold_out_until.pop(schedule_id, None)
        self._run(_GIVE, schedule_id)

    def set_sold_out(self, schedule_id: int):
        conn = self._conn()
        if conn is not None:
            try:
                conn.set(self.key(schedule_id), 0, ex=GATE_TTL_SECONDS)
            except redis.RedisError:
                pass

    def rebuild(self, schedule_id: int, overwrite=False):
        """Set the gate from the database's count (only where missing unless overwrite)."""
        conn = self._conn()
        if conn is None:
            return None
        available = db.session.query(Schedule.available).filter(
            Schedule.id == schedule_id, Schedule.status == "open").scalar()
        try:
            conn.set(self.key(schedule_id), available or 0, ex=GATE_TTL_SECONDS,
                     nx=not overwrite)
        except redis.RedisError:
            return None
        return available or 0

    def forget(self, schedule_id: int):
        conn = self._conn()
        if conn is not None:
            try:
                conn.delete(self.key(schedule_id))
            except redis.RedisError:
                pass


gate = Gate()
