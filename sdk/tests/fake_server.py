"""A fake open API server for the client tests: a real HTTP server in a thread.

It verifies every request's signature with its own implementation of the spec (byte-wise
percent-encoding, not urllib's quote), checks the timestamp window and nonce reuse, records
every request, and answers scripted failures (status codes, hangs, dropped connections) on
demand before falling back to a small in-memory implementation of the endpoints.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, unquote_plus

WINDOW = 300
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_BATCH = re.compile(r"^/open/v1/(departments|doctors|schedules):batch$")
_STOP = re.compile(r"^/open/v1/schedules/([^/]+)/stop$")
_VISIT = re.compile(r"^/open/v1/registrations/([^/]+)/visit$")


def encode(text: str) -> str:
    return "".join(chr(b) if b in _UNRESERVED else "%{:02X}".format(b)
                   for b in text.encode("utf-8"))


def decoded_pairs(raw_query: str) -> list[tuple[str, str]]:
    pairs = []
    for part in raw_query.split("&"):
        if part:
            key, _, value = part.partition("=")
            pairs.append((unquote_plus(key), unquote_plus(value)))
    return pairs


def expected_signature(secret: str, method: str, raw_path: str, raw_query: str,
                       timestamp: str, nonce: str, body: bytes) -> str:
    query = "&".join(k + "=" + v for k, v in
                     sorted((encode(k), encode(v)) for k, v in decoded_pairs(raw_query)))
    lines = [method.upper(), raw_path, query, timestamp, nonce, hashlib.sha256(body).hexdigest()]
    mac = hmac.new(secret.encode("utf-8"), "\n".join(lines).encode("utf-8"), hashlib.sha256)
    return "v1=" + mac.hexdigest()


@dataclass
class Recorded:
    method: str
    target: str           # the raw request target, "/path?query"
    path: str
    query: str
    headers: dict
    body: bytes
    auth_error: str | None = None   # the 401 code when the signature check refused it
    answered: str = ""              # what the server did: a status, "hang" or "drop"

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def params(self) -> dict:
        return dict(decoded_pairs(self.query))


@dataclass
class FakeOpenApi:
    keys: dict
    hang_seconds: float = 5.0  # longer than the tests' read timeout (conftest: 1.5 s)
    requests: list = field(default_factory=list)
    script: dict = field(default_factory=lambda: defaultdict(deque))
    seen_nonces: set = field(default_factory=set)
    store: dict = field(default_factory=lambda: defaultdict(dict))
    changes: list = field(default_factory=list)
    stuck_cursor: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def queue(self, path: str, *actions) -> None:
        """Answers for the next requests to `path`: (status, body[, headers]), "hang", "drop"."""
        self.script[path].extend(actions)

    def check(self, method, path, query, headers, body) -> str | None:
        key_id = headers.get("x-hospital-key")
        timestamp = headers.get("x-timestamp", "")
        nonce = headers.get("x-nonce", "")
        sig = headers.get("x-signature", "")
        if not (key_id and re.fullmatch(r"\d+", timestamp) and _NONCE.match(nonce)
                and sig.startswith("v1=")):
            return "signature_missing"
        if key_id not in self.keys:
            return "key_unknown"
        if abs(time.time() - int(timestamp)) > WINDOW:
            return "timestamp_out_of_window"
        want = expected_signature(self.keys[key_id], method, path, query, timestamp, nonce, body)
        if not hmac.compare_digest(want, sig):
            return "signature_invalid"
        with self.lock:
            if (key_id, nonce) in self.seen_nonces:
                return "nonce_reused"
            self.seen_nonces.add((key_id, nonce))
        return None

    def default_answer(self, rec: Recorded):
        if rec.method == "POST" and (m := _BATCH.match(rec.path)):
            kind, counts, items = m.group(1), {"created": 0, "updated": 0, "unchanged": 0}, []
            for item in rec.json["items"]:
                before = self.store[kind].get(item["external_id"])
                status = "created" if before is None else (
                    "unchanged" if before == item else "updated")
                self.store[kind][item["external_id"]] = item
                counts[status] += 1
                items.append({"external_id": item["external_id"], "result": status})
            return 200, {**counts, "items": items}
        if rec.method == "POST" and (m := _STOP.match(rec.path)):
            return 200, {"external_id": unquote(m.group(1)), "status": "stopped",
                         "stopped": 0, "closed": 0}
        if rec.method == "POST" and (m := _VISIT.match(rec.path)):
            return 200, {"order_no": unquote(m.group(1)), "status": "visited",
                         "visited_at": "2026-06-01T09:00:00"}
        if rec.method == "GET" and rec.path == "/open/v1/registrations/changes":
            params = rec.params
            cursor = params.get("cursor", "")
            start = int(cursor) if cursor.isdigit() else 0
            limit = int(params["limit"])
            items = self.changes[start:start + limit]
            end = start + len(items)
            has_more = end < len(self.changes)
            return 200, {"items": items, "has_more": has_more,
                         "next_cursor": str(start if self.stuck_cursor else end)}
        return 404, {"error": {"code": "not_found", "message": "资源不存在", "details": {}}}


def make_handler(api: FakeOpenApi):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _answer(self, status, payload, headers=None):
            request_id = f"req-{len(api.requests)}"
            if isinstance(payload, dict) and isinstance(payload.get("error"), dict):
                payload = {**payload, "error": {"request_id": request_id, **payload["error"]}}
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Request-ID", request_id)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            headers = {k.lower(): v for k, v in self.headers.items()}
            rec = Recorded(self.command, self.path, path, query, headers, body)
            with api.lock:
                api.requests.append(rec)
            rec.auth_error = api.check(self.command, path, query, headers, body)
            if rec.auth_error:
                rec.answered = "401"
                return self._answer(401, {"error": {"code": rec.auth_error,
                                                    "message": "签名校验失败", "details": {}}})
            with api.lock:
                action = api.script[path].popleft() if api.script[path] else None
            if action == "hang":
                rec.answered = "hang"
                time.sleep(api.hang_seconds)
                return self._answer(200, {"late": True})
            if action == "drop":
                rec.answered = "drop"
                self.close_connection = True
                return  # no answer at all: the client sees the connection closed
            if action is not None:
                status, payload, *rest = action
                rec.answered = str(status)
                return self._answer(status, payload, rest[0] if rest else None)
            status, payload = api.default_answer(rec)
            rec.answered = str(status)
            return self._answer(status, payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    return Handler


class FakeServer:
    def __init__(self, api: FakeOpenApi):
        self.api = api
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(api))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
