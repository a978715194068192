import threading

import requests

from tests.conftest import ID_ALICE, ID_MOTHER, resident_id, row_counts

MOTHER = {"name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
          "phone": "13912345678", "is_insured": True, "medical_card_no": "MC-2026-001",
          "contact_name": "李明", "contact_phone": "13700001111",
          "condition": "术后康复,需协助翻身", "hospital_name": "市第一人民医院", "ward": "骨科三病区",
          "bed_no": "12"}


def create(client, user, **overrides):
    return client.post("/api/v1/patients", json={**MOTHER, **overrides}, headers=user["headers"])


def test_create_derives_birthday_and_gender_and_masks_output(client, alice):
    response = create(client, alice)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["birthday"] == "1962-05-12" and body["gender"] == "female"
    assert body["id_number"] == ID_MOTHER[:4] + "*" * 10 + ID_MOTHER[-4:]
    assert body["phone"] == "139****5678"
    assert body["contact_phone"] == "137****1111"
    assert body["condition"] == "******"
    assert body["medical_card_no"] == "MC*******01"
    assert body["age"] >= 60


def test_edit_view_is_plaintext_for_owner_only(client, alice, bob):
    patient_id = create(client, alice).get_json()["id"]
    edit = client.get(f"/api/v1/patients/{patient_id}/edit", headers=alice["headers"])
    assert edit.status_code == 200
    assert edit.get_json()["id_number"] == ID_MOTHER
    assert edit.get_json()["phone"] == "13912345678"
    assert edit.get_json()["condition"] == MOTHER["condition"]
    listed = client.get("/api/v1/patients", headers=alice["headers"]).get_json()
    assert listed["items"][0]["id_number"] != ID_MOTHER
    assert client.get(f"/api/v1/patients/{patient_id}/edit",
                      headers=bob["headers"]).status_code == 404


def test_another_users_patient_is_404_everywhere_and_unchanged(client, app, alice, bob):
    patient_id = create(client, alice).get_json()["id"]
    before = row_counts(app)
    for method, path, kwargs in (
        ("get", f"/api/v1/patients/{patient_id}", {}),
        ("get", f"/api/v1/patients/{patient_id}/edit", {}),
        ("patch", f"/api/v1/patients/{patient_id}", {"json": {"name": "冒名顶替"}}),
        ("delete", f"/api/v1/patients/{patient_id}", {}),
    ):
        response = getattr(client, method)(path, headers=bob["headers"], **kwargs)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["code"] == "patient_not_found"
    assert row_counts(app) == before
    mine = client.get(f"/api/v1/patients/{patient_id}", headers=alice["headers"]).get_json()
    assert mine["name"] == "王芳"
    assert client.get("/api/v1/patients", headers=bob["headers"]).get_json()["total"] == 0


def test_update_and_delete(client, alice):
    patient_id = create(client, alice).get_json()["id"]
    response = client.patch(f"/api/v1/patients/{patient_id}",
                            json={"bed_no": "15", "phone": "13511112222", "condition": None},
                            headers=alice["headers"])
    assert response.status_code == 200, response.get_json()
    edit = client.get(f"/api/v1/patients/{patient_id}/edit", headers=alice["headers"]).get_json()
    assert edit["bed_no"] == "15" and edit["phone"] == "13511112222" and edit["condition"] is None
    assert client.delete(f"/api/v1/patients/{patient_id}",
                         headers=alice["headers"]).status_code == 204
    assert client.get(f"/api/v1/patients/{patient_id}",
                      headers=alice["headers"]).status_code == 404
    # the same person can be added again after deletion
    assert create(client, alice).status_code == 201


def test_birthday_or_gender_contradicting_resident_id_is_refused(client, app, alice):
    before = row_counts(app)
    for overrides in ({"birthday": "1962-05-13"}, {"gender": "male"}):
        response = create(client, alice, **overrides)
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "id_number_mismatch"
    assert row_counts(app) == before


def test_passport_patient_needs_birthday_and_gender(client, alice):
    response = create(client, alice, id_type="passport", id_number="E12345678")
    assert response.status_code == 422
    ok = create(client, alice, id_type="passport", id_number="e12345678",
                birthday="1980-01-02", gender="male")
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["id_number"] == "E1*****78"


def test_duplicate_patient_is_409(client, alice, bob):
    assert create(client, alice).status_code == 201
    again = create(client, alice, id_number=ID_MOTHER.lower())
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "patient_duplicate"
    assert create(client, bob).status_code == 201  # another account may add the same person


def _eight_ids():
    return [resident_id(f"110101198001{i:02d}123") for i in range(1, 11)]


def test_at_most_eight_patients_per_account(client, app, alice):
    ids = _eight_ids()
    for number in ids[:8]:
        assert create(client, alice, id_number=number).status_code == 201
    ninth = create(client, alice, id_number=ids[8])
    assert ninth.status_code == 409
    assert ninth.get_json()["error"]["code"] == "patient_limit_reached"
    assert "8" in ninth.get_json()["error"]["message"]
    assert client.get("/api/v1/patients?page_size=5", headers=alice["headers"]).get_json() == {
        **client.get("/api/v1/patients?page_size=5", headers=alice["headers"]).get_json(),
        "total": 8, "page": 1, "page_size": 5}
    page2 = client.get("/api/v1/patients?page=2&page_size=5", headers=alice["headers"]).get_json()
    assert len(page2["items"]) == 3


def test_concurrent_adds_never_exceed_the_limit(app, alice):
    """Ten threads add ten different patients at once over real HTTP: exactly eight land."""
    url = app.config["LIVE_URL"] + "/api/v1/patients"
    statuses = []
    barrier = threading.Barrier(10)

    def add(number):
        barrier.wait()
        response = requests.post(url, json={**MOTHER, "id_number": number},
                                 headers=alice["headers"], timeout=30)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=add, args=(n,)) for n in _eight_ids()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] * 8 + [409] * 2
    assert row_counts(app)["patients"] == 8


def test_resident_id_checksum_is_enforced(client, app, alice):
    wrong_check = ID_ALICE[:-1] + ("0" if ID_ALICE[-1] != "0" else "1")
    before = row_counts(app)
    for number, code in ((wrong_check, "invalid_id_number"), ("11010119900307", "invalid_id_number"),
                         (resident_id("11010120991307851"), "invalid_id_number")):
        response = create(client, alice, id_number=number)
        assert response.status_code == 422, number
        assert response.get_json()["error"]["code"] == code
        assert "身份证" in response.get_json()["error"]["message"]
    assert row_counts(app) == before
