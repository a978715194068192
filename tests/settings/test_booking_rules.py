"""Booking rules (挂号规则) staff may change: the admin API, its bounds, and booking obeying
what was saved (config values are the defaults until then)."""
from datetime import timedelta

import pytest

from app.extensions import db
from app.settings.booking_rules import booking_rules
from tests.booking.conftest import book, catalogue, local_now, pay, verified  # noqa: F401
from tests.booking.test_booking import open_until_late
from tests.conftest import row_counts

BASE = "/api/v1/staff/settings/booking-rules"
DEFAULTS = {"daily_limit": 3, "no_show_limit": 3, "no_show_window_days": 90,
            "no_show_block_days": 30}


@pytest.fixture
def admin(staff_factory):
    return staff_factory("admin")


def test_defaults_come_from_config_and_a_change_keeps_the_others(client, app, admin):
    assert client.get(BASE, headers=admin["headers"]).get_json() == DEFAULTS
    changed = client.put(BASE, headers=admin["headers"], json={"daily_limit": 5})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json() == {**DEFAULTS, "daily_limit": 5}
    # the config still supplies what nobody changed
    app.config["NO_SHOW_BLOCK_DAYS"] = 45
    try:
        again = client.put(BASE, headers=admin["headers"], json={"no_show_limit": 2})
        assert again.get_json() == {**DEFAULTS, "daily_limit": 5, "no_show_limit": 2,
                                    "no_show_block_days": 45}
    finally:
        app.config["NO_SHOW_BLOCK_DAYS"] = 30
    with app.app_context():
        assert booking_rules() == {**DEFAULTS, "daily_limit": 5, "no_show_limit": 2}
        db.session.remove()


@pytest.mark.parametrize("body, field", [
    ({"daily_limit": 0}, "daily_limit"),
    ({"daily_limit": 21}, "daily_limit"),
    ({"daily_limit": "3"}, "daily_limit"),
    ({"daily_limit": 2.5}, "daily_limit"),
    ({"daily_limit": True}, "daily_limit"),
    ({"daily_limit": None}, "daily_limit"),
    ({"no_show_limit": 51}, "no_show_limit"),
    ({"no_show_window_days": 366}, "no_show_window_days"),
    ({"no_show_block_days": -1}, "no_show_block_days"),
    ({"no_show_block_days": 10**30}, "no_show_block_days"),
    ({"payment_ttl_seconds": 60}, "payment_ttl_seconds"),
])
def test_bad_values_are_refused_in_chinese_and_change_nothing(client, app, admin, body, field):
    before = row_counts(app)
    response = client.put(BASE, headers=admin["headers"], json=body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert field in error["details"]
    assert any("\u4e00" <= char <= "\u9fff" for message in error["details"][field]
               for char in str(message)), error
    assert row_counts(app) == before


def test_an_empty_change_is_refused(client, admin):
    response = client.put(BASE, headers=admin["headers"], json={})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "nothing_to_change"


def test_only_admins(client, staff_factory, alice):
    for role in ("operator", "reviewer"):
        staff = staff_factory(role)
        assert client.get(BASE, headers=staff["headers"]).status_code == 403
        refused = client.put(BASE, headers=staff["headers"], json={"daily_limit": 1})
        assert refused.status_code == 403
        assert refused.get_json()["error"]["code"] == "forbidden"
    assert client.put(BASE, headers=alice["headers"], json={"daily_limit": 1}).status_code == 401
    assert client.get(BASE).status_code == 401


def test_booking_obeys_the_edited_daily_limit(client, app, admin, catalogue, verified):
    person, = verified(1)
    morning = catalogue["schedule"](period="morning")
    afternoon = catalogue["schedule"](period="afternoon")
    assert client.put(BASE, headers=admin["headers"], json={"daily_limit": 1}).status_code == 200
    assert book(client, person, morning).status_code == 201
    refused = book(client, person, afternoon)
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "daily_limit_reached" and error["details"] == {"limit": 1}
    assert "最多预约 1 个号" in error["message"]
    assert client.put(BASE, headers=admin["headers"], json={"daily_limit": 2}).status_code == 200
    assert book(client, person, afternoon).status_code == 201


def test_booking_obeys_the_edited_no_show_rules(client, app, admin, catalogue, verified):
    from app.booking.services import mark_no_shows

    open_until_late(app, catalogue["hospital_id"])
    person, = verified(1)
    for days in (1, 2):
        pay(app, book(client, person, catalogue["schedule"](days_ahead=days)).get_json())
    with app.app_context():
        assert mark_no_shows(today=local_now().date() + timedelta(days=2)) == 2
        db.session.remove()
    later = catalogue["schedule"](days_ahead=4)
    assert client.put(BASE, headers=admin["headers"], json={
        "no_show_limit": 2, "no_show_window_days": 60, "no_show_block_days": 10}).status_code == 200
    blocked = book(client, person, later)
    assert blocked.status_code == 403
    error = blocked.get_json()["error"]
    assert error["code"] == "booking_blocked" and "近60天内爽约2次" in error["message"]
    last_no_show = local_now().date() + timedelta(days=2)
    assert error["details"] == {"no_shows": 2,
                                "blocked_until": (last_no_show + timedelta(days=10)).isoformat()}

    # a block shorter than the time since the last no-show has run out
    with app.app_context():
        from app.booking.services import no_show_block
        assert no_show_block(person["id"], last_no_show + timedelta(days=10)) is not None
        assert client.put(BASE, headers=admin["headers"],
                          json={"no_show_block_days": 1}).status_code == 200
        assert no_show_block(person["id"], last_no_show + timedelta(days=2)) is None
        db.session.remove()
    assert client.put(BASE, headers=admin["headers"], json={"no_show_limit": 3}).status_code == 200
    assert book(client, person, later).status_code == 201


def test_the_no_show_message_states_the_saved_rules(client, app, admin, catalogue, verified):
    from app.booking.services import mark_no_shows

    open_until_late(app, catalogue["hospital_id"])
    person, = verified(1)
    pay(app, book(client, person, catalogue["schedule"](days_ahead=1)).get_json())
    client.put(BASE, headers=admin["headers"], json={"no_show_limit": 4,
                                                     "no_show_window_days": 30,
                                                     "no_show_block_days": 7})
    with app.app_context():
        assert mark_no_shows(today=local_now().date() + timedelta(days=1)) == 1
        db.session.remove()
    notes = client.get("/api/v1/notifications", headers=person["headers"]).get_json()["items"]
    body = next(note["body"] for note in notes if note["kind"] == "registration_no_show")
    assert "30天内爽约4次将暂停预约7天" in body


def test_the_api_is_in_the_openapi_document(client):
    spec = client.get("/api/openapi.json").get_json()
    put = spec["paths"][BASE]["put"]
    assert "settings_busy" in str(put["responses"]["409"]) and "admin" in put["description"]
    assert "nothing_to_change" in str(put["responses"]["422"])
