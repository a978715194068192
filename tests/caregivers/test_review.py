"""Staff side: every transition allowed and refused, roles, own review, revisions, and the
race of two decisions."""
import threading

import pytest

from app.common.time import local_today
from tests.caregivers.conftest import (add_qualifications, caregiver_row, link_staff_to_user,
                                       notifications, set_qualifications, upload)
from tests.conftest import make_caregiver, row_counts

STATUSES = ("draft", "pending_review", "approved", "rejected", "suspended")


def decide(client, staff, caregiver_id, approve=True, reason=None):
    body = {"approve": approve} if reason is None else {"approve": approve, "reason": reason}
    return client.post(f"/api/v1/staff/caregivers/{caregiver_id}/decision",
                       headers=staff["headers"], json=body)


def caregiver_in(app, status, user_id=None, **fields):
    """A complete caregiver in `status`, with approved unexpired documents."""
    caregiver_id = make_caregiver(app, user_id=user_id, status=status, **fields)
    add_qualifications(app, caregiver_id)
    return caregiver_id


@pytest.mark.parametrize("status", STATUSES)
def test_application_decisions_from_every_state(client, app, staff_factory, status):
    reviewer = staff_factory("reviewer")
    for approve, reason in ((True, None), (False, "资料不全")):
        caregiver_id = caregiver_in(app, status)
        before = caregiver_row(app, caregiver_id)
        response = decide(client, reviewer, caregiver_id, approve, reason)
        if status == "pending_review":
            assert response.status_code == 200, response.get_json()
            assert response.get_json()["status"] == ("approved" if approve else "rejected")
        else:
            assert response.status_code == 409, (status, response.get_json())
            error = response.get_json()["error"]
            assert error["code"] == "invalid_state_transition"
            assert error["message"] == "当前状态不允许此操作"
            assert caregiver_row(app, caregiver_id) == before


@pytest.mark.parametrize("status", STATUSES)
def test_submission_from_every_state(client, app, alice, status):
    photo = upload(client, alice)
    caregiver_id = caregiver_in(app, status, user_id=alice["id"], photo_file_id=photo)
    from tests.caregivers.conftest import bind_phone
    bind_phone(app, alice["id"])
    before = row_counts(app)
    response = client.post("/api/v1/caregiver/me/submit", headers=alice["headers"])
    if status in ("draft", "rejected"):
        assert response.status_code == 200, response.get_json()
        assert caregiver_row(app, caregiver_id)["status"] == "pending_review"
    else:
        assert response.status_code == 409
        assert response.get_json()["error"]["code"] == "invalid_state_transition"
        assert caregiver_row(app, caregiver_id)["status"] == status
        assert row_counts(app) == before


@pytest.mark.parametrize("status", STATUSES)
def test_suspend_and_reinstate_from_every_state(client, app, staff_factory, status):
    operator = staff_factory("operator")
    caregiver_id = caregiver_in(app, status)
    suspended = client.post(f"/api/v1/staff/caregivers/{caregiver_id}/suspend",
                            headers=operator["headers"], json={"reason": "投诉核查中"})
    if status == "approved":
        assert suspended.status_code == 200
        row = caregiver_row(app, caregiver_id)
        assert (row["status"], row["suspended_by"], row["suspend_reason"],
                row["suspension_count"]) == ("suspended", "staff", "投诉核查中", 1)
    else:
        assert suspended.status_code == 409
        assert suspended.get_json()["error"]["code"] == "invalid_state_transition"
        assert caregiver_row(app, caregiver_id)["status"] == status
    caregiver_id = caregiver_in(app, status)
    reinstated = client.post(f"/api/v1/staff/caregivers/{caregiver_id}/reinstate",
                             headers=operator["headers"])
    if status == "suspended":
        assert reinstated.status_code == 200
        row = caregiver_row(app, caregiver_id)
        assert (row["status"], row["suspended_by"], row["suspend_reason"]) == (
            "approved", None, None)
    else:
        assert reinstated.status_code == 409
        assert reinstated.get_json()["error"]["code"] == "invalid_state_transition"


def test_suspension_rounds_and_lapsed_documents(client, app, staff_factory):
    operator = staff_factory("operator")
    caregiver_id = caregiver_in(app, "approved")
    user_id = caregiver_row(app, caregiver_id)["user_id"]
    for _ in range(2):
        assert client.post(f"/api/v1/staff/caregivers/{caregiver_id}/suspend",
                           headers=operator["headers"], json={"reason": "投诉核查中"}
                           ).status_code == 200
        assert client.post(f"/api/v1/staff/caregivers/{caregiver_id}/reinstate",
                           headers=operator["headers"]).status_code == 200
    assert [n[:3] for n in notifications(app, user_id)] == [
        ("caregiver_suspended", "caregiver_suspension", 1),
        ("caregiver_reinstated", "caregiver_suspension", 1),
        ("caregiver_suspended", "caregiver_suspension", 2),
        ("caregiver_reinstated", "caregiver_suspension", 2)]
    client.post(f"/api/v1/staff/caregivers/{caregiver_id}/suspend",
                headers=operator["headers"], json={"reason": "证件到期"})
    from datetime import timedelta
    set_qualifications(app, caregiver_id, expires_on=local_today() - timedelta(days=1))
    refused = client.post(f"/api/v1/staff/caregivers/{caregiver_id}/reinstate",
                          headers=operator["headers"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "qualifications_incomplete"
    assert refused.get_json()["error"]["details"] == {"missing": ["id_card",
                                                                  "health_certificate"]}
    assert caregiver_row(app, caregiver_id)["status"] == "suspended"


def test_staff_roles_are_enforced(client, app, alice, staff_factory):
    reviewer, operator, admin = (staff_factory("reviewer"), staff_factory("operator"),
                                 staff_factory("admin"))
    pending = caregiver_in(app, "pending_review")
    approved = caregiver_in(app, "approved")
    before = row_counts(app)
    refusals = [
        (operator, "post", f"/api/v1/staff/caregivers/{pending}/decision", {"approve": True}),
        (reviewer, "post", f"/api/v1/staff/caregivers/{approved}/suspend", {"reason": "测试原因"}),
        (reviewer, "post", f"/api/v1/staff/caregivers/{approved}/reinstate", None),
        (operator, "get", "/api/v1/staff/caregiver-revisions", None),
        (operator, "post", "/api/v1/staff/caregiver-revisions/1/decision", {"approve": True}),
        (reviewer, "post", "/api/v1/staff/caregiver-skills", {"code": "abc", "name": "某技能"}),
        (operator, "patch", "/api/v1/staff/caregiver-skills/elderly", {"name": "老人护理"}),
        (reviewer, "get", "/api/v1/staff/settings/care-prices", None),
        (operator, "put", "/api/v1/staff/settings/care-prices", {"limits": {}}),
    ]
    for staff, method, url, body in refusals:
        response = getattr(client, method)(url, headers=staff["headers"], json=body)
        assert response.status_code == 403, (url, response.get_json())
        assert response.get_json()["error"]["code"] == "forbidden"
    # a user's token is not a staff token, whatever the route
    for method, url in (("get", "/api/v1/staff/caregivers"),
                        ("get", f"/api/v1/staff/caregivers/{pending}"),
                        ("post", f"/api/v1/staff/caregivers/{pending}/decision"),
                        ("post", f"/api/v1/staff/caregivers/{approved}/suspend"),
                        ("get", "/api/v1/staff/caregiver-revisions"),
                        ("put", "/api/v1/staff/settings/care-prices")):
        response = getattr(client, method)(url, headers=alice["headers"], json={"approve": True})
        assert response.status_code == 401, url
    assert row_counts(app) == before
    assert caregiver_row(app, pending)["status"] == "pending_review"
    assert caregiver_row(app, approved)["status"] == "approved"
    # both read roles can read; admin can do everything
    for staff in (reviewer, operator, admin):
        assert client.get(f"/api/v1/staff/caregivers/{pending}",
                          headers=staff["headers"]).status_code == 200
    assert decide(client, admin, pending).status_code == 200
    assert client.post(f"/api/v1/staff/caregivers/{approved}/suspend", headers=admin["headers"],
                       json={"reason": "测试原因"}).status_code == 200


def test_reviewing_ones_own_application_or_revision_is_403(client, app, alice, staff_factory):
    reviewer = staff_factory("reviewer")
    link_staff_to_user(app, reviewer["id"], alice["id"])
    caregiver_id = caregiver_in(app, "pending_review", user_id=alice["id"])
    before = row_counts(app)
    for approve, reason in ((True, None), (False, "自己驳回")):
        response = decide(client, reviewer, caregiver_id, approve, reason)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "review_own_application"
        assert response.get_json()["error"]["message"] == "不能审核本人的申请"
    assert row_counts(app) == before
    assert caregiver_row(app, caregiver_id)["status"] == "pending_review"
    # another reviewer may; then alice's own revision is refused to her reviewer account too
    other = staff_factory("reviewer")
    assert decide(client, other, caregiver_id).status_code == 200
    client.patch("/api/v1/caregiver/me", headers=alice["headers"], json={"bio": "改一下"})
    revision_id = client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()[
        "pending_revision"]["id"]
    own = client.post(f"/api/v1/staff/caregiver-revisions/{revision_id}/decision",
                      headers=reviewer["headers"], json={"approve": True})
    assert own.status_code == 403 and own.get_json()["error"]["code"] == "review_own_application"
    assert caregiver_row(app, caregiver_id)["bio"] == "耐心细致"


def test_revision_lifecycle(client, app, alice, staff_factory):
    reviewer = staff_factory("reviewer")
    caregiver_id = caregiver_in(app, "approved", user_id=alice["id"])
    headers = alice["headers"]
    assert client.delete("/api/v1/caregiver/me/revision", headers=headers).status_code == 404
    # the first edit creates the revision, later ones merge into the same one
    client.patch("/api/v1/caregiver/me", headers=headers, json={"bio": "第一版", "name": "王小英"})
    merged = client.patch("/api/v1/caregiver/me", headers=headers,
                          json={"bio": "第二版", "skills": ["escort", "elderly"],
                                "years_experience": 6})
    pending = merged.get_json()["pending_revision"]
    assert pending["changes"] == {"bio": "第二版", "name": "王小英", "years_experience": 6,
                                  "skills": ["elderly", "escort"]}
    # setting a field back to the listed value drops it from the revision
    back = client.patch("/api/v1/caregiver/me", headers=headers, json={"name": "王秀英"})
    assert "name" not in back.get_json()["pending_revision"]["changes"]
    assert back.get_json()["pending_revision"]["id"] == pending["id"]
    listing = client.get("/api/v1/staff/caregiver-revisions", headers=reviewer["headers"])
    assert listing.get_json()["total"] == 1
    # rejected: old values stay
    url = f"/api/v1/staff/caregiver-revisions/{pending['id']}/decision"
    assert client.post(url, headers=reviewer["headers"], json={"approve": False}).get_json()[
        "error"]["code"] == "reason_required"
    rejected = client.post(url, headers=reviewer["headers"],
                           json={"approve": False, "reason": "简介含联系方式"})
    assert rejected.status_code == 200 and rejected.get_json()["reject_reason"] == "简介含联系方式"
    row = caregiver_row(app, caregiver_id)
    assert (row["bio"], row["skills"], row["years_experience"]) == ("耐心细致", ["elderly"], 5)
    assert notifications(app, alice["id"])[-1][:3] == ("caregiver_revision_rejected",
                                                       "caregiver_revision", pending["id"])
    for approve, reason in ((True, None), (False, "再驳回")):
        again = client.post(url, headers=reviewer["headers"],
                            json={"approve": approve, "reason": reason})
        assert again.status_code == 409
        assert again.get_json()["error"]["code"] == "invalid_state_transition"
    # a new edit opens a new revision; withdrawn, it cannot be decided
    second = client.patch("/api/v1/caregiver/me", headers=headers, json={"bio": "第三版"})
    second_id = second.get_json()["pending_revision"]["id"]
    assert second_id != pending["id"]
    assert client.delete("/api/v1/caregiver/me/revision", headers=headers).status_code == 204
    assert client.get("/api/v1/caregiver/me", headers=headers).get_json()[
        "pending_revision"] is None
    withdrawn = client.post(f"/api/v1/staff/caregiver-revisions/{second_id}/decision",
                            headers=reviewer["headers"], json={"approve": True})
    assert withdrawn.status_code == 409
    assert caregiver_row(app, caregiver_id)["bio"] == "耐心细致"
    assert client.post("/api/v1/staff/caregiver-revisions/999999/decision",
                       headers=reviewer["headers"], json={"approve": True}).get_json()[
        "error"]["code"] == "revision_not_found"


def test_a_skill_retired_while_a_revision_waits_is_refused_at_approval(client, app, alice,
                                                                       staff_factory):
    reviewer, admin = staff_factory("reviewer"), staff_factory("admin")
    caregiver_id = caregiver_in(app, "approved", user_id=alice["id"])
    revision = client.patch("/api/v1/caregiver/me", headers=alice["headers"],
                            json={"skills": ["stroke"]}).get_json()["pending_revision"]
    client.patch("/api/v1/staff/caregiver-skills/stroke", headers=admin["headers"],
                 json={"is_active": False})
    response = client.post(f"/api/v1/staff/caregiver-revisions/{revision['id']}/decision",
                           headers=reviewer["headers"], json={"approve": True})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "skill_retired"
    assert caregiver_row(app, caregiver_id)["skills"] == ["elderly"]
    assert client.get("/api/v1/staff/caregiver-revisions",
                      headers=reviewer["headers"]).get_json()["total"] == 1


def test_suspended_caregiver_edits_also_go_through_review(client, app, alice):
    caregiver_id = caregiver_in(app, "suspended", user_id=alice["id"], suspended_by="expiry",
                                suspend_reason="证件过期")
    response = client.patch("/api/v1/caregiver/me", headers=alice["headers"],
                            json={"name": "王秀云", "city_code": "110100",
                                  "district_codes": ["110102"]})
    assert response.status_code == 200
    assert response.get_json()["suspended_by"] == "expiry"
    row = caregiver_row(app, caregiver_id)
    assert row["name"] == "王秀英" and row["districts"] == ["110102"]
    assert response.get_json()["pending_revision"]["changes"] == {"name": "王秀云"}


def test_under_review_the_profile_is_locked(client, app, alice):
    caregiver_id = caregiver_in(app, "pending_review", user_id=alice["id"])
    before = caregiver_row(app, caregiver_id)
    response = client.patch("/api/v1/caregiver/me", headers=alice["headers"],
                            json={"bio": "改一下"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "caregiver_under_review"
    assert response.get_json()["error"]["message"] == "资料审核中,暂不能修改"
    assert caregiver_row(app, caregiver_id) == before


def test_one_user_cannot_reach_anothers_profile(client, app, alice, bob):
    caregiver_id = caregiver_in(app, "draft", user_id=alice["id"])
    before = caregiver_row(app, caregiver_id)
    # /me is always the caller's own: bob has none
    assert client.get("/api/v1/caregiver/me", headers=bob["headers"]).status_code == 404
    assert client.patch("/api/v1/caregiver/me", headers=bob["headers"],
                        json={"bio": "抢占"}).status_code == 404
    assert client.put("/api/v1/caregiver/me/prices", headers=bob["headers"], json={
        "prices": [{"care_type": "full_day", "price_fen": 20000}]}).status_code == 404
    assert client.post("/api/v1/caregiver/me/submit", headers=bob["headers"]).status_code == 404
    # the ids of staff routes are no way in for a user either
    for method, url in (("get", f"/api/v1/staff/caregivers/{caregiver_id}"),
                        ("post", f"/api/v1/staff/caregivers/{caregiver_id}/suspend")):
        assert getattr(client, method)(url, headers=bob["headers"],
                                       json={"reason": "测试原因"}).status_code == 401
    # alice cannot borrow bob's photo, and bob cannot download alice's
    bobs = upload(client, bob)
    assert client.patch("/api/v1/caregiver/me", headers=alice["headers"],
                        json={"photo_file_id": bobs}).status_code == 404
    alices = upload(client, alice)
    assert client.get(f"/api/v1/files/{alices}", headers=bob["headers"]).status_code == 404
    assert caregiver_row(app, caregiver_id) == before


def test_staff_list_filters_and_pages(client, app, staff_factory):
    reviewer = staff_factory("reviewer")
    ids = [caregiver_in(app, "pending_review", submitted_at=None) for _ in range(3)]
    caregiver_in(app, "approved", city_code="310100", districts=("310104",))
    listing = client.get("/api/v1/staff/caregivers?status=pending_review&page_size=2",
                         headers=reviewer["headers"]).get_json()
    assert listing["total"] == 3 and [i["id"] for i in listing["items"]] == ids[:2]
    assert listing["items"][0]["status_name"] == "待审核"
    shanghai = client.get("/api/v1/staff/caregivers?city_code=310100",
                          headers=reviewer["headers"]).get_json()
    assert shanghai["total"] == 1 and shanghai["items"][0]["phone"] == "137****0000"
    bad = client.get("/api/v1/staff/caregivers?status=nope", headers=reviewer["headers"])
    assert bad.status_code == 422
    assert client.get("/api/v1/staff/caregivers/999999",
                      headers=reviewer["headers"]).get_json()["error"]["code"] == \
        "caregiver_not_found"


def _race(app, calls):
    """Run each (method, url, headers, body) at once in its own thread; the answers."""
    barrier = threading.Barrier(len(calls))
    answers = [None] * len(calls)

    def run(index, method, url, headers, body):
        client = app.test_client()
        barrier.wait()
        response = getattr(client, method)(url, headers=headers, json=body)
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, *call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def test_two_approvals_racing_only_one_wins(app, staff_factory):
    first, second = staff_factory("reviewer"), staff_factory("reviewer")
    for _ in range(3):
        caregiver_id = caregiver_in(app, "pending_review")
        user_id = caregiver_row(app, caregiver_id)["user_id"]
        url = f"/api/v1/staff/caregivers/{caregiver_id}/decision"
        answers = _race(app, [("post", url, first["headers"], {"approve": True}),
                              ("post", url, second["headers"],
                               {"approve": False, "reason": "资料不全"})])
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200, 409], answers
        loser = next(body for status, body in answers if status == 409)
        assert loser["error"]["code"] == "invalid_state_transition"
        winner = next(body for status, body in answers if status == 200)
        assert caregiver_row(app, caregiver_id)["status"] == winner["status"]
        assert len(notifications(app, user_id)) == 1


def test_two_edits_racing_leave_one_pending_revision(app, alice):
    from sqlalchemy import func, select

    from app.caregivers.models import CaregiverRevision
    from app.extensions import db

    caregiver_id = caregiver_in(app, "approved", user_id=alice["id"])
    url = "/api/v1/caregiver/me"
    answers = _race(app, [("patch", url, alice["headers"], {"bio": f"版本{i}"})
                          for i in range(4)])
    assert all(status == 200 for status, _ in answers), answers
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(CaregiverRevision).where(
            CaregiverRevision.caregiver_id == caregiver_id,
            CaregiverRevision.status == "pending"))
        db.session.remove()
    assert count == 1
