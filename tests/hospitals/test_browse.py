"""Public browsing: hospital list filters and pages, details, department calendars at the
edges of the booking window, day schedules, doctors."""
from datetime import timedelta

from app.extensions import db
from app.hospitals import services
from app.hospitals.models import Schedule
from tests.hospitals.conftest import at, today

API = "/api/v1"


def names(response):
    assert response.status_code == 200, response.get_json()
    return [item["name"] for item in response.get_json()["items"]]


def test_list_orders_by_level_then_name_and_hides_inactive(client, catalogue):
    body = client.get(f"{API}/hospitals").get_json()
    assert body["total"] == 5 and body["page"] == 1 and body["page_size"] == 20
    assert [(i["level"], i["name"]) for i in body["items"]] == [
        ("3A", "京华测试医院"), ("3B", "上海测试医院"), ("2A", "北京东城第二测试医院"),
        ("2A", "广州越秀测试医院"), ("1", "北京海淀社区测试中心")]
    first = body["items"][0]
    assert first == {"id": catalogue["h1"], "code": "T-BJ01", "name": "京华测试医院",
                     "level": "3A", "level_name": "三级甲等", "province_code": "110000",
                     "city_code": "110100", "district_code": "110101",
                     "province_name": "北京市", "city_name": "市辖区", "district_name": "东城区",
                     "address": "北京市东城区测试路 1 号", "phone": "010-65290001"}
    assert "北京停用测试医院" not in names(client.get(f"{API}/hospitals?keyword=停用"))


def test_list_filters_by_keyword_level_and_region(client, catalogue):
    assert names(client.get(f"{API}/hospitals?keyword=北京")) == [
        "北京东城第二测试医院", "北京海淀社区测试中心"]
    assert names(client.get(f"{API}/hospitals?keyword= 测试中心 ")) == ["北京海淀社区测试中心"]
    assert names(client.get(f"{API}/hospitals?level=3B")) == ["上海测试医院"]
    assert names(client.get(f"{API}/hospitals?level=3C")) == []
    beijing = ["京华测试医院", "北京东城第二测试医院", "北京海淀社区测试中心"]
    assert names(client.get(f"{API}/hospitals?region=110000")) == beijing  # province
    assert names(client.get(f"{API}/hospitals?region=110100")) == beijing  # city
    assert names(client.get(f"{API}/hospitals?region=110101")) == beijing[:2]  # district
    assert names(client.get(f"{API}/hospitals?region=110108")) == ["北京海淀社区测试中心"]
    assert names(client.get(f"{API}/hospitals?region=440000")) == ["广州越秀测试医院"]
    assert names(client.get(f"{API}/hospitals?region=440100")) == ["广州越秀测试医院"]
    assert names(client.get(f"{API}/hospitals?region=440300")) == []
    assert names(client.get(f"{API}/hospitals?region=510000")) == []
    assert names(client.get(f"{API}/hospitals?region=110000&level=2A&keyword=东城")) == [
        "北京东城第二测试医院"]
    # LIKE wildcards are literal text
    assert names(client.get(f"{API}/hospitals?keyword=%25")) == []
    assert names(client.get(f"{API}/hospitals?keyword=_")) == []


def test_list_pages(client, catalogue):
    pages = [client.get(f"{API}/hospitals?page={p}&page_size=2").get_json() for p in (1, 2, 3, 4)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1, 0]
    assert all(p["total"] == 5 and p["page_size"] == 2 for p in pages)
    assert [p["page"] for p in pages] == [1, 2, 3, 4]
    seen = [i["id"] for p in pages for i in p["items"]]
    assert len(set(seen)) == 5


def test_detail_has_rules_notice_and_a_two_level_tree(client, catalogue):
    response = client.get(f"{API}/hospitals/{catalogue['h1']}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["intro"] == "测试医院简介" and body["notice"] == "请携带身份证就诊"
    assert body["booking_rules"] == {"booking_days_ahead": 7, "release_time": "08:30",
                                     "stop_time": "15:00", "cancel_days_before": 1,
                                     "cancel_time": "15:30"}
    tree = [(d["name"], [c["name"] for c in d["children"]]) for d in body["departments"]]
    assert tree == [("内科", ["心血管内科", "消化内科"]), ("外科", ["骨科"]), ("眼科", [])]
    cardio = body["departments"][0]["children"][0]
    assert cardio == {"id": catalogue["cardio"], "code": "NK-XXG", "name": "心血管内科",
                      "intro": None}
    assert "children" not in cardio


def test_inactive_or_unknown_hospital_is_404_everywhere(client, catalogue):
    for hospital in (catalogue["h5"], 999999):
        response = client.get(f"{API}/hospitals/{hospital}")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "hospital_not_found"
        assert response.get_json()["error"]["message"] == "医院不存在"
        calendar = client.get(f"{API}/hospitals/{hospital}/departments/1/calendar")
        assert calendar.get_json()["error"]["code"] == "hospital_not_found"


def test_department_must_belong_to_the_hospital(client, catalogue):
    for department in (catalogue["h2_cardio"], 999999):
        for path in ("calendar", f"schedules?date={(today() + timedelta(days=1)).isoformat()}"):
            response = client.get(
                f"{API}/hospitals/{catalogue['h1']}/departments/{department}/{path}")
            assert response.status_code == 404, path
            assert response.get_json()["error"]["code"] == "department_not_found"


def calendar(call, catalogue, department="cardio", now=None):
    return call(services.get_department_calendar, hospital_id=catalogue["h1"],
                department_id=catalogue[department], now=now)


def test_calendar_over_http_lists_each_window_day(client, catalogue):
    catalogue["schedule"]("dr_li", 2, total=30)
    response = client.get(f"{API}/hospitals/{catalogue['h1']}/departments/"
                          f"{catalogue['cardio']}/calendar")
    assert response.status_code == 200
    body = response.get_json()
    assert body["hospital_id"] == catalogue["h1"]
    assert body["department"] == {"id": catalogue["cardio"], "name": "心血管内科",
                                  "parent_id": catalogue["internal"]}
    days = body["days"]
    assert [d["date"] for d in days] == [(today() + timedelta(days=n)).isoformat()
                                         for n in range(1, 8)]
    weekdays = "周一 周二 周三 周四 周五 周六 周日".split()
    assert [d["weekday"] for d in days] == [
        weekdays[(today() + timedelta(days=n)).weekday()] for n in range(1, 8)]
    second = days[1]
    assert second["total"] == 30 and second["available"] == 30
    assert second["release_at"] == (today() + timedelta(days=2) - timedelta(days=7)
                                    ).isoformat() + "T08:30:00+08:00"
    assert second["state"] in ("open", "closed", "not_released")
    assert days[2]["state"] in ("none", "not_released") and days[2]["total"] == 0


def test_calendar_states_at_the_window_edges(call, catalogue):
    """Day 7 opens today at 08:30; day 1 stops today at 15:00."""
    catalogue["schedule"]("dr_li", 7)
    catalogue["schedule"]("dr_li", 1)
    just_before_release = calendar(call, catalogue, now=at(today(), 8, 29, 59))["days"]
    assert just_before_release[6]["state"] == "not_released"
    assert just_before_release[6]["available"] == 20  # the counts show; booking waits
    assert just_before_release[0]["state"] == "open"
    just_after_release = calendar(call, catalogue, now=at(today(), 8, 30, 1))["days"]
    assert just_after_release[6]["state"] == "open"
    at_release = calendar(call, catalogue, now=at(today(), 8, 30))["days"]
    assert at_release[6]["state"] == "open"
    before_stop = calendar(call, catalogue, now=at(today(), 14, 59, 59))["days"]
    assert before_stop[0]["state"] == "open"
    after_stop = calendar(call, catalogue, now=at(today(), 15, 0, 1))["days"]
    assert after_stop[0]["state"] == "closed"
    # days in between without schedules
    assert {d["state"] for d in after_stop[1:6]} == {"none"}
    # the window follows `now`: tomorrow morning, today+8 is released and day 1 is gone
    tomorrow = calendar(call, catalogue, now=at(today() + timedelta(days=1), 9, 0))["days"]
    assert tomorrow[0]["date"] == (today() + timedelta(days=2)).isoformat()
    assert tomorrow[-1]["date"] == (today() + timedelta(days=8)).isoformat()
    # a UTC instant is read as Shanghai time (07:00 UTC is 15:00 in Shanghai)
    from datetime import datetime, timezone
    utc = datetime.combine(today(), datetime.min.time(), timezone.utc).replace(hour=7, second=1)
    assert calendar(call, catalogue, now=utc)["days"][0]["state"] == "closed"


def test_calendar_full_stopped_none_and_top_level_aggregation(app, call, catalogue, db_update):
    noon = at(today(), 12, 0)  # every day of the window is open for booking
    full = catalogue["schedule"]("dr_li", 2, total=10)
    db_update(full, available=0)
    stopped = catalogue["schedule"]("dr_li", 3, total=10)
    with app.app_context():
        db.session.get(Schedule, stopped).stop("医生外出学术会议")
        db.session.commit()
        db.session.remove()
    catalogue["schedule"]("dr_wang", 4, total=10)              # cardio, open
    mixed_stopped = catalogue["schedule"]("dr_li", 4, total=15)
    with app.app_context():
        db.session.get(Schedule, mixed_stopped).stop("停诊")
        db.session.commit()
        db.session.remove()
    catalogue["schedule"]("dr_zhang", 4, "afternoon", total=8)  # gastro
    catalogue["schedule"]("dr_zhang", 2, total=5)               # gastro: day 2 not full there

    days = calendar(call, catalogue, now=noon)["days"]
    by_day = {n: days[n - 1] for n in range(1, 8)}
    assert (by_day[2]["state"], by_day[2]["available"], by_day[2]["total"]) == ("full", 0, 10)
    assert (by_day[3]["state"], by_day[3]["available"], by_day[3]["total"]) == ("stopped", 0, 0)
    # a stopped clinic beside an open one: the day is open, counting the open one only
    assert (by_day[4]["state"], by_day[4]["available"], by_day[4]["total"]) == ("open", 10, 10)
    assert by_day[5]["state"] == "none"

    internal = {n: d for n, d in enumerate(calendar(call, catalogue, "internal", noon)["days"],
                                           start=1)}
    assert (internal[2]["state"], internal[2]["available"], internal[2]["total"]) == (
        "open", 5, 15)
    assert (internal[4]["available"], internal[4]["total"]) == (18, 18)
    assert internal[3]["state"] == "stopped"
    gastro = calendar(call, catalogue, "gastro", noon)["days"]
    assert gastro[2]["state"] == "none" and gastro[3]["total"] == 8
    # a top-level department without children answers with its own (no) schedules
    assert {d["state"] for d in calendar(call, catalogue, "eye", noon)["days"]} == {"none"}


def day_list(call, catalogue, days_ahead, department="cardio", now=None):
    return call(services.list_day_schedules, hospital_id=catalogue["h1"],
                department_id=catalogue[department],
                day=today() + timedelta(days=days_ahead), now=now)


def test_day_schedules_with_doctors_and_bookable(client, app, call, catalogue, db_update):
    afternoon = catalogue["schedule"]("dr_wang", 3, "afternoon", total=12, fee_fen=2000)
    morning_li = catalogue["schedule"]("dr_li", 3, "morning", total=20, fee_fen=8000)
    morning_wang = catalogue["schedule"]("dr_wang", 3, "morning", total=25, fee_fen=2000)
    gastro = catalogue["schedule"]("dr_zhang", 3, "morning", total=10)
    db_update(morning_wang, available=0)
    with app.app_context():
        db.session.get(Schedule, afternoon).stop("临时停诊")
        db.session.commit()
        db.session.remove()
    noon = at(today(), 12, 0)
    body = day_list(call, catalogue, 3, now=noon)
    assert body["state"] == "open" and body["date"] == (today() + timedelta(days=3)).isoformat()
    assert body["release_at"].endswith("T08:30:00+08:00")
    assert body["stop_at"] == (today() + timedelta(days=2)).isoformat() + "T15:00:00+08:00"
    items = body["items"]
    # morning before afternoon; within a period the senior title first
    assert [i["id"] for i in items] == [morning_li, morning_wang, afternoon]
    li = items[0]
    assert li["doctor"] == {"id": catalogue["dr_li"], "name": "李主任", "title": "主任医师",
                            "specialty": "冠心病、高血压", "avatar_url": None}
    assert (li["period"], li["period_name"], li["start_time"], li["end_time"]) == (
        "morning", "上午", "08:00", "12:00")
    assert (li["fee_fen"], li["total"], li["available"], li["status"]) == (8000, 20, 20, "open")
    assert li["department_id"] == catalogue["cardio"] and li["department_name"] == "心血管内科"
    assert [i["bookable"] for i in items] == [True, False, False]
    assert items[2]["status"] == "stopped" and items[2]["stop_reason"] == "临时停诊"
    assert items[2]["start_time"] == "13:30" and items[2]["period_name"] == "下午"
    # before the day is released nothing is bookable
    early = day_list(call, catalogue, 7, now=at(today(), 8, 0))
    assert early["state"] == "not_released" and early["items"] == []
    catalogue["schedule"]("dr_li", 7)
    early = day_list(call, catalogue, 7, now=at(today(), 8, 0))
    assert [i["bookable"] for i in early["items"]] == [False]
    # the top-level department lists its children's clinics
    internal = day_list(call, catalogue, 3, "internal", now=noon)
    assert {i["id"] for i in internal["items"]} == {morning_li, morning_wang, afternoon, gastro}
    # and over HTTP
    response = client.get(f"{API}/hospitals/{catalogue['h1']}/departments/{catalogue['cardio']}"
                          f"/schedules?date={(today() + timedelta(days=3)).isoformat()}")
    assert response.status_code == 200
    assert [i["id"] for i in response.get_json()["items"]] == [morning_li, morning_wang,
                                                               afternoon]


def test_day_outside_the_window_is_refused(client, catalogue):
    base = f"{API}/hospitals/{catalogue['h1']}/departments/{catalogue['cardio']}/schedules"
    for days in (0, 8, -3, 400):
        day = (today() + timedelta(days=days)).isoformat()
        response = client.get(f"{base}?date={day}")
        assert response.status_code == 422, days
        error = response.get_json()["error"]
        assert error["code"] == "date_out_of_window"
        assert "可预约" in error["message"] or "只能查询" in error["message"]
        assert error["details"]["from"] == (today() + timedelta(days=1)).isoformat()
    for bad in ("2026-02-30", "tomorrow", "", "2026-1-1x"):
        response = client.get(f"{base}?date={bad}")
        assert response.status_code == 422, bad
        assert response.get_json()["error"]["code"] == "validation_error"
        assert "date" in response.get_json()["error"]["details"]
    missing = client.get(base)
    assert missing.status_code == 422 and missing.get_json()["error"]["details"] == {
        "date": ["必填"]}


def test_doctor_detail(client, catalogue, staff):
    response = client.get(f"{API}/doctors/{catalogue['dr_zhang']}")
    assert response.status_code == 200
    assert response.get_json() == {
        "id": catalogue["dr_zhang"], "name": "张医生", "title": "副主任医师", "specialty": "胃炎",
        "intro": None, "avatar_url": None,
        "hospital": {"id": catalogue["h1"], "name": "京华测试医院", "level": "3A",
                     "level_name": "三级甲等"},
        "department": {"id": catalogue["gastro"], "name": "消化内科",
                       "parent_id": catalogue["internal"]}}
    unknown = client.get(f"{API}/doctors/999999")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "doctor_not_found"
    # a doctor of a disabled hospital is not shown
    staff(services.set_hospital_active, hospital_id=catalogue["h1"], active=False)
    hidden = client.get(f"{API}/doctors/{catalogue['dr_zhang']}")
    assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "doctor_not_found"


def test_browsing_needs_no_login_and_is_documented(client, catalogue):
    assert client.get(f"{API}/hospitals", headers={}).status_code == 200
    spec = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/hospitals", "/api/v1/hospitals/{hospital_id}",
                 "/api/v1/hospitals/{hospital_id}/departments/{department_id}/calendar",
                 "/api/v1/hospitals/{hospital_id}/departments/{department_id}/schedules",
                 "/api/v1/doctors/{doctor_id}"):
        assert path in spec["paths"], path
