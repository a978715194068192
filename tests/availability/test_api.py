from datetime import datetime, timedelta

from sqlalchemy import select

from app.availability import services
from app.availability.models import AvailabilityException, DayWindow
from app.common.time import LOCAL_TZ, local_today
from app.extensions import db
from tests.conftest import make_caregiver, row_counts

BASE = "/api/v1/caregiver/me/availability"


def _next(weekday: int, weeks: int = 1):
    """The date of `weekday` (0 = Monday) in the coming week (never today)."""
    today = local_today()
    return today + timedelta(days=(weekday - today.weekday()) % 7 or 7) + timedelta(
        weeks=weeks - 1)


def _at(day, hh_mm: str):
    hours, minutes = map(int, hh_mm.split(":"))
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ) + timedelta(
        hours=hours, minutes=minutes)


def _day_windows(app, caregiver_id):
    with app.app_context():
        rows = db.session.execute(select(DayWindow.day, DayWindow.start_minute,
                                         DayWindow.end_minute).where(
            DayWindow.caregiver_id == caregiver_id).order_by(
            DayWindow.day, DayWindow.start_minute)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def _free(client, user, start, end):
    return client.get(f"{BASE}/free", query_string={"start": start.isoformat(),
                                                    "end": end.isoformat()},
                      headers=user["headers"])


WEEK = [{"weekday": 0, "start": "08:00", "end": "12:00"},
        {"weekday": 0, "start": "12:00", "end": "18:00"},   # touches: merged on save
        {"weekday": 1, "start": "20:00", "end": "24:00"},   # Tuesday night …
        {"weekday": 2, "start": "00:00", "end": "08:00"},   # … into Wednesday morning
        {"weekday": 4, "start": "09:30", "end": "11:00"}]


def test_journey_weekly_exceptions_day_windows_and_free_time(client, app, alice, commits):
    caregiver_id = make_caregiver(app, user_id=alice["id"])
    empty = client.get(BASE, headers=alice["headers"])
    assert empty.status_code == 200 and empty.get_json() == {"weekly": [], "exceptions": []}

    commits.clear()
    response = client.put(f"{BASE}/weekly", json={"windows": WEEK}, headers=alice["headers"])
    assert response.status_code == 200, response.get_json()
    assert len(commits) == 1
    assert response.get_json()["weekly"] == [
        {"weekday": 0, "weekday_name": "周一", "start": "08:00", "end": "18:00"},
        {"weekday": 1, "weekday_name": "周二", "start": "20:00", "end": "24:00"},
        {"weekday": 2, "weekday_name": "周三", "start": "00:00", "end": "08:00"},
        {"weekday": 4, "weekday_name": "周五", "start": "09:30", "end": "11:00"}]
    rows = _day_windows(app, caregiver_id)
    today = local_today()
    horizon = app.config["AVAILABILITY_HORIZON_DAYS"]
    days = [today + timedelta(days=n) for n in range(horizon)]
    expected = {0: [(480, 1080)], 1: [(1200, 1440)], 2: [(0, 480)], 4: [(570, 660)]}
    assert rows == [(d, s, e) for d in days for s, e in expected.get(d.weekday(), [])]

    # the night from Tuesday 20:00 to Wednesday 08:00 is free as one window
    tuesday = _next(1)
    night = _free(client, alice, _at(tuesday, "19:00"), _at(tuesday, "32:00"))
    assert night.status_code == 200, night.get_json()
    assert night.get_json() == {"windows": [{
        "start": _at(tuesday, "20:00").isoformat(), "end": _at(tuesday, "32:00").isoformat()}]}

    # a whole day off on the next Monday, extra hours in its evening
    monday = _next(0)
    commits.clear()
    off = client.post(f"{BASE}/exceptions", json={"day": monday.isoformat(), "kind": "off",
                                                   "note": "家中有事"}, headers=alice["headers"])
    assert off.status_code == 201, off.get_json()
    assert len(commits) == 1
    assert off.get_json() | {"id": 0} == {"id": 0, "day": monday.isoformat(), "kind": "off",
                                          "kind_name": "休息", "start": "00:00", "end": "24:00",
                                          "note": "家中有事"}
    extra = client.post(f"{BASE}/exceptions", json={"day": monday.isoformat(), "kind": "extra",
                                                     "start": "19:00", "end": "21:00"},
                        headers=alice["headers"])
    assert extra.status_code == 201, extra.get_json()
    # off is applied after extra hours are added: the whole day stays off
    assert [r for r in _day_windows(app, caregiver_id) if r[0] == monday] == []
    assert _free(client, alice, _at(monday, "00:00"), _at(monday, "24:00")).get_json() == {
        "windows": []}
    listed = client.get(BASE, headers=alice["headers"]).get_json()["exceptions"]
    assert [(e["kind"], e["start"], e["end"]) for e in listed] == [
        ("off", "00:00", "24:00"), ("extra", "19:00", "21:00")]

    assert client.delete(f"{BASE}/exceptions/{off.get_json()['id']}",
                         headers=alice["headers"]).status_code == 204
    assert [r for r in _day_windows(app, caregiver_id) if r[0] == monday] == [
        (monday, 480, 1080), (monday, 1140, 1260)]

    # a busy block (a care order) splits the free time
    with app.app_context():
        services.add_busy_block(caregiver_id, _at(monday, "10:00"), _at(monday, "11:30"),
                                ref_type="care_order", ref_id=7)
        db.session.commit()
    free = _free(client, alice, _at(monday, "00:00"), _at(monday, "24:00")).get_json()
    assert [(w["start"][11:16], w["end"][11:16]) for w in free["windows"]] == [
        ("08:00", "10:00"), ("11:30", "18:00"), ("19:00", "21:00")]
    assert free["windows"][0]["start"].endswith("+08:00")

    # replacing the week with nothing clears every future day, dated extra hours stay
    cleared = client.put(f"{BASE}/weekly", json={"windows": []}, headers=alice["headers"])
    assert cleared.status_code == 200 and cleared.get_json()["weekly"] == []
    assert _day_windows(app, caregiver_id) == [(monday, 1140, 1260)]


def test_an_unencoded_plus_in_the_offset_is_read_as_the_offset(client, app, alice):
    make_caregiver(app, user_id=alice["id"])
    client.put(f"{BASE}/weekly", json={"windows": WEEK}, headers=alice["headers"])
    friday = _next(4)
    raw = f"{BASE}/free?start={friday.isoformat()}T09:00:00+08:00&end={friday.isoformat()}T12:00"
    response = client.get(raw + ":00+08:00", headers=alice["headers"])
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["windows"] == [{"start": _at(friday, "09:30").isoformat(),
                                               "end": _at(friday, "11:00").isoformat()}]


def _bad_requests(today, horizon):
    far = (today + timedelta(days=horizon)).isoformat()
    soon = _at(today + timedelta(days=2), "08:00")
    w = lambda *items: {"windows": [  # noqa: E731
        {"weekday": d, "start": s, "end": e} for d, s, e in items]}
    return [
        ("put", "/weekly", w((0, "10:00", "10:00")), "invalid_window"),
        ("put", "/weekly", w((0, "18:00", "08:00")), "invalid_window"),
        ("put", "/weekly", w((0, "24:00", "24:00")), "invalid_window"),
        ("put", "/weekly", w((0, "08:00", "12:00"), (0, "11:30", "14:00")),
         "overlapping_windows"),
        ("put", "/weekly", w((3, "00:00", "24:00"), (3, "06:00", "07:00")),
         "overlapping_windows"),
        ("put", "/weekly", w((0, "08:15", "12:00")), "validation_error"),
        ("put", "/weekly", w((0, "25:00", "26:00")), "validation_error"),
        ("put", "/weekly", w((0, "8:00", "12:00")), "validation_error"),
        ("put", "/weekly", w((7, "08:00", "12:00")), "validation_error"),
        ("put", "/weekly", w((-1, "08:00", "12:00")), "validation_error"),
        ("put", "/weekly", w(*[(d % 7, f"{h:02d}:00", f"{h:02d}:30")
                               for d in range(7) for h in range(7)]), "validation_error"),
        ("put", "/weekly", {"windows": [{"weekday": 0, "start": None, "end": "12:00"}]},
         "validation_error"),
        ("put", "/weekly", {"windows": [{"weekday": 10**30, "start": "08:00", "end": "12:00"}]},
         "validation_error"),
        ("put", "/weekly", {"windows": "every day"}, "validation_error"),
        ("put", "/weekly", {}, "validation_error"),
        ("post", "/exceptions", {"day": today.isoformat(), "kind": "extra"}, "invalid_window"),
        ("post", "/exceptions", {"day": today.isoformat(), "kind": "off", "start": "08:00"},
         "invalid_window"),
        ("post", "/exceptions", {"day": today.isoformat(), "kind": "extra", "start": "20:00",
                                 "end": "19:00"}, "invalid_window"),
        ("post", "/exceptions", {"day": (today - timedelta(days=1)).isoformat(), "kind": "off"},
         "day_outside_horizon"),
        ("post", "/exceptions", {"day": far, "kind": "off"}, "day_outside_horizon"),
        ("post", "/exceptions", {"day": "9999-12-31", "kind": "off"}, "day_outside_horizon"),
        ("post", "/exceptions", {"day": "99999-01-01", "kind": "off"}, "validation_error"),
        ("post", "/exceptions", {"day": today.isoformat(), "kind": "holiday"},
         "validation_error"),
        ("post", "/exceptions", {"day": today.isoformat(), "kind": "off", "note": "长" * 65},
         "validation_error"),
        ("post", "/exceptions", {"day": today.isoformat(), "kind": "extra", "start": "09:00",
                                 "end": "11:00"}, "overlapping_windows"),  # see setup
        ("get", f"/free?start={soon.replace(tzinfo=None).isoformat()}"
                f"&end={(soon + timedelta(hours=2)).replace(tzinfo=None).isoformat()}", None,
         "timezone_required"),
        ("get", f"/free?start={(soon + timedelta(hours=2)).isoformat()}&end={soon.isoformat()}",
         None, "invalid_time_range"),
        ("get", f"/free?start={soon.isoformat()}&end={soon.isoformat()}", None,
         "invalid_time_range"),
        ("get", f"/free?start={soon.isoformat()}&end={(soon + timedelta(days=32)).isoformat()}",
         None, "time_range_too_long"),
        ("get", f"/free?start={(soon - timedelta(days=5)).isoformat()}&end={soon.isoformat()}",
         None, "time_range_outside_horizon"),
        ("get", f"/free?start={_at(today + timedelta(days=horizon - 1), '20:00').isoformat()}"
                f"&end={_at(today + timedelta(days=horizon), '01:00').isoformat()}", None,
         "time_range_outside_horizon"),
        ("get", "/free?start=yesterday&end=today", None, "validation_error"),
        ("get", "/free", None, "validation_error"),
    ]


def test_bad_input_is_422_with_its_code_and_changes_nothing(client, app, alice):
    caregiver_id = make_caregiver(app, user_id=alice["id"])
    client.put(f"{BASE}/weekly", json={"windows": WEEK}, headers=alice["headers"])
    today = local_today()
    setup = client.post(f"{BASE}/exceptions", json={"day": today.isoformat(), "kind": "extra",
                                                     "start": "10:00", "end": "12:00"},
                        headers=alice["headers"])
    assert setup.status_code == 201
    before, windows_before = row_counts(app), _day_windows(app, caregiver_id)
    for method, path, body, code in _bad_requests(today, app.config["AVAILABILITY_HORIZON_DAYS"]):
        kwargs = {"json": body} if body is not None else {}
        response = getattr(client, method)(BASE + path, headers=alice["headers"], **kwargs)
        assert response.status_code == 422, (path, body, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == code, (path, body, error)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error
        assert error["details"], error
    assert row_counts(app) == before
    assert _day_windows(app, caregiver_id) == windows_before


def test_touching_extra_hours_are_allowed_and_merged(client, app, alice):
    caregiver_id = make_caregiver(app, user_id=alice["id"])
    day = local_today() + timedelta(days=3)
    for start, end in (("10:00", "12:00"), ("12:00", "13:30")):
        assert client.post(f"{BASE}/exceptions", json={"day": day.isoformat(), "kind": "extra",
                                                        "start": start, "end": end},
                           headers=alice["headers"]).status_code == 201
    assert _day_windows(app, caregiver_id) == [(day, 600, 810)]


def test_others_exception_and_non_caregivers_are_404(client, app, alice, bob):
    make_caregiver(app, user_id=alice["id"])
    day = (local_today() + timedelta(days=1)).isoformat()
    mine = client.post(f"{BASE}/exceptions", json={"day": day, "kind": "off"},
                       headers=alice["headers"]).get_json()["id"]
    make_caregiver(app, user_id=bob["id"])
    before = row_counts(app)
    response = client.delete(f"{BASE}/exceptions/{mine}", headers=bob["headers"])
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "availability_exception_not_found"
    assert client.delete(f"{BASE}/exceptions/99999999", headers=alice["headers"]).status_code == 404
    assert row_counts(app) == before
    assert client.get(BASE, headers=bob["headers"]).get_json()["exceptions"] == []


def test_a_user_without_a_caregiver_profile_is_404_everywhere(client, app, bob):
    soon = _at(local_today() + timedelta(days=1), "08:00")
    before = row_counts(app)
    for method, path, kwargs in (
        ("get", "", {}),
        ("put", "/weekly", {"json": {"windows": WEEK}}),
        ("post", "/exceptions", {"json": {"day": local_today().isoformat(), "kind": "off"}}),
        ("delete", "/exceptions/1", {}),
        ("get", "/free", {"query_string": {"start": soon.isoformat(),
                                           "end": (soon + timedelta(hours=1)).isoformat()}}),
    ):
        response = getattr(client, method)(BASE + path, headers=bob["headers"], **kwargs)
        assert response.status_code == 404, (method, path, response.get_json())
        assert response.get_json()["error"]["code"] == "caregiver_not_found"
    assert row_counts(app) == before
    assert client.get(BASE).status_code == 401


def test_upcoming_exceptions_are_limited(client, app, alice):
    caregiver_id = make_caregiver(app, user_id=alice["id"])
    today = local_today()
    with app.app_context():
        db.session.add_all(AvailabilityException(
            caregiver_id=caregiver_id, day=today + timedelta(days=n % 50), kind="off",
            start_minute=(n // 50) * 60, end_minute=(n // 50) * 60 + 30)
            for n in range(services.UPCOMING_EXCEPTIONS_MAX))
        # past ones do not count
        db.session.add(AvailabilityException(caregiver_id=caregiver_id, kind="off",
                                             day=today - timedelta(days=3), start_minute=0,
                                             end_minute=1440))
        db.session.commit()
        db.session.remove()
    before = row_counts(app)
    response = client.post(f"{BASE}/exceptions", json={"day": today.isoformat(), "kind": "off"},
                           headers=alice["headers"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "availability_exception_limit_reached"
    assert row_counts(app) == before
    listed = client.get(BASE, headers=alice["headers"]).get_json()["exceptions"]
    assert len(listed) == services.UPCOMING_EXCEPTIONS_MAX


def test_concurrent_edits_of_one_caregiver_leave_consistent_day_windows(app, alice):
    """Two edits at once (live server, threads): both succeed and the DayWindow rows are those
    of the week that was saved last."""
    import threading

    import requests

    count = 2
    caregiver_id = make_caregiver(app, user_id=alice["id"])
    weeks = [[{"weekday": d, "start": "08:00", "end": "12:00"} for d in range(7)],
             [{"weekday": d, "start": "13:00", "end": "20:00"} for d in range(7)]]
    barrier = threading.Barrier(count)
    results = []

    def edit(week):
        barrier.wait()
        for _ in range(5):
            results.append(requests.put(f"{app.config['LIVE_URL']}{BASE}/weekly",
                                        json={"windows": week}, headers=alice["headers"],
                                        timeout=30).status_code)

    threads = [threading.Thread(target=edit, args=(week,)) for week in weeks[:count]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * (5 * count)
    final = {(w["start"], w["end"]) for w in requests.get(
        f"{app.config['LIVE_URL']}{BASE}", headers=alice["headers"], timeout=30).json()["weekly"]}
    assert len(final) == 1
    start, end = (int(t[:2]) * 60 for t in final.pop())
    rows = _day_windows(app, caregiver_id)
    assert len(rows) == app.config["AVAILABILITY_HORIZON_DAYS"]
    assert {(s, e) for _, s, e in rows} == {(start, end)}
