"""Request signing for the open API, v1 (the spec: SIGNING_SPEC.md).

    canonical = "\\n".join([METHOD, PATH, CANONICAL_QUERY, TIMESTAMP, NONCE, BODY_SHA256])
    X-Signature: "v1=" + lowercase hex HMAC-SHA256(secret as UTF-8, canonical)

CANONICAL_QUERY: every (key, value) pair of the query, decoded, then each of key and value
percent-encoded with ``urllib.parse.quote(x, safe="-_.~")``; the encoded pairs sorted by
(key, value) and joined as ``k=v`` with ``&`` ("" for no query). Sorting is on the *encoded*
strings, so it is plain ASCII order ("B" < "a", "%C3%A9" < "z").
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote

SIGNATURE_VERSION = "v1"
HEADER_KEY = "X-Hospital-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"

NONCE_MIN, NONCE_MAX = 16, 64
_NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
_NOT_NONCE_CHAR = re.compile(r"[^A-Za-z0-9_-]")

QueryPairs = Iterable[tuple[str, str]] | Mapping[str, "str | Iterable[str]"] | str | None


def percent_encode(value: str) -> str:
    """RFC 3986 encoding of one decoded key or value: unreserved characters kept, UTF-8 bytes
    of everything else as %XX (upper-case hex)."""
    return quote(str(value), safe="-_.~")


def normalize_query(query: QueryPairs) -> list[tuple[str, str]]:
    """The decoded (key, value) pairs of `query`: a raw query string (as on the wire, decoded
    the way a server does, "+" as a space, blank values kept), a mapping (a value may be a
    list of values for a repeated key) or an iterable of pairs."""
    if query is None:
        return []
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True)
    if isinstance(query, Mapping):
        pairs = []
        for key, value in query.items():
            if isinstance(value, (list, tuple)):
                pairs.extend((str(key), _text(v)) for v in value)
            elif value is not None:
                pairs.append((str(key), _text(value)))
        return pairs
    return [(str(key), _text(value)) for key, value in query]


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def canonical_query(query: QueryPairs) -> str:
    encoded = sorted((percent_encode(k), percent_encode(v)) for k, v in normalize_query(query))
    return "&".join(f"{k}={v}" for k, v in encoded)


def body_sha256(body: bytes | None) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def canonical_request(method: str, path: str, query_pairs: QueryPairs, timestamp,
                      nonce: str, body: bytes | None) -> str:
    """The string that is signed. `path` exactly as sent on the wire (percent-encoded, without
    the query); `timestamp` and `nonce` exactly as the headers carry them; `body` the raw bytes
    (None or b"" for none)."""
    if "?" in path:
        raise ValueError("path must not contain the query; pass it as query_pairs")
    if isinstance(body, str):
        raise TypeError("body must be bytes (the exact bytes sent), not str")
    return "\n".join([method.upper(), path, canonical_query(query_pairs), str(timestamp),
                      nonce, body_sha256(body)])


def signature(secret: str | bytes, canonical: str) -> str:
    """"v1=" + lowercase hex HMAC-SHA256 of `canonical` with the secret's UTF-8 bytes."""
    key = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    digest = hmac.new(key, canonical.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def new_nonce() -> str:
    """A fresh nonce: secrets.token_urlsafe(24) (32 chars) kept to [A-Za-z0-9_-], 16..64 long."""
    while True:
        nonce = _NOT_NONCE_CHAR.sub("", secrets.token_urlsafe(24))[:NONCE_MAX]
        if len(nonce) >= NONCE_MIN:
            return nonce


def sign(secret: str | bytes, method: str, path: str, query_pairs: QueryPairs, timestamp,
         nonce: str, body: bytes | None, *, key_id: str | None = None) -> dict[str, str]:
    """The signing headers for one request: X-Timestamp, X-Nonce, X-Signature, and
    X-Hospital-Key when `key_id` is given. Timestamp: unix seconds (an int or its text)."""
    timestamp = str(int(timestamp)) if not isinstance(timestamp, str) else timestamp
    if not _NONCE_RE.fullmatch(nonce):
        raise ValueError("nonce must be 16..64 characters of [A-Za-z0-9_-]")
    canonical = canonical_request(method, path, query_pairs, timestamp, nonce, body)
    headers = {HEADER_TIMESTAMP: timestamp, HEADER_NONCE: nonce,
               HEADER_SIGNATURE: signature(secret, canonical)}
    if key_id is not None:
        headers = {HEADER_KEY: key_id, **headers}
    return headers


def sign_path_url(key_id: str, secret: str | bytes, method: str, path_url: str,
                  body: bytes | None, *, now: float, nonce: str | None = None) -> dict[str, str]:
    """Sign a request given its request target as it goes on the wire ("/path?query"), with
    timestamp int(now) and a fresh nonce unless one is given."""
    path, _, query = path_url.partition("?")
    return sign(secret, method, path, query, int(now), nonce or new_nonce(), body, key_id=key_id)
