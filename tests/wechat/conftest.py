"""Fixtures for the WeChat Pay gateway tests: a stand-in merchant endpoint that records what
the simulator delivers, and the app pointed at it."""
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """A stdlib HTTP server on 127.0.0.1 that records every POST (path, headers, body)."""

    def __init__(self):
        self.records = []
        self.status = 204
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    receiver.records.append({
                        "path": self.path, "headers": dict(self.headers.items()),
                        "body": body.decode("utf-8"), "at": time.monotonic()})
                    receiver._changed.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def on(self, path):
        return [record for record in self.records if record["path"] == path]

    def wait_for(self, path, count=1, timeout=5.0):
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.on(path)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{count} deliveries to {path} expected, "
                                         f"got {len(self.on(path))}")
                self._changed.wait(remaining)
        return self.on(path)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def wait_until(predicate, timeout=10.0, what="the condition"):
    """Poll predicate() until it returns something truthy, and return that. The timeout only
    bounds a failing test; nothing is claimed about how fast it turns true."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.02)


@pytest.fixture
def receiver(app, monkeypatch):
    instance = Receiver()
    monkeypatch.setitem(app.config, "WECHATPAY_NOTIFY_URL", instance.url + "/pay-notify")
    monkeypatch.setitem(app.config, "WECHATPAY_REFUND_NOTIFY_URL",
                        instance.url + "/refund-notify")
    yield instance
    instance.close()


def run_app_script(script: str, instance, redis_url: str) -> dict:
    """Run `script` (given the instance dir and Redis URL as argv) in a child process, where a
    second app cannot rebind this process's shared extensions; its last stdout line, as JSON."""
    result = subprocess.run(
        [sys.executable, "-c", script, str(instance), redis_url], cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
