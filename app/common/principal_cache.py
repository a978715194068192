"""A per-process copy of cached principals, kept honest by Redis pub/sub.

Every process holds principals it read from Redis for AUTH_LOCAL_CACHE_SECONDS (30 s), and a
listener thread drops an entry as soon as any process publishes its purge (a logout, a ban, a
role change). The hold is long because behind a pooled proxy a user's retries land on any
worker: with a hold of two seconds most requests of a booking flood missed and paid a Redis
round trip. It is still short of the Redis entry's own five minutes, which is what a purge
that could not be published at all would leave standing. Entries are only kept while that listener is subscribed: when the subscription
breaks, the copy is emptied and every request reads Redis again, so a missed purge can never
leave a revoked token working.
"""
import logging
import os
import threading
import time

import redis

log = logging.getLogger("app.auth.cache")
CHANNEL = "auth:principal:purged"


class LocalPrincipals:
    MAX_ENTRIES = 50_000  # a few MB; past it expired entries go, then everything

    def __init__(self):
        self._entries: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._listening = False
        self._pid = None
        self._url = None

    def configure(self, url: str):
        self._url = url

    # -- reading and writing (request threads) ------------------------------------------------
    def get(self, key: str):
        if not self._ensure_listener():
            return None
        entry = self._entries.get(key)
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return None

    def generation(self) -> int:
        return self._generation

    def put(self, key: str, value: dict, generation: int, seconds: float):
        """Keep `value` unless a purge happened since the caller started reading it."""
        with self._lock:
            if self._listening and generation == self._generation and seconds > 0:
                now = time.monotonic()
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                    if len(self._entries) >= self.MAX_ENTRIES:
                        self._entries.clear()
                self._entries[key] = (now + seconds, value)

    def drop(self, key: str | None = None):
        with self._lock:
            self._generation += 1
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)

    # -- the listener --------------------------------------------------------------------------
    def _ensure_listener(self) -> bool:
        if self._url is None:
            return False
        if self._pid != os.getpid():  # first use, or a forked child: start our own listener
            with self._lock:
                if self._pid != os.getpid():
                    self._pid = os.getpid()
                    self._listening = False
                    self._entries.clear()
                    threading.Thread(target=self._listen, name="principal-purges",
                                     daemon=True).start()
        return self._listening

    def _listen(self):
        while True:
            pubsub = None
            try:
                conn = redis.Redis.from_url(self._url, socket_connect_timeout=2,
                                            socket_timeout=10, health_check_interval=5)
                pubsub = conn.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                pubsub.get_message(timeout=1.0)  # the subscribe confirmation
                with self._lock:
                    self._entries.clear()
                    self._generation += 1
                    self._listening = True
                while True:
                    message = pubsub.get_message(timeout=5.0)
                    if message and message.get("type") == "message":
                        data = message["data"]
                        self.drop(data.decode() if isinstance(data, bytes) else data)
                    elif message is None:
                        pubsub.ping()  # a dead connection raises here
            except Exception as exc:  # stop trusting the copy until subscribed again
                with self._lock:
                    was_listening = self._listening
                    self._listening = False
                    self._entries.clear()
                    self._generation += 1
                # warn once per outage, not on every retry
                (log.warning if was_listening else log.debug)(
                    "principal purge listener down (%s); retrying", exc)
                time.sleep(1.0)
            finally:
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass


local_principals = LocalPrincipals()


def publish_purge(conn, key: str):
    try:
        conn.publish(CHANNEL, key)
    except redis.RedisError:
        log.warning("could not publish purge of %s", key)
    local_principals.drop(key)
