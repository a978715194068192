"""Signed requests for the open API, built here from the spec (sdk/SIGNING_SPEC.md), not with
the server's signing code: a test that signs with the code it checks proves nothing."""
import hashlib
import hmac
import json as jsonlib
import secrets
import time
from urllib.parse import quote, unquote_plus

import pytest

from tests.hospital_onboarding.conftest import approved_hospital  # noqa: F401  (fixture)


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&") if query else []:
        key, _, value = part.partition("=")
        pairs.append((quote(unquote_plus(key), safe="-_.~"), quote(unquote_plus(value),
                                                                    safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def signature_headers(key_id, secret, method, path, query="", body=b"", *, timestamp=None,
                      nonce=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    canonical = "\n".join([method.upper(), path, _canonical_query(query), timestamp, nonce,
                           hashlib.sha256(body).hexdigest()])
    digest = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return {"X-Hospital-Key": key_id, "X-Timestamp": timestamp, "X-Nonce": nonce,
            "X-Signature": "v1=" + digest}


class Hospital:
    """One hospital's system: signs and sends; `sign_as` lets a test tamper with what is
    signed versus what is sent."""

    def __init__(self, client, made):
        self.client = client
        self.hospital_id = made["hospital_id"]
        self.key_id = made["key_id"]
        self.secret = made["secret"]
        self.operator = made["operator"]

    def call(self, method, path, json=None, query="", *, key_id=None, secret=None,
             sign_path=None, sign_query=None, sign_body=None, headers=None, **signing):
        body = b"" if json is None else jsonlib.dumps(json).encode()
        signed = signature_headers(
            key_id or self.key_id, secret or self.secret, method,
            sign_path if sign_path is not None else path,
            sign_query if sign_query is not None else query,
            sign_body if sign_body is not None else body, **signing)
        signed.update(headers or {})
        url = path + ("?" + query if query else "")
        return self.client.open(url, method=method, data=body, headers=signed,
                                content_type="application/json" if json is not None else None)

    def post(self, path, json=None, **kwargs):
        return self.call("POST", path, json, **kwargs)

    def get(self, path, query="", **kwargs):
        return self.call("GET", path, None, query, **kwargs)


@pytest.fixture
def hospitals(client, approved_hospital):  # noqa: F811
    def make(name="测试协和医院"):
        return Hospital(client, approved_hospital(name))
    return make


@pytest.fixture
def no_lag(app):
    previous = app.config["OPEN_API_CHANGES_LAG_SECONDS"]
    app.config["OPEN_API_CHANGES_LAG_SECONDS"] = 0
    yield
    app.config["OPEN_API_CHANGES_LAG_SECONDS"] = previous


def error_code(response):
    return (response.get_json() or {}).get("error", {}).get("code")
