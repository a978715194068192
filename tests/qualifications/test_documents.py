"""A caregiver's own documents: submit, read, edit, delete; bad input changes nothing."""
import json
from datetime import timedelta

import pytest

from app.common.time import local_today
from tests.conftest import row_counts
from tests.files.test_files import JPEG, PDF, PNG
from tests.qualifications.helpers import (BASE, ID_CARD, OTHER_ID_CARD, become_caregiver,
                                          create, decide, file_id, health_body, id_card_body,
                                          later, nursing_body)


def test_owner_journey_with_real_uploads(client, app, alice, staff_factory):
    become_caregiver(app, alice, status="draft")
    assert client.get(BASE, headers=alice["headers"]).get_json()["items"] == []
    card = create(client, alice, id_card_body(client, alice, number=ID_CARD.lower()[:-1]
                                              + ID_CARD[-1].lower()))
    assert card["kind"] == "id_card" and card["kind_name"] == "身份证"
    assert card["title"] == "居民身份证"  # the default title of an ID card
    assert card["number"] == ID_CARD  # normalised (upper case), plaintext to its owner
    assert card["status"] == "pending" and card["review_round"] == 1
    assert card["expires_on"] is None and card["expired"] is False
    assert len(card["file_ids"]) == 2

    health = create(client, alice, health_body(client, alice))
    assert health["number"] == "JK-2026-0001" and health["expires_on"] == later()

    listed = client.get(BASE, headers=alice["headers"]).get_json()
    assert listed["total"] == 2
    numbers = [item["number"] for item in listed["items"]]
    assert numbers == [ID_CARD[:4] + "*" * 10 + ID_CARD[-4:], "JK" + "*" * 8 + "01"]
    one = client.get(f"{BASE}/{card['id']}", headers=alice["headers"]).get_json()
    assert one["number"] == ID_CARD and one["issuer"] == "北京市公安局朝阳分局"

    # editing a pending one: a new round, new files replace the old ones
    new_file = file_id(client, alice, JPEG)
    edited = client.patch(f"{BASE}/{card['id']}", headers=alice["headers"],
                          json={"title": "第二代居民身份证", "file_ids": [card["file_ids"][0],
                                                                  new_file]})
    assert edited.status_code == 200, edited.get_json()
    edited = edited.get_json()
    assert edited["title"] == "第二代居民身份证" and edited["review_round"] == 2
    assert edited["file_ids"] == sorted([card["file_ids"][0], new_file])
    assert edited["status"] == "pending" and edited["number"] == ID_CARD

    # approved: no edit, no delete (409), unchanged
    reviewer = staff_factory("reviewer")
    decide(client, reviewer, card["id"], approve=True)
    refused = client.patch(f"{BASE}/{card['id']}", headers=alice["headers"],
                           json={"title": "改名"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "invalid_state_transition"
    gone = client.delete(f"{BASE}/{card['id']}", headers=alice["headers"])
    assert gone.status_code == 409
    assert gone.get_json()["error"]["code"] == "invalid_state_transition"
    assert client.get(f"{BASE}/{card['id']}", headers=alice["headers"]).get_json()[
        "title"] == "第二代居民身份证"

    # rejected: the owner fixes it and it goes back to pending, in a new round
    decide(client, reviewer, health["id"], approve=False, reason="照片模糊")
    rejected = client.get(f"{BASE}/{health['id']}", headers=alice["headers"]).get_json()
    assert rejected["status"] == "rejected" and rejected["reject_reason"] == "照片模糊"
    fixed = client.patch(f"{BASE}/{health['id']}", headers=alice["headers"],
                         json={"file_ids": [file_id(client, alice, PNG)]}).get_json()
    assert fixed["status"] == "pending" and fixed["review_round"] == 2
    assert fixed["reject_reason"] is None

    # a pending one can be deleted (with its file links; the files stay)
    before = row_counts(app)
    assert client.delete(f"{BASE}/{health['id']}", headers=alice["headers"]).status_code == 204
    after = row_counts(app)
    assert after["qualifications"] == before["qualifications"] - 1
    assert after["qualification_files"] == before["qualification_files"] - 1
    assert after["stored_files"] == before["stored_files"]
    assert client.get(f"{BASE}/{health['id']}", headers=alice["headers"]).status_code == 404


def test_no_caregiver_profile_is_404(client, alice):
    for method, path in (("get", BASE), ("post", BASE), ("get", f"{BASE}/1"),
                         ("patch", f"{BASE}/1"), ("delete", f"{BASE}/1")):
        kwargs = {"json": {"title": "x"}} if method == "patch" else {}
        if method == "post":
            kwargs = {"json": {"kind": "id_card", "number": ID_CARD, "file_ids": [1]}}
        response = getattr(client, method)(path, headers=alice["headers"], **kwargs)
        assert response.status_code == 404, (method, path)
        assert response.get_json()["error"]["code"] == "caregiver_not_found"
    assert client.get(BASE).status_code == 401


def _bad_create_cases(client, app, alice, bob):
    bobs_file = file_id(client, bob, PNG)
    pdf = file_id(client, alice, PDF)
    png = file_id(client, alice, PNG)
    seven = [file_id(client, alice, PNG) for _ in range(7)]
    past = (local_today() - timedelta(days=1)).isoformat()
    return [
        ("pdf for an ID card", {"kind": "id_card", "number": ID_CARD, "file_ids": [png, pdf]},
         422, "file_type_not_allowed"),
        ("another user's file", {"kind": "id_card", "number": ID_CARD, "file_ids": [bobs_file]},
         404, "file_not_found"),
        ("unknown file", {"kind": "id_card", "number": ID_CARD, "file_ids": [png, 987654]},
         404, "file_not_found"),
        ("unknown kind", {"kind": "driving_licence", "number": "A1234", "file_ids": [png]},
         422, "validation_error"),
        ("bad checksum", {"kind": "id_card", "number": ID_CARD[:-1] + (
            "0" if ID_CARD[-1] != "0" else "1"), "file_ids": [png]}, 422, "invalid_id_number"),
        ("short ID", {"kind": "id_card", "number": "1234", "file_ids": [png]},
         422, "invalid_id_number"),
        ("bad certificate number", {"kind": "health_certificate", "title": "健康证",
                                    "number": "号码 123", "expires_on": later(),
                                    "file_ids": [pdf]}, 422, "invalid_id_number"),
        ("already expired", {"kind": "health_certificate", "title": "健康证",
                             "number": "JK-0001", "expires_on": past, "file_ids": [pdf]},
         422, "already_expired"),
        ("issued after expiry", {"kind": "nursing_certificate", "title": "护理证",
                                 "number": "HL-0001", "issued_on": later(400),
                                 "expires_on": later(100), "file_ids": [pdf]},
         422, "invalid_dates"),
        ("no expiry for a certificate", {"kind": "health_certificate", "title": "健康证",
                                         "number": "JK-0001", "file_ids": [pdf]},
         422, "expiry_required"),
        ("seven files", {"kind": "nursing_certificate", "title": "护理证", "number": "HL-0001",
                         "expires_on": later(), "file_ids": seven}, 422, "validation_error"),
        ("no files", {"kind": "id_card", "number": ID_CARD, "file_ids": []},
         422, "validation_error"),
        ("the same file twice", {"kind": "id_card", "number": ID_CARD, "file_ids": [png, png]},
         422, "validation_error"),
        ("no title for a certificate", {"kind": "health_certificate", "number": "JK-0001",
                                        "expires_on": later(), "file_ids": [pdf]},
         422, "validation_error"),
        ("empty title", {"kind": "id_card", "title": "  ", "number": ID_CARD,
                         "file_ids": [png]}, 422, "validation_error"),
        ("null number", {"kind": "id_card", "number": None, "file_ids": [png]},
         422, "validation_error"),
        ("number as int", {"kind": "id_card", "number": 110101, "file_ids": [png]},
         422, "validation_error"),
        ("huge file id", {"kind": "id_card", "number": ID_CARD, "file_ids": [2**40]},
         422, "validation_error"),
        ("string file id", {"kind": "id_card", "number": ID_CARD, "file_ids": [str(png)]},
         422, "validation_error"),
        ("long issuer", {"kind": "id_card", "number": ID_CARD, "file_ids": [png],
                         "issuer": "局" * 65}, 422, "validation_error"),
        ("bad date", {"kind": "id_card", "number": ID_CARD, "file_ids": [png],
                      "issued_on": "2020-02-30"}, 422, "validation_error"),
        ("unknown field", {"kind": "id_card", "number": ID_CARD, "file_ids": [png],
                           "status": "approved"}, 422, "validation_error"),
        ("lone surrogate", {"kind": "id_card", "number": ID_CARD, "file_ids": [png],
                            "issuer": "\ud800"}, 422, "validation_error"),
    ]


def test_bad_input_is_refused_with_a_code_and_changes_nothing(client, app, alice, bob):
    become_caregiver(app, alice)
    cases = _bad_create_cases(client, app, alice, bob)
    before = row_counts(app)
    for name, body, status, code in cases:
        # json.dumps escapes a lone surrogate as JSON allows (werkzeug's json= cannot send it)
        response = client.post(BASE, data=json.dumps(body), content_type="application/json",
                               headers=alice["headers"])
        assert response.status_code == status, (name, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == code, (name, error)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), (name, error)
    assert row_counts(app) == before


def test_edits_are_checked_like_submissions(client, app, alice, bob):
    become_caregiver(app, alice)
    card = create(client, alice, id_card_body(client, alice))
    health = create(client, alice, health_body(client, alice))
    bobs_file = file_id(client, bob, PNG)
    pdf = file_id(client, alice, PDF)
    before = row_counts(app)
    for target, body, status, code in (
            (card, {"file_ids": [pdf]}, 422, "file_type_not_allowed"),
            (card, {"file_ids": [bobs_file]}, 404, "file_not_found"),
            (card, {"number": "110101"}, 422, "invalid_id_number"),
            (card, {"kind": "health_certificate"}, 422, "validation_error"),
            (health, {"expires_on": None}, 422, "expiry_required"),
            (health, {"expires_on": (local_today() - timedelta(days=3)).isoformat()},
             422, "already_expired"),
            (health, {"issued_on": later(500)}, 422, "invalid_dates"),
            (health, {"title": ""}, 422, "validation_error"),
            (health, {"file_ids": []}, 422, "validation_error")):
        response = client.patch(f"{BASE}/{target['id']}", json=body, headers=alice["headers"])
        assert response.status_code == status, (body, response.get_json())
        assert response.get_json()["error"]["code"] == code, body
    assert row_counts(app) == before
    again = client.get(f"{BASE}/{card['id']}", headers=alice["headers"]).get_json()
    assert again["review_round"] == 1 and again["file_ids"] == card["file_ids"]


def test_one_id_card_number_backs_one_caregiver(client, app, alice, bob, staff_factory):
    become_caregiver(app, alice)
    become_caregiver(app, bob)
    create(client, alice, id_card_body(client, alice))
    bobs_body = id_card_body(client, bob)
    before = row_counts(app)
    taken = client.post(BASE, json=bobs_body, headers=bob["headers"])
    assert taken.status_code == 409
    assert taken.get_json()["error"]["code"] == "qualification_number_taken"
    assert row_counts(app) == before
    # an edit to that number is refused the same way
    mine = create(client, bob, id_card_body(client, bob, number=OTHER_ID_CARD))
    before = row_counts(app)
    edit = client.patch(f"{BASE}/{mine['id']}", json={"number": ID_CARD},
                        headers=bob["headers"])
    assert edit.status_code == 409
    assert edit.get_json()["error"]["code"] == "qualification_number_taken"
    assert row_counts(app) == before
    # certificate numbers are not exclusive (different issuers reuse formats)
    create(client, alice, health_body(client, alice))
    create(client, bob, health_body(client, bob))


def test_a_rejected_submission_does_not_hold_the_number(client, app, alice, bob,
                                                        staff_factory):
    become_caregiver(app, alice)
    become_caregiver(app, bob)
    bobs = create(client, bob, id_card_body(client, bob))
    decide(client, staff_factory("reviewer"), bobs["id"], approve=False, reason="非本人证件")
    create(client, alice, id_card_body(client, alice))


def test_one_pending_id_card_or_health_certificate_at_a_time(client, app, alice,
                                                            staff_factory):
    become_caregiver(app, alice)
    reviewer = staff_factory("reviewer")
    health = create(client, alice, health_body(client, alice))
    body = health_body(client, alice)
    before = row_counts(app)
    second = client.post(BASE, json=body, headers=alice["headers"])
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "qualification_already_pending"
    assert row_counts(app) == before
    # nursing certificates: as many as one holds
    create(client, alice, nursing_body(client, alice))
    create(client, alice, nursing_body(client, alice, number="YL-0002"))
    # an approved one may be renewed by a new pending one, but only one renewal at a time
    decide(client, reviewer, health["id"], approve=True)
    renewal = create(client, alice, health_body(client, alice, expires_on=later(700)))
    assert renewal["status"] == "pending"
    third = client.post(BASE, json=health_body(client, alice), headers=alice["headers"])
    assert third.get_json()["error"]["code"] == "qualification_already_pending"
    # a rejected one cannot come back to pending while another is pending
    decide(client, reviewer, renewal["id"], approve=False, reason="照片模糊")
    again = create(client, alice, health_body(client, alice, expires_on=later(600)))
    before = row_counts(app)
    back = client.patch(f"{BASE}/{renewal['id']}", json={"title": "健康证明"},
                        headers=alice["headers"])
    assert back.status_code == 409
    assert back.get_json()["error"]["code"] == "qualification_already_pending"
    assert row_counts(app) == before
    assert client.delete(f"{BASE}/{again['id']}", headers=alice["headers"]).status_code == 204
    back = client.patch(f"{BASE}/{renewal['id']}", json={"title": "健康证明"},
                        headers=alice["headers"])
    assert back.status_code == 200 and back.get_json()["status"] == "pending"


def test_at_most_ten_per_caregiver(client, app, alice):
    become_caregiver(app, alice)
    for index in range(10):
        create(client, alice, nursing_body(client, alice, number=f"YL-{index:04d}"))
    body = nursing_body(client, alice, number="YL-9999")
    before = row_counts(app)
    eleventh = client.post(BASE, json=body, headers=alice["headers"])
    assert eleventh.status_code == 409
    assert eleventh.get_json()["error"]["code"] == "qualification_limit_reached"
    assert row_counts(app) == before


def test_another_caregivers_documents_answer_404(client, app, alice, bob):
    become_caregiver(app, alice)
    become_caregiver(app, bob)
    card = create(client, alice, id_card_body(client, alice))
    before = row_counts(app)
    for method, kwargs in (("get", {}), ("patch", {"json": {"title": "我的"}}),
                           ("delete", {})):
        response = getattr(client, method)(f"{BASE}/{card['id']}", headers=bob["headers"],
                                           **kwargs)
        assert response.status_code == 404, method
        assert response.get_json()["error"]["code"] == "qualification_not_found"
    assert client.get(BASE, headers=bob["headers"]).get_json()["total"] == 0
    assert client.get(f"{BASE}/{2**31 + 5}", headers=alice["headers"]).status_code == 404
    assert row_counts(app) == before


def test_files_are_readable_by_owner_and_reviewers_only(client, app, alice, bob,
                                                        staff_factory):
    become_caregiver(app, alice)
    card = create(client, alice, id_card_body(client, alice))
    reviewer, operator = staff_factory("reviewer"), staff_factory("operator")
    detail = client.get(f"/api/v1/staff/qualifications/{card['id']}",
                        headers=reviewer["headers"]).get_json()
    assert [f["id"] for f in detail["files"]] == card["file_ids"]
    assert [f["content_type"] for f in detail["files"]] == ["image/png", "image/jpeg"]
    for file_ in detail["files"]:
        path = f"/api/v1/files/{file_['id']}"
        own = client.get(path, headers=alice["headers"])
        assert own.status_code == 200 and own.data in (PNG, JPEG)
        assert client.get(path, headers=reviewer["headers"]).data == own.data
        assert client.get(path, headers=bob["headers"]).status_code == 404
        assert client.get(path, headers=operator["headers"]).status_code == 404


@pytest.mark.parametrize("kind", ["health_certificate", "nursing_certificate"])
def test_certificates_take_pdf_and_images(client, app, alice, kind):
    become_caregiver(app, alice)
    body = (health_body if kind == "health_certificate" else nursing_body)(client, alice)
    body["file_ids"] = [file_id(client, alice, PDF), file_id(client, alice, PNG),
                        file_id(client, alice, JPEG)]
    created = create(client, alice, body)
    assert len(created["file_ids"]) == 3
