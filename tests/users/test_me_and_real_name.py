from tests.conftest import ID_ALICE, ID_MOTHER, auth, login, row_counts
from tests.files.test_files import PNG, upload


def test_get_and_patch_me(client, alice):
    response = client.patch("/api/v1/me", json={"nickname": " 小王 ", "gender": "male",
                                                "avatar_url": "https://img.example.com/a.png"},
                            headers=alice["headers"])
    assert response.status_code == 200
    assert response.get_json()["nickname"] == "小王"
    assert client.get("/api/v1/me", headers=alice["headers"]).get_json()["gender"] == "male"


def test_patch_me_rejects_bad_fields_and_changes_nothing(client, alice):
    for body in ({"nickname": "x" * 33}, {"gender": "robot"}, {"avatar_url": "javascript:alert(1)"},
                 {"openid": "steal"}, {"token_version": 0}, {"nickname": ""}):
        response = client.patch("/api/v1/me", json=body, headers=alice["headers"])
        assert response.status_code == 422, body
        assert response.get_json()["error"]["code"] == "validation_error"
    assert client.get("/api/v1/me", headers=alice["headers"]).get_json()["nickname"] is None


def submit(client, user, **overrides):
    photo = upload(client, user, PNG).get_json()["id"]
    body = {"name": "王小明", "id_type": "resident_id", "id_number": ID_ALICE,
            "id_photo_file_id": photo, **overrides}
    return client.post("/api/v1/me/real-name", json=body, headers=user["headers"])


def test_real_name_goes_pending_then_verified_by_reviewer(client, alice, staff_factory):
    response = submit(client, alice)
    assert response.status_code == 201, response.get_json()
    record = response.get_json()
    assert record["status"] == "pending"
    assert record["id_number"] == ID_ALICE[:4] + "*" * 10 + ID_ALICE[-4:]
    assert record["name"] == "王*明"
    assert client.get("/api/v1/me", headers=alice["headers"]).get_json()["real_name_status"] == "pending"
    again = submit(client, alice)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "real_name_pending"

    reviewer = staff_factory("reviewer")
    queue = client.get("/api/v1/staff/real-name-reviews", headers=reviewer["headers"]).get_json()
    assert queue["total"] == 1 and queue["items"][0]["name"] == "王小明"
    decision = client.post(f"/api/v1/staff/real-name-reviews/{record['id']}/decision",
                           json={"approve": True}, headers=reviewer["headers"])
    assert decision.status_code == 200 and decision.get_json()["status"] == "verified"
    me = client.get("/api/v1/me", headers=alice["headers"]).get_json()
    assert me["real_name_status"] == "verified" and me["real_name"] == "王*明"
    twice = client.post(f"/api/v1/staff/real-name-reviews/{record['id']}/decision",
                        json={"approve": False, "reason": "照片模糊"}, headers=reviewer["headers"])
    assert twice.status_code == 409
    assert twice.get_json()["error"]["code"] == "invalid_state_transition"


def test_rejection_needs_reason_and_allows_resubmission(client, alice, staff_factory):
    record_id = submit(client, alice).get_json()["id"]
    reviewer = staff_factory("reviewer")
    no_reason = client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision",
                            json={"approve": False}, headers=reviewer["headers"])
    assert no_reason.status_code == 422 and no_reason.get_json()["error"]["code"] == "reason_required"
    rejected = client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision",
                           json={"approve": False, "reason": "证件照片不清晰"},
                           headers=reviewer["headers"])
    assert rejected.status_code == 200
    mine = client.get("/api/v1/me/real-name", headers=alice["headers"]).get_json()
    assert mine["status"] == "rejected" and mine["reject_reason"] == "证件照片不清晰"
    assert submit(client, alice).status_code == 201


def test_operator_cannot_review_and_user_cannot_use_foreign_photo(client, app, alice, bob,
                                                                  staff_factory):
    record_id = submit(client, alice).get_json()["id"]
    operator = staff_factory("operator")
    response = client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision",
                           json={"approve": True}, headers=operator["headers"])
    assert response.status_code == 403
    alices_photo = upload(client, alice, PNG).get_json()["id"]
    before = row_counts(app)
    foreign = client.post("/api/v1/me/real-name", headers=bob["headers"], json={
        "name": "鲍勃", "id_type": "passport", "id_number": "E12345678",
        "id_photo_file_id": alices_photo})
    assert foreign.status_code == 404 and foreign.get_json()["error"]["code"] == "file_not_found"
    assert row_counts(app) == before


def test_bad_checksum_and_verified_id_of_another_account(client, app, alice, bob, staff_factory):
    before = row_counts(app)
    bad = submit(client, bob, id_number=ID_ALICE[:-1] + ("1" if ID_ALICE[-1] != "1" else "2"))
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "invalid_id_number"
    assert row_counts(app)["real_name_verifications"] == before["real_name_verifications"]
    record_id = submit(client, alice).get_json()["id"]
    reviewer = staff_factory("reviewer")
    client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision", json={"approve": True},
                headers=reviewer["headers"])
    # a number verified on another account answers exactly like a fresh one (no probing which
    # numbers are registered); the review resolves it
    taken = submit(client, bob)
    carol = login(client, "wx-code-carol")
    carol = {"id": carol["user"]["id"], "headers": auth(carol["token"])}
    fresh = submit(client, carol, id_number=ID_MOTHER)
    assert taken.status_code == fresh.status_code == 201
    assert set(taken.get_json()) == set(fresh.get_json())
    assert taken.get_json()["status"] == fresh.get_json()["status"] == "pending"
    pending = client.get("/api/v1/staff/real-name-reviews", headers=reviewer["headers"])
    flags = {item["user_id"]: item["id_number_taken"] for item in pending.get_json()["items"]}
    assert flags == {bob["id"]: True, carol["id"]: False}
    decided = client.post(f"/api/v1/staff/real-name-reviews/{taken.get_json()['id']}/decision",
                          json={"approve": True}, headers=reviewer["headers"])
    assert decided.status_code == 200
    assert decided.get_json()["status"] == "rejected"
    assert decided.get_json()["reject_reason"] == "该证件已被其他账号实名认证"
    mine = client.get("/api/v1/me/real-name", headers=bob["headers"]).get_json()
    assert mine["status"] == "rejected" and mine["reject_reason"] == "该证件已被其他账号实名认证"
    assert client.get("/api/v1/me", headers=bob["headers"]).get_json()["real_name_status"] == \
        "rejected"
    assert client.get("/api/v1/me", headers=alice["headers"]).get_json()["real_name_status"] == \
        "verified"


def test_patch_me_changes_only_the_fields_sent(client, alice):
    first = client.patch("/api/v1/me", json={"nickname": "小王", "gender": "female"},
                         headers=alice["headers"])
    assert first.status_code == 200
    second = client.patch("/api/v1/me", json={"nickname": "老王"}, headers=alice["headers"])
    assert second.status_code == 200
    me = client.get("/api/v1/me", headers=alice["headers"]).get_json()
    assert (me["nickname"], me["gender"], me["avatar_url"]) == ("老王", "female", None)
