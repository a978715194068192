"""Retry a use case once when MariaDB/MySQL picks its transaction as a deadlock victim.

Every use case that locks several rows takes them in one order (docs/locking.md):
schedule (or caregiver) → order → payment → refund. That makes deadlocks rare, not
impossible (InnoDB also locks index gaps), so the outermost service of a request or job is
wrapped in `retry_deadlock`: on error 1213 the session is rolled back and the whole use case
runs again, once. Nested wrapped services do not retry on their own (the outer one owns the
transaction). SQLite never deadlocks here: every transaction begins IMMEDIATE.
"""
import functools
import logging
from contextvars import ContextVar

from sqlalchemy.exc import DBAPIError

from app.extensions import db

log = logging.getLogger("app.deadlock")
MYSQL_DEADLOCK = 1213
_inside: ContextVar[bool] = ContextVar("retry_deadlock_inside", default=False)


def is_deadlock(error: BaseException) -> bool:
    orig = getattr(error, "orig", None)
    args = getattr(orig, "args", None) or ()
    return isinstance(error, DBAPIError) and bool(args) and args[0] == MYSQL_DEADLOCK


def retry_deadlock(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if _inside.get():
            return function(*args, **kwargs)
        token = _inside.set(True)
        try:
            try:
                return function(*args, **kwargs)
            except DBAPIError as error:
                if not is_deadlock(error):
                    raise
                db.session.rollback()
                log.warning("deadlock in %s; retrying once", function.__qualname__)
                return function(*args, **kwargs)
        finally:
            _inside.reset(token)
    return wrapper
