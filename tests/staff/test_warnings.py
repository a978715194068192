"""Warning a user (POST /api/v1/staff/users/<id>/warn) and unbanning with a reason: the record,
the user's message (inbox, and the WeChat push when subscribed), the audit entry, and every
refusal with its code."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.staff import services as staff_services
from app.staff.models import StaffUser, UserWarningRecord
from app.users.models import User
from tests.audit.conftest import change_of, entries, only_entry
from tests.notifications.conftest import messages, openid_of, run_worker, subscribe

TEMPLATE = "TMPL_ACCOUNT_NOTICE"


@pytest.fixture
def operator(staff_factory):
    return staff_factory("operator")


def warn(client, staff, user_id, body):
    return client.post(f"/api/v1/staff/users/{user_id}/warn", headers=staff["headers"], json=body)


def warnings_of(app, user_id):
    with app.app_context():
        rows = [(w.user_id, w.staff_id, w.reason) for w in db.session.scalars(
            select(UserWarningRecord).where(UserWarningRecord.user_id == user_id)
            .order_by(UserWarningRecord.id))]
        db.session.remove()
    return rows


def test_a_warning_is_recorded_told_to_the_user_and_audited(app, client, alice, operator):
    answer = warn(client, operator, alice["id"], {"reason": "  发布不实评价  "})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert (body["user_id"], body["staff_id"], body["reason"]) == (
        alice["id"], operator["id"], "发布不实评价")  # trimmed, like every Text field
    assert body["id"] and body["created_at"]
    assert warnings_of(app, alice["id"]) == [(alice["id"], operator["id"], "发布不实评价")]

    inbox = client.get("/api/v1/notifications", headers=alice["headers"]).get_json()["items"]
    assert len(inbox) == 1
    assert inbox[0]["kind"] == "user_warned" and "发布不实评价" in inbox[0]["body"]

    entry = only_entry(app)
    assert (entry["staff_id"], entry["source"], entry["action"]) == (
        operator["id"], "api", f"/api/v1/staff/users/{alice['id']}/warn")
    change = change_of(entry, "user_warnings", body["id"], "insert")
    assert change["after"]["reason"] == "发布不实评价"
    assert change["after"]["staff_id"] == operator["id"]

    # a second warning is another record and another message
    assert warn(client, operator, alice["id"], {"reason": "再次违规"}).status_code == 201
    assert len(warnings_of(app, alice["id"])) == 2
    assert client.get("/api/v1/notifications/unread-count",
                      headers=alice["headers"]).get_json()["unread"] == 2


def test_a_subscribed_user_gets_the_warning_through_wechat_after_the_commit(app, client, alice,
                                                                            operator):
    subscribe(client, app, alice, TEMPLATE)
    assert warn(client, operator, alice["id"], {"reason": "辱骂护工"}).status_code == 201
    run_worker(app)
    [sent] = messages(app, touser=openid_of(app, alice["id"]))
    assert sent["template_id"] == TEMPLATE and sent["page"] == "pages/inbox/index"
    assert sent["data"]["thing3"]["value"] == "辱骂护工"
    assert sent["data"]["phrase2"]["value"] == "警告"


def test_a_refused_warning_records_nothing_and_sends_nothing(app, client, alice, bob, operator,
                                                             staff_factory):
    for body in ({}, {"reason": ""}, {"reason": " 是 "}, {"reason": "长" * 201},
                 {"reason": 12}):
        refused = warn(client, operator, alice["id"], body)
        assert refused.status_code == 422, (body, refused.get_json())
        assert refused.get_json()["error"]["code"]
    lone_surrogate = client.post(f"/api/v1/staff/users/{alice['id']}/warn",
                                 headers=operator["headers"], data='{"reason": "\\ud800坏了"}',
                                 content_type="application/json")
    assert lone_surrogate.status_code == 422, lone_surrogate.get_json()
    missing = warn(client, operator, 999999, {"reason": "发布广告"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "user_not_found"
    reviewer = staff_factory("reviewer")
    assert warn(client, reviewer, alice["id"], {"reason": "发布广告"}).status_code == 403
    assert client.post(f"/api/v1/staff/users/{alice['id']}/warn",
                       json={"reason": "发布广告"}).status_code == 401
    assert warn(client, bob, alice["id"], {"reason": "发布广告"}).status_code in (401, 403)
    not_json = client.post(f"/api/v1/staff/users/{alice['id']}/warn", headers=operator["headers"],
                           data="reason=x", content_type="application/x-www-form-urlencoded")
    assert not_json.status_code == 415
    assert warnings_of(app, alice["id"]) == []
    assert client.get("/api/v1/notifications", headers=alice["headers"]).get_json()["items"] == []
    assert entries(app) == []


def test_a_banned_user_can_be_warned(app, client, alice, operator):
    assert client.post(f"/api/v1/staff/users/{alice['id']}/ban", headers=operator["headers"],
                       json={"reason": "恶意刷单"}).status_code == 200
    assert warn(client, operator, alice["id"], {"reason": "恶意刷单,封禁前警告补录"}).status_code == 201
    assert len(warnings_of(app, alice["id"])) == 1


def test_a_disabled_staff_member_cannot_warn_through_the_service(app, alice, operator):
    with app.app_context():
        staff = db.session.get(StaffUser, operator["id"])
        staff.is_active = False
        with pytest.raises(staff_services.Forbidden):
            staff_services.warn_user(staff, alice["id"], "发布广告")
        db.session.rollback()
        db.session.remove()


def test_unban_keeps_its_reason_and_the_next_ban_clears_it(app, client, alice, operator):
    ban = f"/api/v1/staff/users/{alice['id']}/ban"
    unban = f"/api/v1/staff/users/{alice['id']}/unban"
    assert client.post(ban, headers=operator["headers"], json={"reason": "恶意刷单"}).status_code == 200
    for body in ({"reason": "是"}, {"reason": "长" * 201}, {"reason": None}, {"other": "x"}):
        refused = client.post(unban, headers=operator["headers"], json=body)
        assert refused.status_code == 422, (body, refused.get_json())
    unbanned = client.post(unban, headers=operator["headers"], json={"reason": " 申诉核实为误封 "})
    assert unbanned.status_code == 200, unbanned.get_json()
    with app.app_context():
        user = db.session.get(User, alice["id"])
        assert (user.status, user.ban_reason, user.unban_reason) == ("active", None, "申诉核实为误封")
        db.session.remove()
    change = change_of(entries(app)[-1], "users", alice["id"], "update")
    assert (change["before"]["unban_reason"], change["after"]["unban_reason"]) == (
        None, "申诉核实为误封")

    assert client.post(ban, headers=operator["headers"], json={"reason": "再次刷单"}).status_code == 200
    # no body at all is still an unban (the reason is optional), and clears nothing it should not
    assert client.post(unban, headers=operator["headers"]).status_code == 200
    with app.app_context():
        user = db.session.get(User, alice["id"])
        assert (user.status, user.ban_reason, user.unban_reason) == ("active", None, None)
        db.session.remove()
    assert client.post(unban, headers=operator["headers"],
                       json={"reason": "重复解封"}).status_code == 409


def test_the_contract_documents_warn_and_the_unban_reason(client):
    spec = client.get("/api/openapi.json").get_json()
    warn_doc = spec["paths"]["/api/v1/staff/users/{user_id}/warn"]["post"]
    assert {"201", "401", "403", "404", "422"} <= set(warn_doc["responses"])
    unban_doc = spec["paths"]["/api/v1/staff/users/{user_id}/unban"]["post"]
    assert not unban_doc["requestBody"].get("required", False)
    with_notes = (spec["components"]["schemas"]["UnbanUser"]["properties"]["reason"])
    assert with_notes["maxLength"] == 200
