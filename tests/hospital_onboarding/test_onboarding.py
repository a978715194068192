import json
from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.hospital_onboarding.models import HospitalApiKey, HospitalApplication
from app.hospitals.models import Hospital
from tests.conftest import row_counts
from tests.hospital_onboarding.conftest import APPLICATION, apply, upload_licence


def test_apply_masks_contact_and_encrypts_it_at_rest(client, app, alice):
    response = apply(client, alice)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "pending"
    assert body["contact_phone"] == "138****5678" and body["contact_name"] == "张*国"
    with app.app_context():
        raw = db.session.execute(db.text(
            "SELECT contact_phone_encrypted, contact_name_encrypted FROM hospital_applications"
        )).one()
        assert "13812345678" not in raw[0] and "张建国" not in raw[1]
        db.session.remove()
    mine = client.get("/api/v1/hospital-applications", headers=alice["headers"]).get_json()
    assert mine["total"] == 1


def test_bad_applications_are_4xx_and_store_nothing(client, app, alice, bob):
    bobs_file = upload_licence(client, bob)
    before = row_counts(app)
    cases = [
        ({"licence_file_id": bobs_file}, 404),               # someone else's file
        ({"level": "9Z"}, 422),
        ({"city_code": "120100"}, 422),                       # not in the province
        ({"contact_phone": "abc"}, 422),
        ({"name": "\ud800x"}, 422),
        ({"licence_file_id": 2**70}, 422),
    ]
    for overrides, status in cases:
        body = {**APPLICATION, "licence_file_id": bobs_file, **overrides}
        response = client.post("/api/v1/hospital-applications", headers=alice["headers"],
                               data=json.dumps(body), content_type="application/json")
        assert response.status_code == status, (overrides, response.get_json())
    assert client.post("/api/v1/hospital-applications", json=APPLICATION).status_code == 401
    assert row_counts(app) == before


def test_one_pending_application_per_user(client, alice):
    assert apply(client, alice).status_code == 201
    second = apply(client, alice)
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "hospital_application_pending"


def test_roles_users_and_reviewers_cannot_review(client, alice, staff_factory):
    application_id = apply(client, alice).get_json()["id"]
    reviewer = staff_factory("reviewer")
    url = f"/api/v1/staff/hospital-applications/{application_id}"
    assert client.get(url, headers=alice["headers"]).status_code == 401
    assert client.get(url, headers=reviewer["headers"]).status_code == 403
    assert client.post(url + "/approve", headers=reviewer["headers"]).status_code == 403
    assert client.post(url + "/reject", headers=reviewer["headers"],
                       json={"reason": "x"}).status_code == 403
    operator = staff_factory("operator")
    listed = client.get("/api/v1/staff/hospital-applications?status=pending",
                        headers=operator["headers"]).get_json()
    assert [item["id"] for item in listed["items"]] == [application_id]
    assert client.get(url, headers=operator["headers"]).get_json()["contact_phone"] == \
        "138****5678"


def test_operators_read_the_licence_only_through_its_application(client, alice, staff_factory):
    from tests.hospital_onboarding.conftest import PDF

    application = apply(client, alice).get_json()
    operator, reviewer = staff_factory("operator"), staff_factory("reviewer")
    url = f"/api/v1/staff/hospital-applications/{application['id']}/licence"
    shown = client.get(url, headers=operator["headers"])
    assert shown.status_code == 200
    assert shown.data == PDF and shown.mimetype == "application/pdf"
    assert shown.headers["Cache-Control"] == "private, no-store"
    assert client.get(url, headers=reviewer["headers"]).status_code == 403
    assert client.get(url, headers=alice["headers"]).status_code == 401
    missing = client.get("/api/v1/staff/hospital-applications/999999/licence",
                         headers=operator["headers"])
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "hospital_application_not_found"
    # the same file by its own id stays the owner's and reviewers' (an operator sees no files)
    direct = f"/api/v1/files/{application['licence_file_id']}"
    assert client.get(direct, headers=operator["headers"]).status_code == 404
    assert client.get(direct, headers=alice["headers"]).data == PDF


def test_approve_creates_hospital_and_key_secret_shown_once(client, app, alice, staff_factory):
    application_id = apply(client, alice).get_json()["id"]
    operator = staff_factory("operator")
    url = f"/api/v1/staff/hospital-applications/{application_id}"
    approved = client.post(url + "/approve", headers=operator["headers"])
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["application"]["status"] == "approved"
    key = body["key"]
    assert key["key_id"].startswith("hk_") and len(key["key_id"]) == 27
    assert key["secret"].startswith("hs_") and len(key["secret"]) == 46
    assert body["application"]["hospital_code"].startswith("HX")
    with app.app_context():
        hospital = db.session.get(Hospital, key["hospital_id"])
        assert hospital.name == APPLICATION["name"] and hospital.is_active
        raw = db.session.execute(db.text("SELECT secret_encrypted FROM hospital_api_keys")).scalar()
        assert key["secret"] not in raw
        db.session.remove()
    keys = client.get(f"/api/v1/staff/hospitals/{key['hospital_id']}/api-keys",
                      headers=operator["headers"]).get_json()["items"]
    assert len(keys) == 1 and "secret" not in keys[0] and keys[0]["usable"] is True
    again = client.post(url + "/approve", headers=operator["headers"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_state_transition"
    assert client.post(url + "/reject", headers=operator["headers"],
                       json={"reason": "晚了"}).status_code == 409


def test_reject_needs_a_reason_and_is_final(client, app, alice, staff_factory):
    application_id = apply(client, alice).get_json()["id"]
    operator = staff_factory("operator")
    url = f"/api/v1/staff/hospital-applications/{application_id}"
    assert client.post(url + "/reject", headers=operator["headers"], json={}).status_code == 422
    rejected = client.post(url + "/reject", headers=operator["headers"],
                           json={"reason": "许可证不清晰"})
    assert rejected.status_code == 200
    assert rejected.get_json()["status"] == "rejected"
    assert client.post(url + "/approve", headers=operator["headers"]).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Hospital)) == 0
        db.session.remove()
    assert client.post("/api/v1/staff/hospital-applications/999/approve",
                       headers=operator["headers"]).status_code == 404
    # a rejected applicant may apply again
    assert apply(client, alice).status_code == 201


def test_rotate_overlaps_and_revoke(client, app, approved_hospital):
    made = approved_hospital()
    headers = made["operator"]["headers"]
    base = f"/api/v1/staff/hospitals/{made['hospital_id']}/api-keys"
    rotated = client.post(base + "/rotate", headers=headers)
    assert rotated.status_code == 201
    new = rotated.get_json()
    assert new["secret"] and new["key_id"] != made["key_id"]
    keys = {k["key_id"]: k for k in client.get(base, headers=headers).get_json()["items"]}
    assert keys[made["key_id"]]["usable"] and keys[made["key_id"]]["expires_at"]
    assert keys[new["key_id"]]["expires_at"] is None
    with app.app_context():
        old = db.session.scalar(select(HospitalApiKey).where(
            HospitalApiKey.key_id == made["key_id"]))
        overlap = (old.expires_at - old.created_at).total_seconds()
        assert abs(overlap - app.config["OPEN_API_KEY_OVERLAP_SECONDS"]) < 60
        db.session.remove()
    revoked = client.post(f"{base}/{new['key_id']}/revoke", headers=headers)
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"
    assert client.post(f"{base}/{new['key_id']}/revoke", headers=headers).status_code == 409
    assert client.post(f"{base}/hk_000000000000000000000000/revoke",
                       headers=headers).status_code == 404
    assert client.post("/api/v1/staff/hospitals/999/api-keys/rotate",
                       headers=headers).status_code == 404


def test_staff_writes_are_audited_without_secrets(client, app, approved_hospital):
    from app.audit.models import AuditChange
    made = approved_hospital()
    with app.app_context():
        changes = db.session.scalars(select(AuditChange).where(
            AuditChange.table_name == "hospital_api_keys")).all()
        assert changes
        for change in changes:
            assert made["secret"] not in str(change.after)
        db.session.remove()
