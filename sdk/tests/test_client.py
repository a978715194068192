"""The client against a real local HTTP server that verifies signatures on its own."""
from datetime import date, time as clock_time

import pytest

from hospital_sdk import (ApiConnectionError, ApiTimeout, AuthenticationError, Conflict,
                          Department, Doctor, NotFound, OpenApiError, RateLimited, Schedule,
                          ServerError, ValidationError)

from conftest import KEY_ID


def schedules(n, prefix="S"):
    return [Schedule(f"{prefix}{i:05d}", "DR1", date(2026, 6, 1 + i % 28), "morning",
                     clock_time(8), clock_time(12), total=30, fee_fen=5000) for i in range(n)]


def signed_ok(api):
    return [r for r in api.requests if r.auth_error is None]


# ---- signing on the wire ----------------------------------------------------------------------

def test_requests_are_signed_as_the_independent_server_expects(client, api, fake_time):
    result = client.upsert_departments([Department("D01", "内科"),
                                        Department("D0101", "心内科", "D01", 2)])
    assert result.created == 2 and result.requests == 1
    (rec,) = api.requests
    assert rec.auth_error is None
    assert rec.method == "POST" and rec.target == "/open/v1/departments:batch"
    assert rec.headers["x-hospital-key"] == KEY_ID
    assert rec.headers["x-timestamp"] == str(int(fake_time.now))
    assert rec.headers["content-type"].startswith("application/json")
    assert rec.json == {"items": [
        {"external_id": "D01", "name": "内科", "parent_external_id": None},
        {"external_id": "D0101", "name": "心内科", "parent_external_id": "D01", "sort_order": 2}]}
    assert "内科".encode() in rec.body  # UTF-8 JSON, not \u escapes


def test_unicode_ids_in_the_path_and_query_are_signed_over_the_wire_form(client, api):
    answer = client.stop_schedule("排班/1 a", "医生临时出诊")
    assert answer == {"external_id": "排班/1 a", "status": "stopped", "stopped": 0, "closed": 0}
    assert api.requests[-1].path == "/open/v1/schedules/%E6%8E%92%E7%8F%AD%2F1%20a/stop"
    client.registration_changes(cursor="a+b/c=d&é ~", limit=7)
    rec = api.requests[-1]
    assert rec.auth_error is None
    assert rec.params == {"cursor": "a+b/c=d&é ~", "limit": "7"}


def test_a_wrong_secret_is_refused_and_not_retried(make_client, api):
    client = make_client(secret="hs_" + "x" * 43)
    with pytest.raises(AuthenticationError) as caught:
        client.upsert_doctors([Doctor("DR1", "D01", "张三", "主任医师")])
    assert caught.value.status == 401 and caught.value.code == "signature_invalid"
    assert caught.value.request_id == "req-1"
    assert len(api.requests) == 1


def test_a_stale_clock_is_refused(make_client, api, fake_time):
    client = make_client(clock=lambda: fake_time.now - 301)
    with pytest.raises(AuthenticationError) as caught:
        client.mark_visited("R1")
    assert caught.value.code == "timestamp_out_of_window"
    assert len(api.requests) == 1


# ---- retries ----------------------------------------------------------------------------------

def test_503_is_retried_with_fresh_nonce_and_timestamp_and_the_same_body(client, api, fake_time):
    start = fake_time.now
    api.queue("/open/v1/schedules:batch",
              (503, {"error": {"code": "service_unavailable", "message": "稍后再试"}}),
              (502, b"<html>bad gateway</html>"), (504, {}))
    result = client.upsert_schedules(schedules(3))
    assert result.created == 3
    assert [r.answered for r in api.requests] == ["503", "502", "504", "200"]
    assert all(r.auth_error is None for r in api.requests)       # incl. no nonce_reused
    assert len({r.headers["x-nonce"] for r in api.requests}) == 4
    # backoff 2 * 2**n with jitter 0.5 -> 0.75 of the ceiling: 1.5, 3, 6
    assert fake_time.sleeps == [1.5, 3.0, 6.0]
    assert [int(r.headers["x-timestamp"]) for r in api.requests] == [
        int(start), int(start + 1.5), int(start + 4.5), int(start + 10.5)]
    assert len({r.body for r in api.requests}) == 1
    assert len({r.headers["x-signature"] for r in api.requests}) == 4


def test_retry_after_is_honoured(client, api, fake_time):
    api.queue("/open/v1/doctors:batch",
              (429, {"error": {"code": "rate_limited", "message": "操作过于频繁"}},
               {"Retry-After": "7"}))
    client.upsert_doctors([Doctor("DR1", "D01", "张三", "主任医师")])
    assert fake_time.sleeps == [7.0]
    assert len(signed_ok(api)) == 2


def test_retry_after_is_capped_and_accepts_an_http_date(make_client, api, fake_time):
    client = make_client(max_retry_after=30)
    from email.utils import formatdate
    api.queue("/open/v1/doctors:batch",
              (429, {}, {"Retry-After": "3600"}),
              (503, {}, {"Retry-After": formatdate(fake_time.now + 50, usegmt=True)}))
    client.upsert_doctors([Doctor("DR1", "D01", "张三", "主任医师")])
    # 3600 s capped to 30; the date is 50 s after the first attempt, 20 s after the second
    assert fake_time.sleeps == [30, 20]


def test_429_after_the_last_retry_raises_rate_limited(client, api, fake_time):
    answer = (429, {"error": {"code": "rate_limited", "message": "操作过于频繁",
                              "details": {"limit": 600}}}, {"Retry-After": "2"})
    api.queue("/open/v1/registrations/changes", *[answer] * 4)
    with pytest.raises(RateLimited) as caught:
        client.registration_changes()
    error = caught.value
    assert (error.status, error.code, error.message) == (429, "rate_limited", "操作过于频繁")
    assert error.details == {"limit": 600} and error.retry_after == 2
    assert error.request_id == "req-4"
    assert len(api.requests) == 4 and fake_time.sleeps == [2, 2, 2]


@pytest.mark.parametrize("status, cls, code", [
    (401, AuthenticationError, "key_revoked"), (422, ValidationError, "validation_error"),
    (404, NotFound, "not_found"), (409, Conflict, "conflict"), (500, ServerError, "internal_error"),
])
def test_no_retry_on_other_errors_and_the_envelope_is_carried(client, api, fake_time,
                                                              status, cls, code):
    details = {"items.0.total": ["不能小于已预约数"]}
    api.queue("/open/v1/schedules:batch",
              (status, {"error": {"code": code, "message": "中文说明", "details": details,
                                  "request_id": "rid-abc"}}))
    with pytest.raises(cls) as caught:
        client.upsert_schedules(schedules(1))
    error = caught.value
    assert isinstance(error, OpenApiError)
    assert (error.status, error.code, error.message, error.details, error.request_id) == (
        status, code, "中文说明", details, "rid-abc")
    assert len(api.requests) == 1 and fake_time.sleeps == []


def test_an_error_without_the_envelope_still_has_a_code_and_request_id(make_client, api):
    client = make_client(max_retries=0)
    api.queue("/open/v1/schedules:batch", (502, b"<html>bad gateway</html>"))
    with pytest.raises(ServerError) as caught:
        client.upsert_schedules(schedules(1))
    assert caught.value.code == "http_502" and caught.value.request_id == "req-1"


def test_a_read_timeout_is_retried_for_an_idempotent_upsert(client, api, fake_time):
    api.queue("/open/v1/schedules:batch", "hang")
    result = client.upsert_schedules(schedules(2))
    assert result.created == 2
    assert [r.answered for r in api.requests] == ["hang", "200"]
    assert api.requests[0].body == api.requests[1].body
    assert api.requests[0].headers["x-nonce"] != api.requests[1].headers["x-nonce"]
    assert fake_time.sleeps == [1.5]


def test_a_dropped_connection_is_retried_for_an_idempotent_upsert(client, api):
    api.queue("/open/v1/doctors:batch", "drop", "drop")
    assert client.upsert_doctors([Doctor("DR1", "D01", "张三", "主任医师")]).created == 1
    assert [r.answered for r in api.requests] == ["drop", "drop", "200"]


def test_timeouts_give_up_after_max_retries(make_client, api, fake_time):
    client = make_client(max_retries=2)
    api.queue("/open/v1/registrations/changes", "hang", "hang", "hang")
    with pytest.raises(ApiTimeout):
        client.registration_changes()
    assert len(api.requests) == 3 and len(fake_time.sleeps) == 2


def test_stop_and_visit_are_not_retried_after_an_ambiguous_failure(client, api):
    api.queue("/open/v1/schedules/S1/stop", "hang")
    with pytest.raises(ApiTimeout):
        client.stop_schedule("S1", "停诊")
    api.queue("/open/v1/registrations/R1/visit", (504, {}))
    with pytest.raises(ServerError):
        client.mark_visited("R1")
    assert [r.answered for r in api.requests] == ["hang", "504"]


def test_stop_and_visit_are_retried_when_the_server_did_not_take_the_request(client, api):
    api.queue("/open/v1/schedules/S1/stop", (429, {}, {"Retry-After": "1"}), (503, {}))
    assert client.stop_schedule("S1", "停诊")["status"] == "stopped"
    api.queue("/open/v1/registrations/R1/visit", "hang")
    assert client.mark_visited("R1", retry_ambiguous=True)["status"] == "visited"
    assert [r.answered for r in api.requests] == ["429", "503", "200", "hang", "200"]


def test_connection_refused_is_retried_even_for_stop(make_client, closed_port, fake_time):
    client = make_client(base_url=f"http://127.0.0.1:{closed_port}")
    with pytest.raises(ApiConnectionError) as caught:
        client.stop_schedule("S1", "停诊")
    assert caught.value.status is None and caught.value.__cause__ is not None
    assert fake_time.sleeps == [1.5, 3.0, 6.0]


# ---- batching ---------------------------------------------------------------------------------

def test_1200_schedules_go_as_three_requests_and_the_results_merge(client, api):
    items = schedules(1200)
    result = client.upsert_schedules(items)
    assert [len(r.json["items"]) for r in api.requests] == [500, 500, 200]
    sent = [item for r in api.requests for item in r.json["items"]]
    assert sent == [s.to_dict() for s in items]
    assert (result.created, result.updated, result.requests, result.total) == (1200, 0, 3, 1200)
    assert [i["external_id"] for i in result.items] == [s.external_id for s in items]

    again = client.upsert_schedules(items)       # idempotent: the same batch again
    assert (again.created, again.unchanged) == (0, 1200)


def test_a_failing_chunk_reports_what_was_accepted_before_it(client, api):
    # the first chunk goes through (the default answer), the second is refused
    original = api.default_answer
    calls = []

    def second_fails(rec):
        calls.append(rec)
        if len(calls) == 2:
            return 422, {"error": {"code": "schedule_overlap", "message": "排班时间重叠",
                                   "details": {"items.3": ["重叠"]}}}
        return original(rec)

    api.default_answer = second_fails
    with pytest.raises(ValidationError) as caught:
        client.upsert_schedules(schedules(1100))
    error = caught.value
    assert error.code == "schedule_overlap" and error.batch_offset == 500
    assert error.partial_result.created == 500 and error.partial_result.requests == 1
    assert len(api.requests) == 2


def test_an_empty_list_sends_nothing(client, api):
    assert client.upsert_schedules([]).requests == 0
    assert api.requests == []


def test_mappings_are_checked_like_models_and_parents_go_first(client, api):
    client.upsert_departments([{"external_id": "C", "name": "子", "parent_external_id": "B"},
                               {"external_id": "B", "name": "中", "parent_external_id": "A"},
                               {"external_id": "A", "name": "根"}])
    assert [i["external_id"] for i in api.requests[0].json["items"]] == ["A", "B", "C"]
    with pytest.raises(ValueError):
        client.upsert_schedules([{**schedules(1)[0].to_dict(), "period": "night"}])
    with pytest.raises(TypeError):
        client.upsert_schedules([Doctor("DR1", "D01", "张三", "主任医师")])
    assert len(api.requests) == 1


# ---- single actions and the changes feed -----------------------------------------------------

def test_stop_and_visit_send_their_bodies(client, api):
    client.stop_schedule("S9", "医生临时出诊")
    client.mark_visited("R202606010001")
    stop, visit = api.requests
    assert (stop.method, stop.path, stop.json) == (
        "POST", "/open/v1/schedules/S9/stop", {"reason": "医生临时出诊"})
    assert (visit.method, visit.path, visit.json) == (
        "POST", "/open/v1/registrations/R202606010001/visit", {})


def test_the_changes_iterator_follows_cursors_until_has_more_is_false(client, api):
    api.changes = [{"order_no": f"R{i:04d}", "status": "booked", "updated_at": f"t{i}",
                    "schedule_external_id": "S1", "doctor_external_id": "DR1",
                    "department_external_id": "D01"} for i in range(250)]
    changes = list(client.iter_registration_changes(limit=100))
    assert [c.order_no for c in changes] == [f"R{i:04d}" for i in range(250)]
    assert changes[0].status == "booked" and changes[0].changed_at == "t0"
    assert (changes[0].schedule_external_id, changes[0].doctor_external_id,
            changes[0].department_external_id) == ("S1", "DR1", "D01")
    assert [r.params for r in api.requests] == [
        {"limit": "100"}, {"limit": "100", "cursor": "100"}, {"limit": "100", "cursor": "200"}]
    assert all(r.method == "GET" and r.body == b"" and r.auth_error is None
               for r in api.requests)


def test_the_changes_iterator_resumes_from_a_cursor_and_stops_on_a_stuck_one(client, api):
    api.changes = [{"order_no": f"R{i}", "status": "visited"} for i in range(5)]
    pages = list(client.iter_registration_change_pages("3", limit=10))
    assert len(pages) == 1 and [c.order_no for c in pages[0].items] == ["R3", "R4"]
    assert pages[0].next_cursor == "5" and pages[0].has_more is False

    api.stuck_cursor = True
    with pytest.raises(OpenApiError) as caught:
        list(client.iter_registration_changes("0", limit=2))
    assert caught.value.code == "cursor_stuck"


def test_repr_never_shows_the_secret(client):
    assert "hs_" not in repr(client) and "hs_" not in str(client)
