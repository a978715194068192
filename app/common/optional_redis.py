"""The Redis side of an optional cache: a fail-fast client on the app's Redis server and
database (no retries, half-second timeouts: the app's own client retries for seconds, far too
long for something the database can answer instead), and a short memory of a failure so that
an outage costs one timeout per RETRY_AFTER_SECONDS rather than one per request."""
import logging
import time

import redis
from flask import current_app
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.extensions import redis_client

SOCKET_TIMEOUT_SECONDS = 0.5
RETRY_AFTER_SECONDS = 2.0


class OptionalRedis:
    def __init__(self, name: str):
        self.name = name
        self.log = logging.getLogger(f"app.{name}")
        self.down_until = 0.0

    def conn(self) -> redis.Redis:
        source = redis_client.conn
        key = f"{self.name}_redis"
        entry = current_app.extensions.get(key)
        if entry is None or entry[0] is not source:  # rebuilt when the app's client changes
            pool = source.connection_pool
            kwargs = {**pool.connection_kwargs, "retry": Retry(NoBackoff(), 0),
                      "socket_timeout": SOCKET_TIMEOUT_SECONDS,
                      "socket_connect_timeout": SOCKET_TIMEOUT_SECONDS}
            fast = redis.Redis(connection_pool=redis.ConnectionPool(
                connection_class=pool.connection_class, **kwargs))
            entry = (source, fast)
            current_app.extensions[key] = entry
        return entry[1]

    def usable(self) -> bool:
        return time.monotonic() >= self.down_until

    def failed(self, what: str, exc: Exception):
        self.down_until = time.monotonic() + RETRY_AFTER_SECONDS
        self.log.warning("%s failed (%s); using the database for %.0f s", what, exc,
                         RETRY_AFTER_SECONDS)

    def reset(self) -> None:
        """Forget a recorded failure (tests; an operator after fixing Redis)."""
        self.down_until = 0.0
