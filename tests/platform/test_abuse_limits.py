"""Limits that key on the real caller: X-Forwarded-For only from trusted proxies, uploads per
account, and a production configuration that refuses weak secrets."""
import itertools

import pytest

from app import create_app
from config import DEV_PII_KEY, DEV_SECRET_KEY, ProductionConfig
from tests.files.test_files import PNG, upload
from tests.platform.test_platform import PRODUCTION_ENVIRONMENT

_usernames = itertools.count()


@pytest.mark.parametrize("name,value", [
    ("SECRET_KEY", DEV_SECRET_KEY), ("SECRET_KEY", "short-secret-31-characters-long"),
    ("PII_KEY", DEV_PII_KEY), ("PII_KEY", "k" * 31), ("TRUSTED_PROXY_HOPS", "one")])
def test_production_refuses_weak_secrets(name, value):
    with pytest.raises(RuntimeError) as excinfo:
        ProductionConfig.from_environment({**PRODUCTION_ENVIRONMENT, name: value})
    assert name in str(excinfo.value)


def test_production_reads_the_trusted_proxy_hops():
    assert ProductionConfig.from_environment(PRODUCTION_ENVIRONMENT).TRUSTED_PROXY_HOPS == 0
    resolved = ProductionConfig.from_environment({**PRODUCTION_ENVIRONMENT, "TRUSTED_PROXY_HOPS": "1",
                                                  "SECRET_KEY": "x" * 32})
    assert resolved.TRUSTED_PROXY_HOPS == 1 and resolved.SECRET_KEY == "x" * 32


def login_attempt(client, forwarded_for):
    # a new unknown account each time (no account lockout): only the per-address rate limit
    # (10 a minute) answers differently
    return client.post("/api/v1/staff/login",
                       json={"username": f"nobody-{next(_usernames)}", "password": "guess"},
                       headers={"X-Forwarded-For": forwarded_for})


def exhaust_login_limit(client, forwarded_for):
    for index in range(10):
        spoof = forwarded_for(index)
        assert login_attempt(client, spoof).status_code == 401, spoof


def test_forwarded_for_is_ignored_without_a_trusted_proxy(client):
    """Default (0 hops): a caller cannot pick the address its limit is counted under."""
    exhaust_login_limit(client, lambda index: f"198.51.100.{index}")
    refused = login_attempt(client, "198.51.100.200")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"


def test_behind_one_trusted_proxy_limits_key_on_the_real_client(app):
    proxied = create_app("testing", {
        **{key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL",
                                            "INSTANCE_DIR", "UPLOAD_DIR")},
        "TRUSTED_PROXY_HOPS": 1})
    client = proxied.test_client()
    # our proxy appends the address it saw; whatever the client wrote before it is not believed
    exhaust_login_limit(client, lambda index: f"6.6.6.{index}, 203.0.113.5")
    refused = login_attempt(client, "6.6.6.99, 203.0.113.5")
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    # another client behind the same proxy has its own allowance
    assert login_attempt(client, "203.0.113.6").status_code == 401


def test_uploads_are_limited_per_account(client, app, alice, bob, staff_factory, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_RATE_LIMIT", "3 per minute")
    for _ in range(3):
        assert upload(client, alice, PNG).status_code == 201
    refused = upload(client, alice, PNG)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    # the same address, another account: its own allowance
    assert upload(client, bob, PNG).status_code == 201
    admin = staff_factory("admin")
    for _ in range(3):
        assert upload(client, admin, PNG).status_code == 201
    assert upload(client, admin, PNG).status_code == 429
