"""A per-process copy of principals (token version, ban, role), bounded in time and purged
over Redis pub/sub.

Revocation promise: a ban, logout or role change takes effect on every process within 2 s,
however it was made. Two mechanisms keep it:

- Time bound (covers everything, including an UPDATE made in SQL or a lost purge): a copy is
  kept at most `hold` seconds (AUTH_LOCAL_CACHE_SECONDS, at most MAX_HOLD_SECONDS = 1.5),
  counted from *before* the database read that produced it. A change committed at time t is
  therefore seen by every process by t + hold at the latest.
- Purges (changes made through the ORM: attribute changes, bulk ORM UPDATE/DELETE): after the
  commit the writer publishes the key, every process's listener drops it, usually within
  milliseconds.

A fill can never resurrect a stale principal: the reader takes the process's purge
generation before its database read, and put() keeps the value only if no purge arrived
since (the generation is bumped under the same lock that put() takes). A read that raced a
ban therefore either lands before the purge (and the purge drops it) or after (and is
refused).

Copies are only kept while the listener is subscribed: when the subscription breaks, the
copy is emptied and every request reads the database until it is subscribed again.

The channel name carries the Redis database number: pub/sub is server-wide, and deployments
or test runs that share a server on different databases must not purge one another.
"""
import logging
import os
import threading
import time
import uuid

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger("app.auth.cache")
CHANNEL_PREFIX = "auth:principal:purged"
PURGE_ALL = "*"
MAX_HOLD_SECONDS = 1.5  # + the time a request takes to read and act: within the 2 s promise


def channel_for(conn: redis.Redis) -> str:
    return f"{CHANNEL_PREFIX}:{conn.connection_pool.connection_kwargs.get('db', 0)}"


class LocalPrincipals:
    MAX_ENTRIES = 50_000  # a few MB; past it expired entries go, then everything

    def __init__(self):
        self._entries: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self._listening = False
        self._pid = None
        self._url = None
        self.channel = f"{CHANNEL_PREFIX}:0"
        self.client_name = None  # CLIENT SETNAME of this process's listener connection

    def configure(self, url: str, channel: str):
        self._url = url
        self.channel = channel

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

    def put(self, key: str, value: dict, generation: int, expires_at: float):
        """Keep `value` until `expires_at` (time.monotonic()) unless a purge happened since the
        caller read `generation`, which it must do before reading `value`."""
        with self._lock:
            now = time.monotonic()
            expires_at = min(expires_at, now + MAX_HOLD_SECONDS)
            if self._listening and generation == self._generation and expires_at > now:
                if len(self._entries) >= self.MAX_ENTRIES:
                    self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                    if len(self._entries) >= self.MAX_ENTRIES:
                        self._entries.clear()
                self._entries[key] = (expires_at, value)

    def drop(self, key: str | None = None):
        with self._lock:
            self._generation += 1
            if key is None or key == PURGE_ALL:
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
                    # a name no other process has, so a test can kill exactly this connection
                    self.client_name = f"principal-purges:{os.getpid()}:{uuid.uuid4().hex[:12]}"
                    threading.Thread(target=self._listen, name="principal-purges",
                                     daemon=True).start()
        return self._listening

    def _listen(self):
        while True:
            pubsub = None
            try:
                # no retries: redis-py would otherwise reconnect and resubscribe silently,
                # and the purges published meanwhile would be lost with the copy still trusted
                conn = redis.Redis.from_url(self._url, socket_connect_timeout=2,
                                            socket_timeout=10, health_check_interval=5,
                                            client_name=self.client_name,
                                            retry=Retry(NoBackoff(), 0))
                pubsub = conn.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
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
    """Drop `key` (or PURGE_ALL) here at once and in every other process over pub/sub."""
    local_principals.drop(key)
    try:
        conn.publish(local_principals.channel, key)
    except redis.RedisError:  # the time bound still holds: at most `hold` seconds
        log.warning("could not publish purge of %s", key)
