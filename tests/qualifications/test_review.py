"""Staff review of documents: every transition and refusal, roles, messages, a race."""
import threading

import requests

from app.common.time import local_today
from app.qualifications.models import Qualification
from app.staff.models import StaffUser
from tests.conftest import row_counts
from tests.qualifications.helpers import (BASE, ID_CARD, OTHER_ID_CARD, STAFF, become_caregiver,
                                          caregiver_state, create, decide, file_id, health_body,
                                          id_card_body, inbox, nursing_body, set_columns,
                                          yesterday)


def test_staff_list_and_detail(client, app, alice, bob, staff_factory):
    alice_cg = become_caregiver(app, alice, name="李桂兰")
    bob_cg = become_caregiver(app, bob, name="张建国")
    card = create(client, alice, id_card_body(client, alice))
    health = create(client, alice, health_body(client, alice))
    bobs = create(client, bob, nursing_body(client, bob))
    reviewer = staff_factory("reviewer")
    decide(client, reviewer, health["id"], approve=True)

    pending = client.get(STAFF, headers=reviewer["headers"]).get_json()
    assert pending["total"] == 2
    assert [(i["id"], i["caregiver_id"], i["caregiver_name"], i["kind"], i["status"])
            for i in pending["items"]] == [
        (card["id"], alice_cg, "李桂兰", "id_card", "pending"),
        (bobs["id"], bob_cg, "张建国", "nursing_certificate", "pending")]
    row = pending["items"][0]
    assert row["number"] == ID_CARD[:4] + "*" * 10 + ID_CARD[-4:]  # masked in lists
    assert row["file_ids"] == card["file_ids"] and row["review_round"] == 1
    assert row["expires_on"] is None

    def ids(**query):
        response = client.get(STAFF, query_string=query, headers=reviewer["headers"])
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids(status="approved") == [health["id"]]
    assert ids(kind="nursing_certificate") == [bobs["id"]]
    assert ids(caregiver_id=alice_cg) == [card["id"]]
    assert ids(status="rejected") == []
    for bad in ({"status": "everything"}, {"kind": "passport"}, {"caregiver_id": "x"},
                {"caregiver_id": 2**40}, {"page": 0}):
        response = client.get(STAFF, query_string=bad, headers=reviewer["headers"])
        assert response.status_code == 422, bad

    detail = client.get(f"{STAFF}/{card['id']}", headers=reviewer["headers"]).get_json()
    assert detail["number"] == ID_CARD and detail["caregiver_name"] == "李桂兰"
    assert [f["id"] for f in detail["files"]] == card["file_ids"]
    missing = client.get(f"{STAFF}/{card['id'] + 1000}", headers=reviewer["headers"])
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "qualification_not_found"


def test_every_transition_and_refusal(client, app, alice, staff_factory):
    become_caregiver(app, alice)
    reviewer = staff_factory("reviewer")
    card = create(client, alice, id_card_body(client, alice))
    health = create(client, alice, health_body(client, alice))

    # reject needs a reason (nothing changes without one)
    before = row_counts(app)
    for body in ({"approve": False}, {"approve": False, "reason": None},
                 {"approve": False, "reason": "  "}):
        response = client.post(f"{STAFF}/{health['id']}/decision", json=body,
                               headers=reviewer["headers"])
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"] in ("reason_required", "validation_error")
    assert client.post(f"{STAFF}/{health['id']}/decision", json={"approve": False},
                       headers=reviewer["headers"]).get_json()["error"]["code"] == \
        "reason_required"
    for body in ({}, {"approve": "maybe"}, {"approve": True, "extra": 1}):
        response = client.post(f"{STAFF}/{health['id']}/decision", json=body,
                               headers=reviewer["headers"])
        assert response.status_code == 422, body
    assert row_counts(app) == before

    # pending → rejected(reason)
    rejected = decide(client, reviewer, health["id"], approve=False, reason="证件照片不清晰")
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "证件照片不清晰"
    assert rejected["reviewed_by_staff_id"] == reviewer["id"]
    # rejected → decided again: 409
    for approve in (True, False):
        again = client.post(f"{STAFF}/{health['id']}/decision",
                            json={"approve": approve, "reason": "再次"},
                            headers=reviewer["headers"])
        assert again.status_code == 409
        assert again.get_json()["error"]["code"] == "invalid_state_transition"
    # rejected → pending (the owner resubmits) → approved
    client.patch(f"{BASE}/{health['id']}", json={"file_ids": [file_id(client, alice)]},
                 headers=alice["headers"])
    approved = decide(client, reviewer, health["id"], approve=True)
    assert approved["status"] == "approved" and approved["reject_reason"] is None
    assert approved["review_round"] == 2
    # approved → decided again: 409
    for approve in (True, False):
        again = client.post(f"{STAFF}/{health['id']}/decision",
                            json={"approve": approve, "reason": "撤销"},
                            headers=reviewer["headers"])
        assert again.status_code == 409
        assert again.get_json()["error"]["code"] == "invalid_state_transition"
    decide(client, reviewer, card["id"], approve=True)

    # one message per decision, each round its own, no number in them
    messages = inbox(app, alice["id"])
    assert [(kind, ref_type, ref_id) for kind, ref_type, ref_id, _ in messages] == [
        ("qualification_rejected", "qualification:1", health["id"]),
        ("qualification_approved", "qualification:2", health["id"]),
        ("qualification_approved", "qualification:1", card["id"])]
    assert "证件照片不清晰" in messages[0][3]
    assert all(ID_CARD not in body for *_, body in messages)


def test_a_second_round_rejection_sends_a_second_message(client, app, alice, staff_factory):
    become_caregiver(app, alice)
    reviewer = staff_factory("reviewer")
    health = create(client, alice, health_body(client, alice))
    decide(client, reviewer, health["id"], approve=False, reason="照片模糊")
    client.patch(f"{BASE}/{health['id']}", json={"title": "健康证明"}, headers=alice["headers"])
    decide(client, reviewer, health["id"], approve=False, reason="缺少背面")
    bodies = [body for kind, *_, body in inbox(app, alice["id"])]
    assert len(bodies) == 2 and "照片模糊" in bodies[0] and "缺少背面" in bodies[1]


def test_an_expired_document_cannot_be_approved(client, app, alice, staff_factory):
    become_caregiver(app, alice)
    reviewer = staff_factory("reviewer")
    health = create(client, alice, health_body(client, alice))
    set_columns(app, Qualification, health["id"], expires_on=yesterday())  # time passed
    before = row_counts(app)
    response = client.post(f"{STAFF}/{health['id']}/decision", json={"approve": True},
                           headers=reviewer["headers"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "already_expired"
    assert row_counts(app) == before and inbox(app, alice["id"]) == []
    # expiring today still counts as valid
    set_columns(app, Qualification, health["id"], expires_on=local_today())
    decide(client, reviewer, health["id"], approve=True)
    # it can still be rejected
    other = create(client, alice, nursing_body(client, alice))
    set_columns(app, Qualification, other["id"], expires_on=yesterday())
    assert decide(client, reviewer, other["id"], approve=False,
                  reason="已过期")["status"] == "rejected"


def test_no_one_reviews_their_own_documents(client, app, alice, staff_factory):
    become_caregiver(app, alice)
    card = create(client, alice, id_card_body(client, alice))
    reviewer = staff_factory("reviewer")
    set_columns(app, StaffUser, reviewer["id"], user_id=alice["id"])
    before = row_counts(app)
    for body in ({"approve": True}, {"approve": False, "reason": "自己驳回"}):
        response = client.post(f"{STAFF}/{card['id']}/decision", json=body,
                               headers=reviewer["headers"])
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "review_own_application"
    assert row_counts(app) == before
    # a colleague may
    decide(client, staff_factory("reviewer"), card["id"], approve=True)


def test_roles_on_staff_routes(client, app, alice, bob, staff_factory):
    become_caregiver(app, alice)
    card = create(client, alice, id_card_body(client, alice))
    operator = staff_factory("operator")
    admin = staff_factory("admin")
    before = row_counts(app)
    routes = (("get", STAFF, None), ("get", f"{STAFF}/{card['id']}", None),
              ("post", f"{STAFF}/{card['id']}/decision", {"approve": True}))
    for method, path, body in routes:
        kwargs = {"json": body} if body else {}
        as_operator = getattr(client, method)(path, headers=operator["headers"], **kwargs)
        assert as_operator.status_code == 403, path
        assert as_operator.get_json()["error"]["code"] == "forbidden"
        as_user = getattr(client, method)(path, headers=alice["headers"], **kwargs)
        assert as_user.status_code == 401, path  # a user's token is no staff token
        assert as_user.get_json()["error"]["code"] == "token_invalid"
        assert getattr(client, method)(path, **kwargs).status_code == 401
    assert row_counts(app) == before
    # a deactivated reviewer is refused too
    reviewer = staff_factory("reviewer")
    set_columns(app, StaffUser, reviewer["id"], is_active=False)
    from app.common.principal_cache import local_principals
    local_principals.drop()
    assert client.get(STAFF, headers=reviewer["headers"]).status_code == 403
    # admins hold every role
    assert decide(client, admin, card["id"], approve=True)["status"] == "approved"


def test_approving_an_id_card_approved_for_another_caregiver_is_refused(
        client, app, alice, bob, staff_factory):
    """Two pending submissions of one number can exist (they raced in, or the first was
    rejected and the owner resubmitted); the decision keeps the number with one caregiver."""
    become_caregiver(app, alice)
    bob_cg = become_caregiver(app, bob)
    reviewer = staff_factory("reviewer")
    alices = create(client, alice, id_card_body(client, alice))
    bobs = create(client, bob, id_card_body(client, bob, number=OTHER_ID_CARD))
    from app.common.crypto import cipher
    with app.app_context():
        index = cipher().blind_index(ID_CARD, "qualification:id_card")
    set_columns(app, Qualification, bobs["id"], number=ID_CARD, number_index=index)
    decide(client, reviewer, alices["id"], approve=True)
    before = row_counts(app)
    refused = client.post(f"{STAFF}/{bobs['id']}/decision", json={"approve": True},
                          headers=reviewer["headers"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "qualification_number_taken"
    assert row_counts(app) == before
    decide(client, reviewer, bobs["id"], approve=False, reason="证件已被他人使用")
    assert caregiver_state(app, bob_cg)[0] == "approved"


def test_two_reviewers_deciding_at_once_one_wins(app, client, alice, staff_factory):
    """Through the live server, several rounds: one decision is applied, the other answers
    409, and the caregiver gets exactly one message per round."""
    become_caregiver(app, alice)
    reviewers = [staff_factory("reviewer"), staff_factory("reviewer")]
    for round_ in range(4):
        body = nursing_body(client, alice, number=f"YL-R{round_:03d}")
        qualification = create(client, alice, body)
        messages_before = len(inbox(app, alice["id"]))
        barrier = threading.Barrier(2)
        outcomes = []

        def decide_now(staff, approve):
            barrier.wait()
            response = requests.post(
                f"{app.config['LIVE_URL']}{STAFF}/{qualification['id']}/decision",
                json={"approve": approve, "reason": None if approve else "不清晰"},
                headers=staff["headers"], timeout=60)
            outcomes.append((response.status_code, response.json().get("status")
                             or response.json()["error"]["code"], approve))

        threads = [threading.Thread(target=decide_now, args=(staff, approve))
                   for staff, approve in zip(reviewers, (True, round_ % 2 == 0))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        codes = sorted(status for status, _, _ in outcomes)
        assert codes == [200, 409], outcomes
        winner = next(o for o in outcomes if o[0] == 200)
        loser = next(o for o in outcomes if o[0] == 409)
        assert loser[1] == "invalid_state_transition"
        final = client.get(f"{BASE}/{qualification['id']}", headers=alice["headers"]).get_json()
        assert final["status"] == winner[1] == ("approved" if winner[2] else "rejected")
        assert len(inbox(app, alice["id"])) == messages_before + 1
        if final["status"] == "approved":  # keep under the per-caregiver limit
            continue
        assert client.delete(f"{BASE}/{qualification['id']}",
                             headers=alice["headers"]).status_code == 204


def test_two_reviewers_approving_one_number_for_two_caregivers_approve_one(
        app, client, alice, bob, staff_factory):
    """Two caregivers' pending ID cards carry one number (they raced in); two reviewers approve
    them at the same moment through the live server: one is approved, the other answers 409
    qualification_number_taken, and nothing deadlocks. Several rounds."""
    from app.common.crypto import cipher
    from tests.conftest import resident_id

    become_caregiver(app, alice)
    become_caregiver(app, bob)
    reviewers = [staff_factory("reviewer"), staff_factory("reviewer")]
    for round_ in range(4):
        number = resident_id(f"3101041970010{round_ + 1}001")
        alices = create(client, alice, id_card_body(client, alice, number=number))
        bobs = create(client, bob, id_card_body(client, bob, number=resident_id(
            f"3101041970020{round_ + 1}001")))
        with app.app_context():
            index = cipher().blind_index(number, "qualification:id_card")
        set_columns(app, Qualification, bobs["id"], number=number, number_index=index)
        barrier = threading.Barrier(2)
        outcomes = []

        def approve(qualification_id, staff):
            barrier.wait()
            response = requests.post(
                f"{app.config['LIVE_URL']}{STAFF}/{qualification_id}/decision",
                json={"approve": True}, headers=staff["headers"], timeout=60)
            body = response.json()
            outcomes.append((response.status_code,
                             body.get("status") or body["error"]["code"]))

        threads = [threading.Thread(target=approve, args=pair)
                   for pair in zip((alices["id"], bobs["id"]), reviewers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == [(200, "approved"), (409, "qualification_number_taken")], \
            outcomes
        # the loser is rejected so the next round starts clean (one pending ID card each)
        loser = next(q for q, user in ((alices, alice), (bobs, bob))
                     if client.get(f"{BASE}/{q['id']}", headers=user["headers"])
                     .get_json()["status"] == "pending")
        decide(client, reviewers[0], loser["id"], approve=False, reason="证件已被他人使用")
