"""The signature matrix: every refusal is 401 with its code and changes nothing."""
import time
from datetime import timedelta

from sqlalchemy import select, update

from app.common.time import utcnow
from app.extensions import db
from app.hospital_onboarding.models import HospitalApiKey
from app.open_api.models import OpenApiCall
from tests.conftest import row_counts
from tests.open_api.conftest import error_code

DEPTS = "/open/v1/departments:batch"
BODY = {"items": [{"external_id": "NK", "name": "内科"}]}


def _departments(app):
    return row_counts(app)["departments"]


def test_valid_request_is_accepted_and_audited(client, app, hospitals):
    hospital = hospitals()
    response = hospital.post(DEPTS, BODY)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["created"] == 1
    changes = hospital.get("/open/v1/registrations/changes", query="limit=10&cursor=")
    assert changes.status_code == 200, changes.get_json()
    with app.app_context():
        calls = db.session.scalars(select(OpenApiCall).order_by(OpenApiCall.id)).all()
        assert [(c.hospital_id, c.path, c.status) for c in calls] == [
            (hospital.hospital_id, DEPTS, 200),
            (hospital.hospital_id, "/open/v1/registrations/changes", 200)]
        db.session.remove()


def test_tampering_and_replays_are_refused_with_nothing_changed(client, app, hospitals):
    hospital = hospitals()
    before = _departments(app)
    other_body = '{"items": [{"external_id": "WK", "name": "外科"}]}'.encode()
    cases = [
        (dict(sign_body=other_body), "signature_invalid"),                      # body
        (dict(sign_path="/open/v1/doctors:batch"), "signature_invalid"),        # path
        (dict(query="x=1", sign_query="x=2"), "signature_invalid"),              # query
        (dict(timestamp=int(time.time()) - 301), "timestamp_out_of_window"),     # stale
        (dict(timestamp=int(time.time()) + 301), "timestamp_out_of_window"),     # future
        (dict(secret="hs_" + "A" * 43), "signature_invalid"),                    # wrong secret
        (dict(key_id="hk_" + "0" * 24), "key_unknown"),                          # unknown key
        (dict(headers={"X-Signature": "md5=abc"}), "signature_missing"),
        (dict(headers={"X-Nonce": "short"}), "signature_missing"),
        (dict(headers={"X-Timestamp": "12.5"}), "signature_missing"),
    ]
    for tamper, code in cases:
        response = hospital.post(DEPTS, BODY, **tamper)
        assert response.status_code == 401, (tamper, response.get_json())
        assert error_code(response) == code, tamper
    unsigned = client.post(DEPTS, json=BODY)
    assert unsigned.status_code == 401 and error_code(unsigned) == "signature_missing"
    assert _departments(app) == before

    nonce = "replayed-nonce-0001"
    assert hospital.post(DEPTS, BODY, nonce=nonce).status_code == 200
    replay = hospital.post(DEPTS, {"items": [{"external_id": "WK", "name": "外科"}]}, nonce=nonce)
    assert replay.status_code == 401 and error_code(replay) == "nonce_reused"
    assert _departments(app) == before + 1


def test_a_bad_signature_does_not_burn_the_nonce(hospitals):
    hospital = hospitals()
    nonce = "nonce-for-a-retry-01"
    assert hospital.post(DEPTS, BODY, nonce=nonce, secret="hs_" + "B" * 43).status_code == 401
    assert hospital.post(DEPTS, BODY, nonce=nonce).status_code == 200


def test_query_is_canonicalised_in_any_order(hospitals, no_lag):
    hospital = hospitals()
    response = hospital.get("/open/v1/registrations/changes", query="limit=5&cursor=",
                            sign_query="cursor=&limit=5")
    assert response.status_code == 200, response.get_json()


def test_revoked_key_is_refused(client, hospitals):
    hospital = hospitals()
    base = f"/api/v1/staff/hospitals/{hospital.hospital_id}/api-keys"
    assert client.post(f"{base}/{hospital.key_id}/revoke",
                       headers=hospital.operator["headers"]).status_code == 200
    response = hospital.post(DEPTS, BODY)
    assert response.status_code == 401 and error_code(response) == "key_revoked"


def test_rotated_secret_valid_within_the_overlap_and_refused_after(client, app, hospitals):
    hospital = hospitals()
    base = f"/api/v1/staff/hospitals/{hospital.hospital_id}/api-keys"
    new = client.post(base + "/rotate", headers=hospital.operator["headers"]).get_json()
    assert hospital.post(DEPTS, BODY).status_code == 200  # old key, within the overlap
    assert hospital.post(DEPTS, BODY, key_id=new["key_id"], secret=new["secret"]).status_code \
        == 200
    with app.app_context():  # the overlap ends
        db.session.execute(update(HospitalApiKey).where(
            HospitalApiKey.key_id == hospital.key_id).values(
            expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()
    old = hospital.post(DEPTS, BODY)
    assert old.status_code == 401 and error_code(old) == "key_revoked"
    # the old secret with the new key id is just a wrong secret
    mixed = hospital.post(DEPTS, BODY, key_id=new["key_id"])
    assert mixed.status_code == 401 and error_code(mixed) == "signature_invalid"
    assert hospital.post(DEPTS, BODY, key_id=new["key_id"], secret=new["secret"]).status_code \
        == 200


def test_suspended_hospital_and_rate_limit(client, app, hospitals):
    hospital = hospitals()
    previous = app.config["OPEN_API_RATE_PER_MINUTE"]
    app.config["OPEN_API_RATE_PER_MINUTE"] = 2
    try:
        statuses = [hospital.post(DEPTS, BODY).status_code for _ in range(3)]
        if statuses != [200, 200, 429]:  # the minute turned over between calls
            statuses = [hospital.post(DEPTS, BODY).status_code for _ in range(3)]
        assert 429 in statuses
        limited = hospital.post(DEPTS, BODY)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    finally:
        app.config["OPEN_API_RATE_PER_MINUTE"] = previous
    from app.hospitals.models import Hospital
    with app.app_context():
        db.session.get(Hospital, hospital.hospital_id).is_active = False
        db.session.commit()
        db.session.remove()
    response = hospital.post(DEPTS, BODY)
    assert response.status_code == 403 and error_code(response) == "hospital_suspended"


def test_open_openapi_document(client):
    spec = client.get("/open/openapi.json").get_json()
    schemes = spec["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {"X-Hospital-Key", "X-Timestamp", "X-Nonce",
                                                      "X-Signature"}
    operation = spec["paths"]["/open/v1/schedules:batch"]["post"]
    assert operation["security"] == [{name: [] for name in schemes}]
    assert "signature_invalid" in operation["responses"]["401"]["description"]
    # the agreed wire names (sdk/SIGNING_SPEC.md)
    schemas = spec["components"]["schemas"]
    fields = {name: set(schema.get("properties", {})) for name, schema in schemas.items()}
    assert {"external_id", "doctor_external_id", "work_date", "start_time", "end_time", "total",
            "fee_fen", "period"} <= fields["ScheduleItem"]
    assert {"external_id", "department_external_id", "name", "title", "specialty"} <= \
        fields["DoctorItem"]
    assert {"external_id", "name", "parent_external_id", "sort_order"} <= fields["DepartmentItem"]
    assert {"schedule_external_id", "doctor_external_id", "department_external_id"} <= \
        fields["RegistrationChange"]
    assert fields["BatchItemResult"] == {"external_id", "result"}
    assert not {"id", "doctor_id", "date", "parent_id", "department_id"} & (
        fields["ScheduleItem"] | fields["DoctorItem"] | fields["DepartmentItem"])
    assert not any(path.startswith("/open") for path in
                   client.get("/api/openapi.json").get_json()["paths"])
