"""Platform price standards and the skill list, maintained by admins."""
from app.caregivers.models import CARE_TYPES
from tests.caregivers.conftest import caregiver_row
from tests.conftest import make_caregiver, row_counts

DEFAULT = {"full_day": (15000, 100000), "day_shift": (8000, 60000),
           "night_shift": (8000, 60000), "hourly": (3000, 20000), "escort": (5000, 60000)}


def limits(**overrides):
    values = {**DEFAULT, **overrides}
    return {"limits": {t: {"min_fen": low, "max_fen": high} for t, (low, high) in values.items()}}


def test_price_limits_default_to_config_until_staff_save(app):
    from app.caregivers.services import price_limits
    from app.extensions import db
    from app.settings.services import get_setting, set_setting

    with app.app_context():
        assert price_limits() == DEFAULT
        assert get_setting("care_price_limits", "fallback") == "fallback"
        set_setting(None, "care_price_limits", {"hourly": [1000, 2000]})
        db.session.commit()
        assert price_limits() == {**DEFAULT, "hourly": (1000, 2000)}  # others from config
        db.session.remove()


def test_admin_changes_the_standard(client, app, alice, staff_factory):
    admin = staff_factory("admin")
    shown = client.get("/api/v1/staff/settings/care-prices", headers=admin["headers"])
    assert shown.status_code == 200
    assert shown.get_json() == {**limits(), "prices_outside": 0}
    # two caregivers price full days at 300 and 500 yuan; the minimum goes up to 400
    make_caregiver(app, prices={"full_day": 30000, "escort": 8000})
    caregiver_id = make_caregiver(app, user_id=alice["id"], status="draft",
                                  prices={"full_day": 50000})
    saved = client.put("/api/v1/staff/settings/care-prices", headers=admin["headers"],
                       json=limits(full_day=(40000, 90000)))
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["prices_outside"] == 1  # left alone, but counted
    assert saved.get_json()["limits"]["full_day"] == {"min_fen": 40000, "max_fen": 90000}
    public = {t["care_type"]: t for t in client.get("/api/v1/care-types").get_json()}
    assert (public["full_day"]["min_price_fen"], public["full_day"]["max_price_fen"]) == (
        40000, 90000)
    assert public["escort"]["min_price_fen"] == 5000
    # the new standard holds for the next price change
    refused = client.put("/api/v1/caregiver/me/prices", headers=alice["headers"],
                         json={"prices": [{"care_type": "full_day", "price_fen": 95000}]})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"] == {"care_type": "full_day",
                                                      "min_fen": 40000, "max_fen": 90000}
    assert caregiver_row(app, caregiver_id)["prices"] == {"full_day": 50000}
    # saved again (the row exists now): updated in place
    again = client.put("/api/v1/staff/settings/care-prices", headers=admin["headers"],
                       json=limits())
    assert again.status_code == 200 and again.get_json()["prices_outside"] == 0
    from app.extensions import db
    from app.settings.models import PlatformSetting
    with app.app_context():
        row = db.session.get(PlatformSetting, "care_price_limits")
        assert row.updated_by_staff_id == admin["id"]
        assert row.value == {t: list(pair) for t, pair in DEFAULT.items()}
        db.session.remove()


def test_bad_standards_change_nothing(client, app, staff_factory):
    admin = staff_factory("admin")
    client.put("/api/v1/staff/settings/care-prices", headers=admin["headers"], json=limits())
    before = row_counts(app)
    partial = limits()
    del partial["limits"]["escort"]
    cases = [
        limits(full_day=(50000, 40000)),
        limits(hourly=(0, 2000)),
        limits(hourly=(-1, 2000)),
        limits(hourly=(1000, 10**12)),
        partial,
        {"limits": {**limits()["limits"], "massage": {"min_fen": 1, "max_fen": 2}}},
        {"limits": {**limits()["limits"], "hourly": {"min_fen": 1000}}},
        {"limits": {**limits()["limits"], "hourly": [1000, 2000]}},
        {"limits": "cheap"},
        {},
    ]
    for body in cases:
        response = client.put("/api/v1/staff/settings/care-prices", headers=admin["headers"],
                              json=body)
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["error"]["code"] == "validation_error"
    assert row_counts(app) == before
    assert client.get("/api/v1/staff/settings/care-prices",
                      headers=admin["headers"]).get_json()["limits"] == limits()["limits"]
    assert set(CARE_TYPES) == set(DEFAULT)


def test_skill_maintenance(client, app, alice, staff_factory):
    admin = staff_factory("admin")
    created = client.post("/api/v1/staff/caregiver-skills", headers=admin["headers"],
                          json={"code": "tube_feeding", "name": "鼻饲护理", "sort_order": 5})
    assert created.status_code == 201
    assert created.get_json() == {"code": "tube_feeding", "name": "鼻饲护理", "sort_order": 5,
                                  "is_active": True}
    renamed = client.patch("/api/v1/staff/caregiver-skills/tube_feeding",
                           headers=admin["headers"], json={"name": "鼻饲照护"})
    assert renamed.get_json()["name"] == "鼻饲照护"
    # a caregiver holding a tag keeps it when it is retired; nobody can newly choose it
    caregiver_id = make_caregiver(app, user_id=alice["id"], status="draft",
                                  skills=("tube_feeding",))
    retired = client.patch("/api/v1/staff/caregiver-skills/tube_feeding",
                           headers=admin["headers"], json={"is_active": False})
    assert retired.get_json()["is_active"] is False
    assert caregiver_row(app, caregiver_id)["skills"] == ["tube_feeding"]
    mine = client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()
    assert mine["skills"] == [{"code": "tube_feeding", "name": "鼻饲照护"}]
    refused = client.patch("/api/v1/caregiver/me", headers=alice["headers"],
                           json={"skills": ["tube_feeding", "elderly"]})
    assert refused.get_json()["error"]["code"] == "unknown_skill"
    everything = client.get("/api/v1/staff/caregiver-skills", headers=admin["headers"])
    assert "tube_feeding" in [s["code"] for s in everything.get_json()]
    assert "tube_feeding" not in [s["code"] for s in client.get(
        "/api/v1/caregiver-skills").get_json()]
