"""The user's inbox tells how a real-name review ended (issue 8, item 15)."""
from tests.users.test_me_and_real_name import submit


def _decide(client, staff, record_id, **decision):
    response = client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision",
                           json=decision, headers=staff["headers"])
    assert response.status_code == 200, response.get_json()


def _inbox(client, user):
    return client.get("/api/v1/notifications", headers=user["headers"]).get_json()["items"]


def test_approval_and_rejection_each_send_one_message(client, alice, bob, staff_factory):
    reviewer = staff_factory("reviewer")
    rejected_id = submit(client, alice).get_json()["id"]
    assert _inbox(client, alice) == []  # submitting alone tells nothing
    _decide(client, reviewer, rejected_id, approve=False, reason="证件照片不清晰")
    [rejection] = _inbox(client, alice)
    assert rejection["kind"] == "real_name_rejected" and rejection["title"] == "实名认证未通过"
    assert "证件照片不清晰" in rejection["body"]
    assert (rejection["ref_type"], rejection["ref_id"], rejection["read_at"]) == (
        "real_name", rejected_id, None)

    approved_id = submit(client, alice).get_json()["id"]
    _decide(client, reviewer, approved_id, approve=True)
    approval, _ = _inbox(client, alice)
    assert approval["kind"] == "real_name_approved" and approval["ref_id"] == approved_id
    assert approval["title"] == "实名认证已通过"
    # personal data stays out of the message: neither the name nor the ID number
    assert "王小明" not in approval["body"] + rejection["body"]
    assert client.get("/api/v1/notifications/unread-count",
                      headers=alice["headers"]).get_json() == {"unread": 2}
    assert _inbox(client, bob) == []


def test_a_refused_decision_sends_nothing(client, alice, staff_factory):
    record_id = submit(client, alice).get_json()["id"]
    reviewer = staff_factory("reviewer")
    no_reason = client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision",
                            json={"approve": False}, headers=reviewer["headers"])
    assert no_reason.status_code == 422
    assert _inbox(client, alice) == []
    _decide(client, reviewer, record_id, approve=True)
    twice = client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision",
                        json={"approve": True}, headers=reviewer["headers"])
    assert twice.status_code == 409
    assert [n["kind"] for n in _inbox(client, alice)] == ["real_name_approved"]
