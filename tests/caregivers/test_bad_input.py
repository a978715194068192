"""Bad input on every caregiver write: a 4xx with a stable code and a Chinese message, and
nothing changed (row counts and the profile as it was)."""
import re

import pytest

from tests.caregivers.conftest import PDF, add_hospital, birth_years_ago, caregiver_row, upload
from tests.conftest import row_counts

CHINESE = re.compile(r"[\u4e00-\u9fff]")

# (body, status, code); "{...}" placeholders are filled per test
PROFILE_CASES = [
    ({"name": "王"}, 422, "validation_error"),
    ({"name": "王" * 33}, 422, "validation_error"),
    ({"name": None}, 422, "validation_error"),
    ({"name": 12}, 422, "validation_error"),
    ({"gender": "other"}, 422, "validation_error"),
    ({"birth_date": "1990-02-30"}, 422, "validation_error"),
    ({"birth_date": "young"}, 422, "invalid_birth_date"),
    ({"birth_date": "old"}, 422, "invalid_birth_date"),
    ({"birth_date": "future"}, 422, "invalid_birth_date"),
    ({"city_code": "11010"}, 422, "validation_error"),
    ({"city_code": "abcdef"}, 422, "validation_error"),
    ({"city_code": "310100"}, 422, "district_outside_city"),  # districts stay in Beijing
    ({"district_codes": ["310104"]}, 422, "district_outside_city"),
    ({"district_codes": [f"1101{i:02d}" for i in range(21)]}, 422, "validation_error"),
    ({"district_codes": "110101"}, 422, "validation_error"),
    ({"hospital_ids": [999999]}, 422, "unknown_hospital"),
    ({"hospital_ids": ["inactive"]}, 422, "unknown_hospital"),
    ({"hospital_ids": ["shanghai"]}, 422, "hospital_outside_city"),
    ({"hospital_ids": list(range(1, 22))}, 422, "validation_error"),
    ({"hospital_ids": [2**40]}, 422, "validation_error"),
    ({"latitude": 91, "longitude": 116.4}, 422, "validation_error"),
    ({"latitude": 39.9, "longitude": -181}, 422, "validation_error"),
    ({"latitude": 39.9}, 422, "validation_error"),
    ({"skills": ["flying"]}, 422, "unknown_skill"),
    ({"skills": ["dementia_retired"]}, 422, "unknown_skill"),
    ({"skills": []}, 422, "validation_error"),
    ({"skills": ["elderly"] * 11}, 422, "validation_error"),
    ({"skills": [""]}, 422, "validation_error"),
    ({"years_experience": 51}, 422, "validation_error"),
    ({"years_experience": -1}, 422, "validation_error"),
    ({"years_experience": "5"}, 422, "validation_error"),
    ({"years_experience": 40}, 422, "invalid_years_experience"),  # born 1978: at most ~31
    ({"birth_date": "2000-01-01", "years_experience": 12}, 422, "invalid_years_experience"),
    ({"bio": "长" * 501}, 422, "validation_error"),
    ({"work_history": [{"start": "2020-05", "end": "2019-01", "employer": "某医院",
                        "role": "护工"}]}, 422, "validation_error"),
    ({"work_history": [{"start": "2020-13", "employer": "某医院", "role": "护工"}]},
     422, "validation_error"),
    ({"work_history": [{"start": "2020-01", "employer": "", "role": "护工"}]},
     422, "validation_error"),
    ({"work_history": [{"start": "2020-01", "employer": "某" * 65, "role": "护工"}]},
     422, "validation_error"),
    ({"work_history": [{"start": "2020-01", "employer": "某医院", "role": "护工",
                        "salary": 1}]}, 422, "validation_error"),
    ({"work_history": [{"start": "2020-01", "employer": "某医院", "role": "护工"}] * 11},
     422, "validation_error"),
    ({"photo_file_id": "pdf"}, 422, "photo_not_image"),
    ({"photo_file_id": "bobs"}, 404, "file_not_found"),
    ({"photo_file_id": 999999}, 404, "file_not_found"),
    ({"photo_file_id": None}, 422, "validation_error"),
    ({"night_surcharge_fen": 20001}, 422, "night_surcharge_out_of_range"),
    ({"night_surcharge_fen": -1}, 422, "validation_error"),
    ({"accepts_urgent": {"a": 1}}, 422, "validation_error"),
    ({"status": "approved"}, 422, "validation_error"),
    ({"review_round": 5}, 422, "validation_error"),
    ([], 422, "validation_error"),
]


@pytest.fixture
def placeholders(client, app, applicant, bob):
    from datetime import timedelta

    from app.common.time import local_today

    admin_retired = "dementia"
    with app.app_context():
        from app.caregivers.models import CareSkill
        from app.extensions import db
        db.session.get(CareSkill, admin_retired).is_active = False
        db.session.commit()
        db.session.remove()
    return {
        "young": birth_years_ago(18, days=1).isoformat(),  # 18 tomorrow
        "old": birth_years_ago(71).isoformat(),
        "future": (local_today() + timedelta(days=1)).isoformat(),
        "inactive": add_hospital(app, active=False),
        "shanghai": add_hospital(app, city_code="310100", district_code="310104"),
        "pdf": upload(client, applicant, PDF, "cv.pdf"),
        "bobs": upload(client, bob),
        "dementia_retired": admin_retired,
    }


def _fill(value, placeholders):
    if isinstance(value, str) and value in placeholders:
        return placeholders[value]
    if isinstance(value, list):
        return [_fill(v, placeholders) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, placeholders) for k, v in value.items()}
    return value


@pytest.mark.parametrize("body,status,code", PROFILE_CASES)
def test_bad_profile_edit(client, app, applicant, placeholders, body, status, code):
    body = _fill(body, placeholders)
    before_rows, before = row_counts(app), caregiver_row(app, applicant["caregiver_id"])
    for method in ("patch",):
        response = getattr(client, method)("/api/v1/caregiver/me", headers=applicant["headers"],
                                           json=body)
        assert response.status_code == status, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == code, error
        assert CHINESE.search(error["message"]), error
        if code != "validation_error" and status == 422:
            assert any(CHINESE.search(m) for messages in error["details"].values()
                       if isinstance(messages, list) for m in messages), error
    assert row_counts(app) == before_rows
    assert caregiver_row(app, applicant["caregiver_id"]) == before


def test_the_same_checks_hold_on_create_and_for_an_approved_caregiver(client, app, alice, bob):
    from tests.caregivers.conftest import bind_phone
    from tests.conftest import make_caregiver

    bind_phone(app, bob["id"])
    before = row_counts(app)
    for body, code in (({"skills": ["flying"]}, "unknown_skill"),
                       ({"hospital_ids": [999999], "city_code": "110100"}, "unknown_hospital"),
                       ({"birth_date": "2015-01-01"}, "invalid_birth_date")):
        response = client.post("/api/v1/caregiver/me", headers=bob["headers"], json=body)
        assert response.get_json()["error"]["code"] == code
    assert row_counts(app) == before
    caregiver_id = make_caregiver(app, user_id=alice["id"], status="approved")
    before, before_row = row_counts(app), caregiver_row(app, caregiver_id)
    for body, code in (({"skills": ["flying"]}, "unknown_skill"),
                       ({"name": "王秀云", "years_experience": 45}, "invalid_years_experience"),
                       ({"bio": "新简介", "district_codes": ["310104"]}, "district_outside_city")):
        response = client.patch("/api/v1/caregiver/me", headers=alice["headers"], json=body)
        assert response.get_json()["error"]["code"] == code
    assert row_counts(app) == before  # no revision was opened either
    assert caregiver_row(app, caregiver_id) == before_row


PRICE_CASES = [
    ([{"care_type": "massage", "price_fen": 20000}], 422, "unknown_care_type"),
    ([{"care_type": "full_day", "price_fen": 20000}, {"care_type": "full_day",
                                                       "price_fen": 30000}],
     422, "duplicate_care_type"),
    ([{"care_type": "full_day", "price_fen": 14999}], 422, "price_out_of_range"),
    ([{"care_type": "hourly", "price_fen": 20001}], 422, "price_out_of_range"),
    ([{"care_type": "full_day", "price_fen": -5}], 422, "validation_error"),
    ([{"care_type": "full_day", "price_fen": 10**12}], 422, "validation_error"),
    ([{"care_type": "full_day", "price_fen": 200.5}], 422, "validation_error"),
    ([{"care_type": "full_day"}], 422, "validation_error"),
    ([], 422, "validation_error"),
    ("full_day", 422, "validation_error"),
    (None, 422, "validation_error"),
]


@pytest.mark.parametrize("prices,status,code", PRICE_CASES)
def test_bad_prices(client, app, applicant, prices, status, code):
    before_rows, before = row_counts(app), caregiver_row(app, applicant["caregiver_id"])
    response = client.put("/api/v1/caregiver/me/prices", headers=applicant["headers"],
                          json={"prices": prices})
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and CHINESE.search(error["message"])
    if code == "price_out_of_range":
        low, high = (15000, 100000) if prices[0]["care_type"] == "full_day" else (3000, 20000)
        assert error["details"] == {"care_type": prices[0]["care_type"], "min_fen": low,
                                    "max_fen": high}
        assert f"{low // 100} 元" in error["message"]
    assert row_counts(app) == before_rows
    assert caregiver_row(app, applicant["caregiver_id"]) == before


def test_bad_staff_input(client, app, staff_factory):
    from tests.conftest import make_caregiver

    admin = staff_factory("admin")
    caregiver_id = make_caregiver(app, status="pending_review")
    before = row_counts(app)
    cases = [
        ("post", f"/api/v1/staff/caregivers/{caregiver_id}/decision", {}, 422,
         "validation_error"),
        ("post", f"/api/v1/staff/caregivers/{caregiver_id}/decision",
         {"approve": False, "reason": "x"}, 422, "validation_error"),
        ("post", f"/api/v1/staff/caregivers/{caregiver_id}/decision",
         {"approve": False, "reason": "  "}, 422, "validation_error"),
        ("post", f"/api/v1/staff/caregivers/{caregiver_id}/decision",
         {"approve": False, "reason": "长" * 201}, 422, "validation_error"),
        ("post", "/api/v1/staff/caregivers/999999/decision", {"approve": True}, 404,
         "caregiver_not_found"),
        ("post", "/api/v1/staff/caregivers/99999999999999999999/suspend",
         {"reason": "测试原因"}, 404, "caregiver_not_found"),
        ("post", f"/api/v1/staff/caregivers/{caregiver_id}/suspend", {}, 422,
         "validation_error"),
        ("post", "/api/v1/staff/caregiver-skills", {"code": "elderly", "name": "新名字"}, 409,
         "skill_exists"),
        ("post", "/api/v1/staff/caregiver-skills", {"code": "newone", "name": "老年护理"}, 409,
         "skill_exists"),
        ("post", "/api/v1/staff/caregiver-skills", {"code": "Bad Code", "name": "某技能"}, 422,
         "validation_error"),
        ("post", "/api/v1/staff/caregiver-skills", {"code": "abc", "name": ""}, 422,
         "validation_error"),
        ("patch", "/api/v1/staff/caregiver-skills/nope", {"name": "某技能"}, 404,
         "skill_not_found"),
        ("patch", "/api/v1/staff/caregiver-skills/elderly", {"name": "术后护理"}, 409,
         "skill_exists"),
        ("patch", "/api/v1/staff/caregiver-skills/elderly", {"sort_order": -1}, 422,
         "validation_error"),
        ("get", "/api/v1/staff/caregiver-revisions?status=unknown", None, 422,
         "validation_error"),
    ]
    for method, url, body, status, code in cases:
        response = getattr(client, method)(url, headers=admin["headers"], json=body)
        assert (response.status_code, response.get_json()["error"]["code"]) == (status, code), \
            (url, body, response.get_json())
        assert CHINESE.search(response.get_json()["error"]["message"])
    assert row_counts(app) == before
    assert caregiver_row(app, caregiver_id)["status"] == "pending_review"
