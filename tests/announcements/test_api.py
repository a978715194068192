"""The staff API: input refused with stable codes and Chinese messages, who may call it,
404, the list (newest first, paginated) and an empty segment."""
import pytest

from tests.announcements.conftest import BATCH_JOB, announce, queued_jobs

BASE = "/api/v1/staff/announcements"


@pytest.mark.parametrize("body, code, field", [
    ({"title": ""}, "validation_error", "title"),
    ({"title": "标" * 65}, "validation_error", "title"),
    ({"body": "字" * 501}, "validation_error", "body"),
    ({"title": None}, "validation_error", "title"),
    ({"segment": "vip"}, "validation_error", "segment"),
    ({"page": "https://evil.example/x"}, "validation_error", "page"),
    ({"segment": "city"}, "city_code_required", "city_code"),
    ({"segment": "city", "city_code": "31010"}, "validation_error", "city_code"),
    ({"segment": "city", "city_code": "３１０１００"}, "validation_error", "city_code"),
    ({"segment": "all", "city_code": "310100"}, "segment_field_not_allowed", "city_code"),
    ({"segment": "booking_range", "date_from": "2026-12-01"}, "date_range_required", "date_to"),
    ({"segment": "booking_range", "date_to": "2026-12-01"}, "date_range_required", "date_from"),
    ({"segment": "booking_range", "date_from": "2026-12-02", "date_to": "2026-12-01"},
     "date_range_reversed", "date_to"),
    ({"segment": "booking_range", "date_from": "2024-01-01", "date_to": "2025-01-01"},
     "date_range_too_long", "date_to"),  # 367 days
    ({"segment": "booking_range", "date_from": "2026-13-01", "date_to": "2026-12-01"},
     "validation_error", "date_from"),
    ({"segment": "caregivers", "date_from": "2026-12-01"}, "segment_field_not_allowed",
     "date_from"),
    ({"audience": "all"}, "validation_error", "audience"),
])
def test_bad_input_is_refused_with_a_code(client, operator, body, code, field):
    response = announce(client, operator, **body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code and field in error["details"]
    assert any("\u4e00" <= char <= "\u9fff" for char in error["message"])


def test_unstorable_text_is_refused(client, operator):
    raw = '{"title": "\\ud800", "body": "正文", "segment": "all"}'  # a lone surrogate
    response = client.post(BASE, data=raw, headers={**operator["headers"],
                                                    "Content-Type": "application/json"})
    assert response.status_code == 422
    assert "title" in response.get_json()["error"]["details"]


def test_bad_input_sends_nothing(client, app, operator):
    assert announce(client, operator, segment="city").status_code == 422
    assert client.get(BASE, headers=operator["headers"]).get_json()["total"] == 0
    assert queued_jobs(app, "default") == []


def test_a_body_that_is_not_json(client, operator):
    response = client.post(BASE, data="title=x", headers={
        **operator["headers"], "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_a_range_of_366_days_is_accepted(client, operator):
    response = announce(client, operator, segment="booking_range", date_from="2024-01-01",
                        date_to="2024-12-31")
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["date_from"], created["date_to"]) == ("2024-01-01", "2024-12-31")


def test_only_operators_and_admins(client, app, staff_factory, alice):
    reviewer = staff_factory("reviewer")
    for method, path in (("post", BASE), ("get", BASE), ("get", f"{BASE}/1")):
        kwargs = {"json": {"title": "t", "body": "b", "segment": "all"}} if method == "post" else {}
        response = getattr(client, method)(path, headers=reviewer["headers"], **kwargs)
        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "forbidden"
        response = getattr(client, method)(path, headers=alice["headers"], **kwargs)
        assert response.status_code == 401  # a user's token is not a staff token
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "unauthorized"
    assert queued_jobs(app, "default") == []
    admin = staff_factory("admin")
    assert announce(client, admin).status_code == 201


def test_unknown_announcement_is_404(client, operator):
    for path in (f"{BASE}/999999", f"{BASE}/{2**70}"):
        response = client.get(path, headers=operator["headers"])
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "announcement_not_found"


def test_the_list_is_newest_first_and_paginated(client, operator, alice):
    ids = [announce(client, operator, title=f"公告{index}").get_json()["id"]
           for index in range(3)]
    first = client.get(f"{BASE}?page_size=2", headers=operator["headers"]).get_json()
    assert first["total"] == 3 and first["page"] == 1 and first["page_size"] == 2
    assert [item["id"] for item in first["items"]] == ids[:0:-1]
    second = client.get(f"{BASE}?page=2&page_size=2", headers=operator["headers"]).get_json()
    assert [item["id"] for item in second["items"]] == ids[:1]
    item = second["items"][0]
    assert item["title"] == "公告0" and item["total"] == 1 and item["status"] == "sending"
    assert item["created_by_staff_id"] == operator["id"]
    response = client.get(f"{BASE}?page_size=0", headers=operator["headers"])
    assert response.status_code == 422


def test_an_empty_segment_is_completed_at_once(client, app, operator, alice):
    response = announce(client, operator, segment="city", city_code="650100")
    assert response.status_code == 201
    created = response.get_json()
    assert created["total"] == 0 and created["status"] == "completed"
    assert created["finished_at"] is not None
    assert BATCH_JOB not in [job.func_name for job in queued_jobs(app, "default")]
