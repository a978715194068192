"""The caregiver's side: applying, the own profile, prices, submission, and the whole journey
through the API up to approval and a reviewed edit."""
from app.caregivers.models import DEFAULT_SKILLS
from tests.caregivers.conftest import (FULL_PROFILE, PDF, add_qualifications, bind_phone,
                                       caregiver_row, notifications, set_qualifications, upload)
from tests.conftest import row_counts


def test_reference_lists_need_no_login(client, app, staff_factory):
    skills = client.get("/api/v1/caregiver-skills")
    assert skills.status_code == 200
    assert skills.get_json() == [{"code": c, "name": n} for c, n in DEFAULT_SKILLS]
    types = client.get("/api/v1/care-types").get_json()
    assert [t["care_type"] for t in types] == ["full_day", "day_shift", "night_shift", "hourly",
                                               "escort"]
    full_day = types[0]
    assert full_day == {"care_type": "full_day", "name": "全天陪护", "unit": "day",
                        "unit_name": "天", "min_price_fen": 15000, "max_price_fen": 100000}
    assert types[4]["unit_name"] == "次"
    # a retired skill leaves the public list, a new one joins it in sort order
    admin = staff_factory("admin")
    assert client.patch("/api/v1/staff/caregiver-skills/dementia", headers=admin["headers"],
                        json={"is_active": False}).status_code == 200
    added = client.post("/api/v1/staff/caregiver-skills", headers=admin["headers"],
                        json={"code": "tube_feeding", "name": "鼻饲护理", "sort_order": 1})
    assert added.status_code == 201
    codes = [s["code"] for s in client.get("/api/v1/caregiver-skills").get_json()]
    assert "dementia" not in codes and codes[:2] == ["post_surgery", "tube_feeding"]


def test_applying_needs_a_bound_phone_and_happens_once(client, app, alice):
    before = row_counts(app)
    refused = client.post("/api/v1/caregiver/me", headers=alice["headers"], json={})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "phone_not_bound"
    assert "手机号" in refused.get_json()["error"]["message"]
    assert row_counts(app) == before
    assert client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()["error"][
        "code"] == "caregiver_not_found"

    bind_phone(app, alice["id"], "13811112222")
    created = client.post("/api/v1/caregiver/me", headers=alice["headers"],
                          json={"name": "李桂兰", "gender": "female"})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["status"] == "draft" and body["status_name"] == "草稿"
    assert body["name"] == "李桂兰" and body["phone"] == "13811112222"  # the owner's plaintext
    assert body["pending_revision"] is None
    assert body["missing_qualifications"] == ["id_card", "health_certificate"]
    assert body["skills"] == [] and body["prices"] == []

    again = client.post("/api/v1/caregiver/me", headers=alice["headers"], json={"name": "张三"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "caregiver_exists"
    assert client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()["name"] == \
        "李桂兰"


def test_the_whole_journey_through_the_api(client, app, alice, hospital, staff_factory):
    reviewer, operator = staff_factory("reviewer"), staff_factory("operator")
    bind_phone(app, alice["id"], "13812345678")
    created = client.post("/api/v1/caregiver/me", headers=alice["headers"], json={"name": "王秀英"})
    assert created.status_code == 201
    caregiver_id = created.get_json()["id"]

    # an incomplete profile cannot be sent for review: every missing field named
    incomplete = client.post("/api/v1/caregiver/me/submit", headers=alice["headers"])
    assert incomplete.status_code == 422
    error = incomplete.get_json()["error"]
    assert error["code"] == "profile_incomplete"
    assert set(error["details"]) == {"gender", "birth_date", "city_code", "photo_file_id",
                                     "skills", "prices"}

    photo = upload(client, alice)
    patched = client.patch("/api/v1/caregiver/me", headers=alice["headers"], json={
        **FULL_PROFILE, "hospital_ids": [hospital], "photo_file_id": photo})
    assert patched.status_code == 200, patched.get_json()
    profile = patched.get_json()
    assert profile["skills"] == [{"code": "elderly", "name": "老年护理"},
                                 {"code": "post_surgery", "name": "术后护理"}]
    assert profile["hospitals"] == [{"id": hospital, "name": "测试护理医院"}]
    assert profile["district_codes"] == ["110101", "110105"]
    assert profile["work_history"][1] == {"start": "2020-07", "end": None,
                                          "employer": "自由执业", "role": "护工"}
    assert profile["accepts_urgent"] is True and profile["night_surcharge_fen"] == 5000

    prices = client.put("/api/v1/caregiver/me/prices", headers=alice["headers"], json={
        "prices": [{"care_type": "full_day", "price_fen": 32000},
                   {"care_type": "escort", "price_fen": 8000}]})
    assert prices.status_code == 200
    assert [(p["care_type"], p["price_fen"], p["unit"]) for p in prices.get_json()["prices"]] \
        == [("escort", 8000, "visit"), ("full_day", 32000, "day")]
    assert client.get("/api/v1/caregiver/me/prices", headers=alice["headers"]).get_json() == \
        prices.get_json()

    # documents must at least be uploaded
    missing = client.post("/api/v1/caregiver/me/submit", headers=alice["headers"])
    assert missing.status_code == 422
    assert missing.get_json()["error"]["code"] == "qualifications_missing"
    assert missing.get_json()["error"]["details"] == {"missing": ["id_card",
                                                                  "health_certificate"]}
    add_qualifications(app, caregiver_id, status="pending")
    bind_phone(app, alice["id"], "13900001111")  # re-bound since applying
    submitted = client.post("/api/v1/caregiver/me/submit", headers=alice["headers"])
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["status"] == "pending_review"
    assert submitted.get_json()["review_round"] == 1
    assert submitted.get_json()["submitted_at"].endswith("+08:00")
    assert submitted.get_json()["phone"] == "13900001111"

    # staff find it in the queue; they see the name, the phone masked
    queue = client.get("/api/v1/staff/caregivers?status=pending_review",
                       headers=reviewer["headers"]).get_json()
    assert queue["total"] == 1
    assert queue["items"][0]["name"] == "王秀英" and queue["items"][0]["phone"] == "139****1111"
    detail = client.get(f"/api/v1/staff/caregivers/{caregiver_id}",
                        headers=operator["headers"]).get_json()
    assert detail["phone"] == "139****1111"
    assert [(q["kind"], q["status"]) for q in detail["qualifications"]] == [
        ("id_card", "pending"), ("health_certificate", "pending")]

    # documents not yet approved: approving the application is refused
    early = client.post(f"/api/v1/staff/caregivers/{caregiver_id}/decision",
                        headers=reviewer["headers"], json={"approve": True})
    assert early.status_code == 409
    assert early.get_json()["error"]["code"] == "qualifications_incomplete"
    assert early.get_json()["error"]["details"] == {"missing": ["id_card", "health_certificate"]}
    assert caregiver_row(app, caregiver_id)["status"] == "pending_review"

    set_qualifications(app, caregiver_id, status="approved")
    approved = client.post(f"/api/v1/staff/caregivers/{caregiver_id}/decision",
                           headers=reviewer["headers"], json={"approve": True})
    assert approved.status_code == 200, approved.get_json()
    row = caregiver_row(app, caregiver_id)
    assert row["status"] == "approved" and row["reviewed_by_staff_id"] == reviewer["id"]
    assert row["approved_at"] is not None and row["reviewed_at"] is not None
    assert notifications(app, alice["id"])[-1][:3] == ("caregiver_approved", "caregiver_review", 1)
    mine = client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()
    assert mine["status_name"] == "已通过" and mine["missing_qualifications"] == []

    # an approved caregiver's vetted edit waits for review; the rest applies now
    edit = client.patch("/api/v1/caregiver/me", headers=alice["headers"], json={
        "name": "王秀云", "bio": "新的简介", "night_service": False, "accepts_urgent": False})
    assert edit.status_code == 200
    body = edit.get_json()
    assert body["name"] == "王秀英" and body["bio"] == FULL_PROFILE["bio"]
    assert body["night_service"] is False and body["accepts_urgent"] is False
    assert body["pending_revision"]["changes"] == {"name": "王秀云", "bio": "新的简介"}
    assert caregiver_row(app, caregiver_id)["status"] == "approved"  # still listed
    revisions = client.get("/api/v1/staff/caregiver-revisions",
                           headers=reviewer["headers"]).get_json()
    assert revisions["total"] == 1
    revision = revisions["items"][0]
    assert revision["caregiver_name"] == "王秀英" and revision["status_name"] == "待审核"
    decided = client.post(f"/api/v1/staff/caregiver-revisions/{revision['id']}/decision",
                          headers=reviewer["headers"], json={"approve": True})
    assert decided.status_code == 200 and decided.get_json()["status"] == "approved"
    mine = client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()
    assert mine["name"] == "王秀云" and mine["bio"] == "新的简介"
    assert mine["pending_revision"] is None
    assert notifications(app, alice["id"])[-1][:3] == ("caregiver_revision_approved",
                                                       "caregiver_revision", revision["id"])


def test_rejected_application_is_fixed_and_sent_again(client, app, applicant, staff_factory):
    reviewer = staff_factory("reviewer")
    caregiver_id = applicant["caregiver_id"]
    add_qualifications(app, caregiver_id)
    assert client.post("/api/v1/caregiver/me/submit",
                       headers=applicant["headers"]).status_code == 200
    no_reason = client.post(f"/api/v1/staff/caregivers/{caregiver_id}/decision",
                            headers=reviewer["headers"], json={"approve": False})
    assert no_reason.status_code == 422
    assert no_reason.get_json()["error"]["code"] == "reason_required"
    assert caregiver_row(app, caregiver_id)["status"] == "pending_review"
    rejected = client.post(f"/api/v1/staff/caregivers/{caregiver_id}/decision",
                           headers=reviewer["headers"],
                           json={"approve": False, "reason": "照片不清晰"})
    assert rejected.status_code == 200
    mine = client.get("/api/v1/caregiver/me", headers=applicant["headers"]).get_json()
    assert mine["status"] == "rejected" and mine["reject_reason"] == "照片不清晰"
    assert notifications(app, applicant["id"])[-1][:3] == ("caregiver_rejected",
                                                           "caregiver_review", 1)
    assert "照片不清晰" in notifications(app, applicant["id"])[-1][3]
    # rejected: edits apply directly, then a second round
    photo = upload(client, applicant)
    fixed = client.patch("/api/v1/caregiver/me", headers=applicant["headers"],
                         json={"photo_file_id": photo})
    assert fixed.status_code == 200 and fixed.get_json()["photo_file_id"] == photo
    again = client.post("/api/v1/caregiver/me/submit", headers=applicant["headers"])
    assert again.get_json()["review_round"] == 2 and again.get_json()["reject_reason"] is None
    client.post(f"/api/v1/staff/caregivers/{caregiver_id}/decision",
                headers=reviewer["headers"], json={"approve": False, "reason": "资料不实"})
    # each round has its own message
    kinds = [n[:3] for n in notifications(app, applicant["id"])]
    assert kinds == [("caregiver_rejected", "caregiver_review", 1),
                     ("caregiver_rejected", "caregiver_review", 2)]


def test_prices_are_checked_against_the_standard_and_replace_all(client, app, applicant):
    caregiver_id = applicant["caregiver_id"]
    headers = applicant["headers"]
    ok = client.put("/api/v1/caregiver/me/prices", headers=headers, json={"prices": [
        {"care_type": "hourly", "price_fen": 3000}, {"care_type": "night_shift",
                                                      "price_fen": 60000}]})
    assert ok.status_code == 200
    assert caregiver_row(app, caregiver_id)["prices"] == {"hourly": 3000, "night_shift": 60000}
    # the same type again in a later replace updates in place (no unique-key clash)
    again = client.put("/api/v1/caregiver/me/prices", headers=headers, json={"prices": [
        {"care_type": "hourly", "price_fen": 4000}]})
    assert again.status_code == 200
    assert caregiver_row(app, caregiver_id)["prices"] == {"hourly": 4000}


def test_photo_must_be_an_own_image(client, app, applicant, bob):
    pdf = upload(client, applicant, PDF, "cv.pdf")
    refused = client.patch("/api/v1/caregiver/me", headers=applicant["headers"],
                           json={"photo_file_id": pdf})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "photo_not_image"
    bobs = upload(client, bob)
    refused = client.patch("/api/v1/caregiver/me", headers=applicant["headers"],
                           json={"photo_file_id": bobs})
    assert refused.status_code == 404 and refused.get_json()["error"]["code"] == "file_not_found"
    assert caregiver_row(app, applicant["caregiver_id"])["photo_file_id"] == applicant["photo"]
