"""Jobs for the worker tests. Workers import jobs by path, so they live in a module (not in a
test function); each records what it did in Redis under `test:*`, which the test reads."""
import os
import time

from app.common.jobs import job
from app.extensions import redis_client


@job
def remember(key: str, value: str):
    redis_client.conn.set(f"test:remember:{key}", value)


@job
def flaky(key: str, failures: int):
    """Raises on its first `failures` runs, then succeeds."""
    runs = redis_client.conn.incr(f"test:flaky:{key}")
    if runs <= failures:
        raise RuntimeError(f"flaky failure {runs}")
    redis_client.conn.set(f"test:flaky-done:{key}", runs)


@job
def slow_first_run(key: str, seconds: int):
    """Notes each run's start (time, pid, process group); the first run then sleeps `seconds`
    (the test kills its worker meanwhile), later ones finish at once."""
    conn = redis_client.conn
    runs = conn.rpush(f"test:runs:{key}", f"{time.time()} {os.getpid()} {os.getpgrp()}")
    if runs == 1:
        time.sleep(seconds)
    conn.set(f"test:done:{key}", runs)
