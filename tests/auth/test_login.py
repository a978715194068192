"""Login through the real wechatpy client against the simulator over HTTP."""
import time

import jwt
import requests

from tests.conftest import auth, login


def sim_calls(app):
    return requests.get(app.config["WECHAT_API_BASE"] + "/_control/calls", timeout=5).json()


def test_same_code_logs_in_same_person_and_new_code_a_new_one(client, app):
    first = login(client, "code-one")
    again = login(client, "code-one")
    other = login(client, "code-two")
    assert first["user"]["id"] == again["user"]["id"]
    assert other["user"]["id"] != first["user"]["id"]
    assert first["token"] != again["token"]
    # the SDK really went over HTTP to jscode2session, and login needs no access token
    calls = sim_calls(app)
    assert calls["jscode2session"] == 3
    assert "stable_token" not in calls


def test_login_creates_account_once_with_expected_fields(client):
    data = login(client, "code-fields")
    user = data["user"]
    assert user["real_name_status"] == "none"
    assert user["phone"] is None and user["phone_bound"] is False
    me = client.get("/api/v1/me", headers=auth(data["token"]))
    assert me.status_code == 200 and me.get_json()["id"] == user["id"]


def test_invalid_code_is_refused_with_stable_code(client):
    response = client.post("/api/v1/auth/wechat-login", json={"code": "invalid-used-code"})
    assert response.status_code == 400
    body = response.get_json()["error"]
    assert body["code"] == "invalid_wechat_code"
    assert "登录" in body["message"]


def test_wechat_unreachable_is_503_not_500(client, app):
    saved = app.config["WECHAT_API_BASE"]
    app.config["WECHAT_API_BASE"] = "http://127.0.0.1:9/_sim/wechat"  # nothing listens on 9
    app.extensions.pop("wechat_miniprogram", None)
    try:
        response = client.post("/api/v1/auth/wechat-login", json={"code": "any"})
    finally:
        app.config["WECHAT_API_BASE"] = saved
        app.extensions.pop("wechat_miniprogram", None)
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "wechat_unavailable"



def test_phone_binding_uses_one_shared_stable_token(client, app, alice, bob):
    r1 = client.post("/api/v1/auth/phone", json={"code": "phone:13812345678"},
                     headers=alice["headers"])
    assert r1.status_code == 200, r1.get_json()
    assert r1.get_json()["phone"] == "138****5678"
    assert r1.get_json()["phone_bound"] is True
    # a second client instance (another process would have its own) reuses the Redis token
    app.extensions.pop("wechat_miniprogram", None)
    r2 = client.post("/api/v1/auth/phone", json={"code": "phone:13900001111"},
                     headers=bob["headers"])
    assert r2.status_code == 200
    assert sim_calls(app)["stable_token"] == 1
    assert sim_calls(app)["getuserphonenumber"] == 2


def test_rejected_access_token_is_refreshed_and_retried_once(client, app, alice):
    assert client.post("/api/v1/auth/phone", json={"code": "phone:13812345678"},
                       headers=alice["headers"]).status_code == 200
    requests.post(app.config["WECHAT_API_BASE"] + "/_control/revoke-tokens", timeout=5)
    response = client.post("/api/v1/auth/phone", json={"code": "phone:13812345679"},
                           headers=alice["headers"])
    assert response.status_code == 200, response.get_json()
    calls = sim_calls(app)
    assert calls["stable_token"] == 2          # one refresh after the rejection
    assert calls["getuserphonenumber"] == 3    # the rejected call and its single retry


def test_phone_of_another_account_is_refused(client, alice, bob):
    assert client.post("/api/v1/auth/phone", json={"code": "phone:13812345678"},
                       headers=alice["headers"]).status_code == 200
    response = client.post("/api/v1/auth/phone", json={"code": "phone:13812345678"},
                           headers=bob["headers"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "phone_taken"


def test_logout_revokes_every_token(client):
    first = login(client, "code-revoke")
    second = login(client, "code-revoke")  # another device
    assert client.get("/api/v1/me", headers=auth(second["token"])).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=auth(first["token"])).status_code == 204
    for token in (first["token"], second["token"]):
        response = client.get("/api/v1/me", headers=auth(token))
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "token_invalid"
    fresh = login(client, "code-revoke")
    assert client.get("/api/v1/me", headers=auth(fresh["token"])).status_code == 200


def test_ban_revokes_tokens_and_answers_account_banned_everywhere(client, alice, staff_factory):
    operator = staff_factory("operator")
    response = client.post(f"/api/v1/staff/users/{alice['id']}/ban", json={"reason": "恶意刷号"},
                           headers=operator["headers"])
    assert response.status_code == 200, response.get_json()
    for method, path in (("get", "/api/v1/me"), ("get", "/api/v1/patients"),
                         ("post", "/api/v1/auth/logout")):
        answer = getattr(client, method)(path, headers=alice["headers"])
        assert answer.status_code == 403
        assert answer.get_json()["error"]["code"] == "account_banned"
        assert answer.get_json()["error"]["details"]["reason"] == "恶意刷号"
    relogin = client.post("/api/v1/auth/wechat-login", json={"code": "wx-code-alice"})
    assert relogin.status_code == 403
    assert relogin.get_json()["error"]["code"] == "account_banned"
    # unbanned: the old token stays dead (its version was bumped), a new login works
    assert client.post(f"/api/v1/staff/users/{alice['id']}/unban",
                       headers=operator["headers"]).status_code == 200
    assert client.get("/api/v1/me", headers=alice["headers"]).status_code == 401
    assert client.post("/api/v1/auth/wechat-login",
                       json={"code": "wx-code-alice"}).status_code == 200


def test_forged_expired_and_malformed_tokens(client, app, alice):
    claims = jwt.decode(alice["token"], options={"verify_signature": False})
    forged = jwt.encode(claims, "not-our-secret-but-long-enough-for-hs256", algorithm="HS256")
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, app.config["SECRET_KEY"],
                         algorithm="HS256")
    other_user = jwt.encode({**claims, "sub": str(alice["id"] + 999)}, app.config["SECRET_KEY"],
                            algorithm="HS256")
    none_alg = jwt.encode(claims, None, algorithm="none") if hasattr(jwt, "encode") else "x"
    staff_kind = jwt.encode({**claims, "knd": "staff"}, app.config["SECRET_KEY"],
                            algorithm="HS256")
    cases = {
        forged: "token_invalid", expired: "token_expired", other_user: "token_invalid",
        none_alg: "token_invalid", staff_kind: "token_invalid", "garbage": "token_invalid",
    }
    for token, code in cases.items():
        response = client.get("/api/v1/me", headers=auth(token))
        assert response.status_code == 401, token
        assert response.get_json()["error"]["code"] == code
    for header in ("", "Bearer", "Basic abc", "Bearer  "):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"


def test_user_token_cannot_call_staff_endpoints(client, alice):
    response = client.get("/api/v1/staff/real-name-reviews", headers=alice["headers"])
    assert response.status_code == 401


def test_login_is_rate_limited(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    try:
        codes = [client.post("/api/v1/auth/wechat-login", json={"code": f"c{i}"}).status_code
                 for i in range(5)]
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]
    response = client.post("/api/v1/auth/wechat-login", json={"code": "c9"})
    assert response.status_code == 200  # the limit is back to the test default
