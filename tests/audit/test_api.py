"""GET /api/v1/staff/audit-log: admins only, filters, pagination, detail; no way to change it."""
from datetime import datetime, timedelta, timezone

import pytest

from app.audit.listeners import REDACTED
from tests.audit.conftest import entries

LOG = "/api/v1/staff/audit-log"


def ban(client, staff, user_id, reason="恶意刷单"):
    response = client.post(f"/api/v1/staff/users/{user_id}/ban", headers=staff["headers"],
                           json={"reason": reason})
    assert response.status_code == 200, response.get_json()


def unban(client, staff, user_id):
    assert client.post(f"/api/v1/staff/users/{user_id}/unban",
                       headers=staff["headers"]).status_code == 200


@pytest.fixture
def history(app, client, alice, bob, admin, operator, staff_factory):
    """Four actions: operator bans alice, bans bob, unbans alice; a second operator bans alice."""
    other = staff_factory("operator")
    ban(client, operator, alice["id"])
    ban(client, operator, bob["id"])
    unban(client, operator, alice["id"])
    ban(client, other, alice["id"], reason="再次违规")
    return {"alice": alice, "bob": bob, "operator": operator, "other": other}


def ids(response):
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_admins_list_newest_first_and_read_the_detail(app, client, admin, history):
    all_ids = [entry["id"] for entry in entries(app)]
    listed = client.get(LOG, headers=admin["headers"])
    assert ids(listed) == all_ids[::-1] and listed.get_json()["total"] == 4
    first = listed.get_json()["items"][-1]
    assert first["staff_id"] == history["operator"]["id"] and first["staff_role"] == "operator"
    assert first["method"] == "POST" and first["source"] == "api"
    assert first["action"] == f"/api/v1/staff/users/{history['alice']['id']}/ban"
    assert first["occurred_at"].endswith("+08:00")

    detail = client.get(f"{LOG}/{first['id']}", headers=admin["headers"])
    assert detail.status_code == 200
    changes = detail.get_json()["changes"]
    assert [(c["table_name"], c["row_id"], c["operation"]) for c in changes] == [
        ("users", str(history["alice"]["id"]), "update")]
    assert changes[0]["before"]["status"] == "active"
    assert changes[0]["after"]["status"] == "banned"

    page = client.get(f"{LOG}?page=2&page_size=3", headers=admin["headers"])
    assert ids(page) == all_ids[:1] and page.get_json()["total"] == 4


def test_filters(app, client, admin, history):
    all_ids = [entry["id"] for entry in entries(app)]
    headers = admin["headers"]
    alice, bob = history["alice"]["id"], history["bob"]["id"]
    assert ids(client.get(f"{LOG}?staff_id={history['other']['id']}", headers=headers)) == \
        [all_ids[3]]
    assert ids(client.get(f"{LOG}?table=users&row_id={bob}", headers=headers)) == [all_ids[1]]
    assert ids(client.get(f"{LOG}?table=users&row_id={alice}", headers=headers)) == \
        [all_ids[3], all_ids[2], all_ids[0]]
    assert ids(client.get(f"{LOG}?table=care_orders", headers=headers)) == []
    assert ids(client.get(f"{LOG}?action=/api/v1/staff/users/{alice}/unban",
                          headers=headers)) == [all_ids[2]]
    assert ids(client.get(f"{LOG}?action=%25", headers=headers)) == []  # no LIKE wildcards
    now = datetime.now(timezone.utc)
    since = (now - timedelta(minutes=5)).isoformat()
    until = (now + timedelta(minutes=5)).isoformat()
    assert ids(client.get(LOG, query_string={"since": since, "until": until},
                          headers=headers)) == all_ids[::-1]
    assert ids(client.get(LOG, query_string={"since": until}, headers=headers)) == []
    assert ids(client.get(LOG, query_string={"until": since}, headers=headers)) == []


@pytest.mark.parametrize("query, field", [
    ("row_id=5", "row_id"),                              # a row without its table
    ("since=2026-01-02T00:00:00%2B08:00&until=2026-01-01T00:00:00%2B08:00", "until"),
    ("since=2026-01-01T00:00:00", "since"),              # no offset: ambiguous
    ("staff_id=0", "staff_id"),
    ("staff_id=abc", "staff_id"),
    ("page_size=1000", "page_size"),
])
def test_bad_filters_are_422_in_chinese(client, admin, query, field):
    response = client.get(f"{LOG}?{query}", headers=admin["headers"])
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error" and field in str(error["details"])


def test_only_admins_read_the_log(client, alice, history, reviewer):
    entry_id = 1
    for staff in (history["operator"], reviewer):
        for url in (LOG, f"{LOG}/{entry_id}"):
            response = client.get(url, headers=staff["headers"])
            assert response.status_code == 403, (url, response.get_json())
    assert client.get(LOG, headers=alice["headers"]).status_code == 401
    assert client.get(LOG).status_code == 401


def test_unknown_entry_is_404(client, admin):
    for entry_id in (12345, 2**70):
        response = client.get(f"{LOG}/{entry_id}", headers=admin["headers"])
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "audit_entry_not_found"


def test_reading_the_log_is_not_an_action_and_it_cannot_be_changed(client, app, admin, history):
    before = entries(app)
    client.get(LOG, headers=admin["headers"])
    client.get(f"{LOG}/{before[0]['id']}", headers=admin["headers"])
    for method in ("put", "patch", "delete"):
        response = getattr(client, method)(f"{LOG}/{before[0]['id']}", headers=admin["headers"],
                                           json={})
        assert response.status_code == 405
    assert client.post(LOG, headers=admin["headers"], json={}).status_code == 405
    assert entries(app) == before


def test_personal_columns_show_no_values_in_the_api(app, client, admin, alice):
    """A staff action that changes a phone (through acting_as: no staff endpoint edits one)."""
    from app.audit.listeners import acting_as
    from app.extensions import db
    from app.users.models import User

    with app.app_context(), acting_as(admin["id"], "console:edit-phone", source="console"):
        db.session.get(User, alice["id"]).phone = "13912345678"
        db.session.commit()
        db.session.remove()
    item = client.get(LOG, headers=admin["headers"]).get_json()["items"][0]
    assert item["source"] == "console" and item["action"] == "console:edit-phone"
    detail = client.get(f"{LOG}/{item['id']}", headers=admin["headers"]).get_json()
    after = detail["changes"][0]["after"]
    assert after == {"phone_encrypted": REDACTED, "phone_index": REDACTED}
    assert "13912345678" not in str(detail) and "5678" not in str(detail)
