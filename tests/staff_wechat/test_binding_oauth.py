"""Binding a staff account with a one-time code sent as 「绑定 <code>」, signing in to the H5
console through official-account OAuth (snsapi_base) against the simulator, and unbinding or
disabling taking effect at once."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests
from sqlalchemy import select

from app.audit.listeners import REDACTED
from app.audit.models import AuditChange, AuditEntry
from app.extensions import db
from app.staff.models import StaffUser
from app.staff_wechat.models import StaffBindCode
from tests.staff_wechat.conftest import bind

OPENID = "oStaffOfficial0000000000002"
OTHER_OPENID = "oStaffOfficial0000000000003"


def bind_code(client, staff):
    answer = client.post("/api/v1/staff/wechat/bind-code", headers=staff["headers"])
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def openid_of(app, staff_id):
    with app.app_context():
        openid = db.session.get(StaffUser, staff_id).official_openid
        db.session.remove()
    return openid


# -- binding ------------------------------------------------------------------------------------

def test_a_code_binds_the_sender_to_the_staff_member_who_asked_for_it(app, client, official,
                                                                      staff_factory):
    staff = staff_factory("reviewer")
    assert client.get("/api/v1/staff/wechat/binding",
                      headers=staff["headers"]).get_json() == {"bound": False}
    issued = bind_code(client, staff)
    assert len(issued["code"]) == 8 and issued["code"] in issued["instruction"]
    assert issued["expires_at"].endswith("+08:00")
    reply = official.text(OPENID, f"绑定 {issued['code'].lower()}")  # typed in lower case
    assert reply.startswith("绑定成功") and "审核员" in reply
    assert openid_of(app, staff["id"]) == OPENID
    assert client.get("/api/v1/staff/wechat/binding",
                      headers=staff["headers"]).get_json() == {"bound": True}
    # only a hash is kept: the code itself is nowhere in the table
    with app.app_context():
        row = db.session.scalar(select(StaffBindCode))
        assert issued["code"] not in (row.code_hash, row.used_by_openid)
        assert row.used_at is not None and row.used_by_openid == OPENID


def test_binding_through_the_webhook_is_audited_with_the_openid_redacted(app, client, official,
                                                                          staff_factory):
    staff = staff_factory("operator")
    code = bind_code(client, staff)["code"]
    assert "无效或已过期" in official.text(OPENID, "绑定 AAAAAAAA")  # a wrong code changes nothing
    with app.app_context():
        assert db.session.scalar(select(AuditEntry).where(AuditEntry.source == "wechat")) is None
    assert official.text(OPENID, f"绑定 {code}").startswith("绑定成功")
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.source == "wechat")).one()
        assert (entry.staff_id, entry.staff_role, entry.action) == (staff["id"], "operator",
                                                                     "绑定微信")
        changes = {change.table_name: change for change in db.session.scalars(
            select(AuditChange).where(AuditChange.entry_id == entry.id))}
        db.session.remove()
    assert set(changes) == {"staff_users", "staff_bind_codes"}
    assert changes["staff_users"].row_id == str(staff["id"])
    assert changes["staff_users"].after == {"official_openid": REDACTED}
    assert changes["staff_bind_codes"].after["used_by_openid"] == REDACTED
    assert OPENID not in repr([(c.before, c.after) for c in changes.values()])
    # the API side (the code asked for) is audited as the staff member's API request
    answer = client.get("/api/v1/staff/audit-log", query_string={"staff_id": staff["id"]},
                        headers=staff_factory("admin")["headers"])
    assert answer.status_code == 200, answer.get_json()
    assert {item["source"] for item in answer.get_json()["items"]} == {"api", "wechat"}


def test_a_code_works_once_and_not_after_ten_minutes(app, client, official, staff_factory):
    staff = staff_factory("operator")
    code = bind_code(client, staff)["code"]
    assert official.text(OPENID, f"绑定 {code}").startswith("绑定成功")
    assert "无效或已过期" in official.text(OTHER_OPENID, f"绑定 {code}")
    assert openid_of(app, staff["id"]) == OPENID

    late = staff_factory("operator")
    code = bind_code(client, late)["code"]
    with app.app_context():
        row = db.session.scalar(select(StaffBindCode).where(StaffBindCode.staff_id == late["id"]))
        row.expires_at -= timedelta(minutes=10, seconds=1)
        db.session.commit()
    assert "无效或已过期" in official.text(OTHER_OPENID, f"绑定 {code}")
    assert openid_of(app, late["id"]) is None


def test_a_new_code_voids_the_previous_one(app, client, official, staff_factory):
    staff = staff_factory("operator")
    old, new = bind_code(client, staff)["code"], bind_code(client, staff)["code"]
    assert "无效或已过期" in official.text(OPENID, f"绑定 {old}")
    assert official.text(OPENID, f"绑定 {new}").startswith("绑定成功")


def test_guessing_codes_is_stopped_after_five_tries(app, client, official, staff_factory):
    staff = staff_factory("admin")
    code = bind_code(client, staff)["code"]
    for guess in ("AAAAAAAA", "BBBBBBBB", "CCCCCCCC", "DDDDDDDD", "EEEEEEEE"):
        assert "无效或已过期" in official.text(OTHER_OPENID, f"绑定 {guess}")
    assert "次数过多" in official.text(OTHER_OPENID, f"绑定 {code}")  # even the right one
    assert openid_of(app, staff["id"]) is None
    assert official.text(OPENID, f"绑定 {code}").startswith("绑定成功")  # another sender may


def test_one_wechat_binds_one_staff_account(app, client, official, staff_factory):
    first, second = staff_factory("admin"), staff_factory("reviewer")
    assert official.text(OPENID, f"绑定 {bind_code(client, first)['code']}").startswith("绑定成功")
    reply = official.text(OPENID, f"绑定 {bind_code(client, second)['code']}")
    assert "已绑定工作人员账号" in reply
    assert openid_of(app, first["id"]) == OPENID and openid_of(app, second["id"]) is None


def test_a_disabled_account_cannot_be_bound(app, client, official, staff_factory):
    staff = staff_factory("admin")
    code = bind_code(client, staff)["code"]
    with app.app_context():
        db.session.get(StaffUser, staff["id"]).is_active = False
        db.session.commit()
    assert "停用" in official.text(OPENID, f"绑定 {code}")
    assert openid_of(app, staff["id"]) is None


def test_bind_code_needs_a_staff_token(client, alice):
    assert client.post("/api/v1/staff/wechat/bind-code").status_code == 401
    answer = client.post("/api/v1/staff/wechat/bind-code", headers=alice["headers"])
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "token_invalid"


# -- OAuth sign-in through the simulator --------------------------------------------------------

def start_sign_in(app, openid, next_path="/console/disputes", session=None):
    """The H5's way up to WeChat's redirect back: our authorize entry → WeChat's page (the
    user consents). Returns the browser session and the callback URL it was sent to."""
    session = session or requests.Session()
    live = app.config["LIVE_URL"]
    start = session.get(live + "/api/v1/staff/wechat/oauth/authorize",
                        params={"next": next_path}, allow_redirects=False, timeout=10)
    assert start.status_code == 302, start.text
    authorize = start.headers["Location"]
    assert authorize.startswith(app.config["WECHAT_API_BASE"] + "/connect/oauth2/authorize?")
    query = parse_qs(urlsplit(authorize).query)
    assert query["scope"] == ["snsapi_base"] and query["appid"] == [app.config["WECHAT_OA_APP_ID"]]
    consented = session.get(authorize.split("#")[0], params={"sim_openid": openid},
                            allow_redirects=False, timeout=10)
    assert consented.status_code == 302
    callback = consented.headers["Location"]
    assert parse_qs(urlsplit(callback).query)["state"] == query["state"]
    return session, callback


def sign_in(app, openid, next_path="/console/disputes", session=None):
    session, callback = start_sign_in(app, openid, next_path, session)
    return session, callback, session.get(callback, timeout=10)


def test_a_bound_staff_member_signs_in_through_wechat_without_a_password(app, staff_factory):
    staff = staff_factory("operator")
    bind(app, staff["id"], OPENID)
    _, _, answer = sign_in(app, OPENID)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["staff"]["id"] == staff["id"] and body["next"] == "/console/disputes"
    me = requests.get(app.config["LIVE_URL"] + "/api/v1/staff/wechat/binding", timeout=10,
                      headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json() == {"bound": True}
    # a staff token like the password login's: it opens the operator's endpoints
    disputes = requests.get(app.config["LIVE_URL"] + "/api/v1/staff/care-disputes", timeout=10,
                            headers={"Authorization": f"Bearer {body['token']}"})
    assert disputes.status_code == 200


def test_the_state_must_come_back_to_the_same_browser_once(app, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    session, callback, answer = sign_in(app, OPENID)
    assert answer.status_code == 200
    # the same callback again (state spent; the code too)
    again = session.get(callback, timeout=10)
    assert again.status_code == 403 and again.json()["error"]["code"] == "oauth_state_invalid"
    # a callback link forwarded to another browser (no state cookie): refused, and the
    # browser that started may still finish
    session, callback = start_sign_in(app, OPENID)
    elsewhere = requests.get(callback, timeout=10)
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["code"] == "oauth_state_invalid"
    assert session.get(callback, timeout=10).status_code == 200
    # no state at all
    bare = session.get(callback.split("&state=")[0], timeout=10)
    assert bare.status_code == 403


def test_an_absolute_next_is_not_followed(app, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    for evil in ("https://evil.example.com/", "//evil.example.com/console", "/api/v1/x"):
        _, _, answer = sign_in(app, OPENID, next_path=evil)
        assert answer.status_code == 200 and answer.json()["next"] == "/console/"


def test_an_unbound_wechat_is_told_to_bind_first(app, staff_factory):
    staff_factory("admin")
    _, _, answer = sign_in(app, "oNobodyWeKnow000000000000002")
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "wechat_not_bound"


def test_a_forged_code_is_refused_by_wechat(app, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    session = requests.Session()
    live = app.config["LIVE_URL"]
    start = session.get(live + "/api/v1/staff/wechat/oauth/authorize", allow_redirects=False,
                        timeout=10)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    answer = session.get(live + "/api/v1/staff/wechat/oauth/callback",
                         params={"code": "made-up", "state": state}, timeout=10)
    assert answer.status_code == 502
    assert answer.json()["error"]["details"]["errcode"] == 40029


def test_unbinding_revokes_wechat_sign_in_and_its_sessions_at_once(app, client, official,
                                                                   staff_factory):
    staff = staff_factory("admin")
    code = bind_code(client, staff)["code"]
    assert official.text(OPENID, f"绑定 {code}").startswith("绑定成功")
    _, _, signed_in = sign_in(app, OPENID)
    wechat_token = signed_in.json()["token"]

    answer = client.post("/api/v1/staff/wechat/unbind", json={}, headers=staff["headers"])
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["bound"] is False and body["was_bound"] is True and body["token"]
    for token in (wechat_token, staff["token"]):  # every earlier session, at once
        old = client.get("/api/v1/staff/wechat/binding",
                         headers={"Authorization": f"Bearer {token}"})
        assert old.status_code == 401
    fresh = client.get("/api/v1/staff/wechat/binding",
                       headers={"Authorization": f"Bearer {body['token']}"})
    assert fresh.status_code == 200 and fresh.get_json() == {"bound": False}
    assert "尚未绑定" in official.click(OPENID, "STAFF_TODO")
    _, _, again = sign_in(app, OPENID)
    assert again.status_code == 403 and again.json()["error"]["code"] == "wechat_not_bound"


def test_only_an_admin_unbinds_someone_else(app, client, staff_factory):
    admin, reviewer, operator = (staff_factory("admin"), staff_factory("reviewer"),
                                 staff_factory("operator"))
    bind(app, reviewer["id"], OPENID)
    refused = client.post("/api/v1/staff/wechat/unbind", json={"staff_id": reviewer["id"]},
                          headers=operator["headers"])
    assert refused.status_code == 403 and openid_of(app, reviewer["id"]) == OPENID
    done = client.post("/api/v1/staff/wechat/unbind", json={"staff_id": reviewer["id"]},
                       headers=admin["headers"])
    assert done.status_code == 200 and done.get_json()["token"] is None
    assert openid_of(app, reviewer["id"]) is None
    missing = client.post("/api/v1/staff/wechat/unbind", json={"staff_id": 999999},
                          headers=admin["headers"])
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "staff_not_found"
    bad = client.post("/api/v1/staff/wechat/unbind", json={"staff_id": "x"},
                      headers=admin["headers"])
    assert bad.status_code == 422


def test_a_disabled_account_cannot_sign_in_through_wechat(app, staff_factory):
    staff = staff_factory("admin")
    bind(app, staff["id"], OPENID)
    with app.app_context():
        db.session.get(StaffUser, staff["id"]).is_active = False
        db.session.commit()
    _, _, answer = sign_in(app, OPENID)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "account_banned"
