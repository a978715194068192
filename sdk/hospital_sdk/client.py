"""The open API client: signs every request, retries what is safe to retry, typed calls.

Retries (at most `max_retries` after the first attempt, exponential backoff with jitter, the
sleep injectable): connection errors and timeouts, 429 (waiting what Retry-After says, capped at
`max_retry_after`), 502, 503 and 504. Never any other 4xx (401, 403, 404, 409, 422 ... are
answers, not accidents) nor 500. Each attempt is signed just before it is sent: a retry carries
a fresh X-Timestamp and X-Nonce (the server refuses a nonce it has seen) and the same body bytes.

Which calls are retried after an *ambiguous* failure (a read timeout, a dropped connection, 502
or 504: the server may have done the work):
- the batch upserts and the reads: yes. Upserts are idempotent on the server, keyed by the
  hospital's own ids (external_id), so sending the same batch twice leaves the same state.
- stop_schedule and mark_visited: no by default (they are state transitions); they are retried
  only when the request surely did not reach the application (no connection could be made, 429,
  503). Pass ``retry_ambiguous=True`` when the server answers a repeat with success.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Iterable, Iterator, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from urllib3.exceptions import NewConnectionError

from . import __version__
from .errors import ApiConnectionError, ApiTimeout, OpenApiError, RateLimited, error_class
from .models import (BatchResult, ChangesPage, Department, Doctor, RegistrationChange,
                     Schedule)
from .signing import canonical_query, sign_path_url

BATCH_LIMIT = 500  # items per upsert request, the server's limit
RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_PROCESSED_STATUSES = frozenset({429, 503})  # refused before the work: safe for any call


def _segment(value: str) -> str:
    """One path segment from a caller's id, percent-encoded like a query value."""
    if not isinstance(value, str) or not value:
        raise ValueError("an id in the path must be a non-empty string")
    if value in (".", ".."):  # would be read as a relative path step
        return value.replace(".", "%2E")
    return quote(value, safe="-_.~")


class OpenApiClient:
    """A signed client for /open/v1.

    >>> client = OpenApiClient("https://platform.example.com", "hk_...", "hs_...")
    >>> client.upsert_schedules([Schedule(...), ...])      # any number; 500 per request

    `timeout` is requests' (connect, read) per attempt; `clock` gives unix seconds for
    X-Timestamp; `sleep` and `random` are there for tests.
    """

    def __init__(self, base_url: str, key_id: str, secret: str | bytes,
                 timeout: float | tuple[float, float] = (3.05, 10), max_retries: int = 3,
                 session: requests.Session | None = None, clock=time.time, *,
                 sleep=time.sleep, random=random.random, backoff_base: float = 0.5,
                 backoff_max: float = 8.0, max_retry_after: float = 60.0,
                 batch_size: int = BATCH_LIMIT):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if not 1 <= batch_size <= BATCH_LIMIT:
            raise ValueError(f"batch_size must be 1..{BATCH_LIMIT}")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.base_url = base_url.rstrip("/")
        self.key_id = key_id
        self._secret = secret
        self.timeout = timeout
        self.max_retries = max_retries
        self._own_session = session is None
        self.session = session or requests.Session()
        self.clock = clock
        self.sleep = sleep
        self.random = random
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.batch_size = batch_size
        self.user_agent = f"hospital-open-sdk/{__version__} python-requests/{requests.__version__}"

    def __repr__(self) -> str:  # never the secret
        return f"OpenApiClient({self.base_url!r}, key_id={self.key_id!r})"

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- transport ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                json_body: Any = None, retry_ambiguous: bool = True) -> Any:
        """Send one signed request to `path` (already percent-encoded, e.g.
        "/open/v1/schedules:batch") and return the decoded JSON answer (None for an empty one).
        Raises an OpenApiError subclass for an error answer or a failed transport."""
        url = self.base_url + path
        query = canonical_query(params)  # the wire query is the canonical one
        if query:
            url += "?" + query
        headers = {"Accept": "application/json", "User-Agent": self.user_agent}
        body = None
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json; charset=utf-8"
        prepared = self.session.prepare_request(
            requests.Request(method.upper(), url, headers=headers, data=body))
        settings = self.session.merge_environment_settings(prepared.url, {}, None, None, None)

        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._send_signed(prepared, settings)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                if last or not (retry_ambiguous or self._not_sent(exc)):
                    kind = ApiTimeout if isinstance(exc, requests.Timeout) else ApiConnectionError
                    raise kind(f"{type(exc).__name__}: {exc}", code="connection_error") from exc
                self.sleep(self._backoff(attempt))
                continue
            except requests.RequestException as exc:
                raise ApiConnectionError(f"{type(exc).__name__}: {exc}",
                                         code="request_error") from exc
            status = response.status_code
            if 200 <= status < 300:
                return self._decode(response)
            if (status in RETRY_STATUSES and not last
                    and (retry_ambiguous or status in NOT_PROCESSED_STATUSES)):
                delay = self._retry_after(response)
                self.sleep(self._backoff(attempt) if delay is None else delay)
                continue
            raise self._error(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_signed(self, prepared: requests.PreparedRequest, settings) -> requests.Response:
        attempt = prepared.copy()
        # signed over exactly what goes on the wire: path_url is "/path?query" as sent
        attempt.headers.update(sign_path_url(self.key_id, self._secret, attempt.method,
                                             attempt.path_url, attempt.body, now=self.clock()))
        return self.session.send(attempt, timeout=self.timeout, allow_redirects=False, **settings)

    @staticmethod
    def _not_sent(exc: Exception) -> bool:
        """True when the request surely never reached the server (no connection was made)."""
        if isinstance(exc, requests.ConnectTimeout):
            return True
        if isinstance(exc, requests.ConnectionError) and exc.args:
            return isinstance(getattr(exc.args[0], "reason", None), NewConnectionError)
        return False

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.backoff_max, self.backoff_base * (2 ** attempt))
        return ceiling / 2 + self.random() * ceiling / 2  # "equal jitter": [c/2, c)

    def _retry_after(self, response: requests.Response) -> float | None:
        value = (response.headers.get("Retry-After") or "").strip()
        if not value:
            return None
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - self.clock()
            except (TypeError, ValueError, IndexError):
                return None
        if seconds != seconds:  # NaN
            return None
        return min(max(seconds, 0.0), self.max_retry_after)

    @staticmethod
    def _decode(response: requests.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise OpenApiError("the answer is not JSON", status=response.status_code,
                               code="invalid_response", response=response,
                               request_id=response.headers.get("X-Request-ID")) from exc

    def _error(self, response: requests.Response) -> OpenApiError:
        status = response.status_code
        try:
            data = response.json()
        except ValueError:
            data = None
        envelope = data.get("error") if isinstance(data, dict) else None
        envelope = envelope if isinstance(envelope, dict) else {}
        code = envelope.get("code") or f"http_{status}"
        message = envelope.get("message") or response.reason or f"HTTP {status}"
        kwargs = dict(status=status, code=code, details=envelope.get("details"),
                      request_id=envelope.get("request_id") or response.headers.get("X-Request-ID"),
                      response=response)
        cls = error_class(status)
        if cls is RateLimited:
            return RateLimited(message, retry_after=self._retry_after(response), **kwargs)
        return cls(message, **kwargs)

    # ---- batch upserts --------------------------------------------------------------------

    def _upsert(self, path: str, items: Iterable, model: type) -> BatchResult:
        payload = [self._item(item, model) for item in items]
        result = BatchResult()
        for start in range(0, len(payload), self.batch_size):
            try:
                data = self.request("POST", path,
                                    json_body={"items": payload[start:start + self.batch_size]})
            except OpenApiError as exc:
                exc.partial_result = result   # the chunks accepted before this one
                exc.batch_offset = start      # index of this chunk's first item in `items`
                raise
            result.add(data)
        return result

    @staticmethod
    def _item(item, model: type) -> dict[str, Any]:
        if isinstance(item, model):
            return item.to_dict()
        if isinstance(item, Mapping):
            return model(**item).to_dict()  # checked like a model, then plain JSON
        raise TypeError(f"expected {model.__name__} or a mapping, got {type(item).__name__}")

    def upsert_departments(self, items: Iterable[Department | Mapping]) -> BatchResult:
        """Create or update departments by external_id (POST /open/v1/departments:batch).

        Idempotent on the server, keyed by the hospital's own external_id: safe to retry and
        to re-run whole. Parents are sent before their children when both are in `items`.
        More than 500 items are sent as several requests and the results merged; when one of
        them fails the error carries `partial_result` and `batch_offset`."""
        departments = [Department(**i) if isinstance(i, Mapping) else i for i in items]
        return self._upsert("/open/v1/departments:batch", _parents_first(departments),
                            Department)

    def upsert_doctors(self, items: Iterable[Doctor | Mapping]) -> BatchResult:
        """Create or update doctors by external_id (POST /open/v1/doctors:batch). Idempotent on
        the server (keyed by external_id), so retries are safe; 500 per request, merged."""
        return self._upsert("/open/v1/doctors:batch", items, Doctor)

    def upsert_schedules(self, items: Iterable[Schedule | Mapping]) -> BatchResult:
        """Create or update schedules by external_id (POST /open/v1/schedules:batch). Idempotent
        on the server (keyed by external_id), so retries are safe; 500 per request, merged."""
        return self._upsert("/open/v1/schedules:batch", items, Schedule)

    # ---- single actions -------------------------------------------------------------------

    def stop_schedule(self, external_id: str, reason: str, *,
                      retry_ambiguous: bool = False) -> Any:
        """停诊: stop a schedule (POST /open/v1/schedules/{external_id}/stop, body {"reason"})."""
        return self.request("POST", f"/open/v1/schedules/{_segment(external_id)}/stop",
                            json_body={"reason": reason}, retry_ambiguous=retry_ambiguous)

    def mark_visited(self, order_no: str, *, retry_ambiguous: bool = False) -> Any:
        """Mark a registration visited (POST /open/v1/registrations/{order_no}/visit, body {})."""
        return self.request("POST", f"/open/v1/registrations/{_segment(order_no)}/visit",
                            json_body={}, retry_ambiguous=retry_ambiguous)

    # ---- changes feed ---------------------------------------------------------------------

    def registration_changes(self, cursor: str | None = None, limit: int = 100) -> ChangesPage:
        """One page of registrations changed after `cursor` (None: from the start)
        (GET /open/v1/registrations/changes?cursor=&limit=)."""
        params = {"limit": int(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        data = self.request("GET", "/open/v1/registrations/changes", params=params)
        if not isinstance(data, dict):
            raise OpenApiError("unexpected changes answer", code="invalid_response")
        return ChangesPage.from_dict(data)

    def iter_registration_change_pages(self, cursor: str | None = None,
                                       limit: int = 100) -> Iterator[ChangesPage]:
        """Pages from `cursor` on, following next_cursor until has_more is false. Store each
        page's next_cursor once its items are handled, to resume there."""
        while True:
            page = self.registration_changes(cursor, limit)
            yield page
            if not page.has_more:
                return
            if not page.next_cursor or page.next_cursor == cursor:
                raise OpenApiError("has_more without a new next_cursor", code="cursor_stuck")
            cursor = page.next_cursor

    def iter_registration_changes(self, cursor: str | None = None,
                                  limit: int = 100) -> Iterator[RegistrationChange]:
        """Every change from `cursor` on, across pages."""
        for page in self.iter_registration_change_pages(cursor, limit):
            yield from page.items


def _parents_first(departments: list[Department]) -> list[Department]:
    """Stable order where a department comes after its parent when both are in the list."""
    by_id = {d.external_id: d for d in departments}

    def depth(d: Department) -> int:
        seen, n = set(), 0
        while d.parent_external_id in by_id and d.external_id not in seen:
            seen.add(d.external_id)
            d = by_id[d.parent_external_id]
            n += 1
        return n

    return sorted(departments, key=depth)
