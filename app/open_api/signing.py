"""Request signing v1 of the open API (sdk/SIGNING_SPEC.md; the SDK in sdk/ signs the same).

canonical = METHOD \n PATH (as sent, percent-encoded, no query) \n CANONICAL_QUERY \n
            TIMESTAMP \n NONCE \n hex(SHA-256(body))
signature = "v1=" + hex(HMAC-SHA256(secret as UTF-8, canonical))

CANONICAL_QUERY: the query's (key, value) pairs decoded, each re-encoded with
quote(x, safe="-_.~"), sorted by (key, value), joined as k=v with "&".
"""
import hashlib
import hmac
import re
from urllib.parse import parse_qsl, quote

HEADER_KEY = "X-Hospital-Key"
HEADER_TIMESTAMP = "X-Timestamp"
HEADER_NONCE = "X-Nonce"
HEADER_SIGNATURE = "X-Signature"

KEY_ID = re.compile(r"^hk_[0-9a-f]{24}$")
TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SIGNATURE = re.compile(r"^v1=[0-9a-f]{64}$")


def canonical_query(raw_query: str) -> str:
    pairs = parse_qsl(raw_query, keep_blank_values=True, errors="strict")
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_string(method: str, path: str, raw_query: str, timestamp: str, nonce: str,
                     body: bytes) -> str:
    return "\n".join([method.upper(), path, canonical_query(raw_query), timestamp, nonce,
                      hashlib.sha256(body).hexdigest()])


def sign(secret: str, canonical: str) -> str:
    return "v1=" + hmac.new(secret.encode("utf-8"), canonical.encode("utf-8"),
                            hashlib.sha256).hexdigest()


def matches(secret: str, canonical: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, canonical).encode(), signature.encode())
