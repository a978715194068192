"""Search input rules, the public card and detail, the photo, and the query budget."""
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event

from app.common.time import LOCAL_TZ, local_today
from app.extensions import db
from tests.conftest import make_caregiver
from tests.marketplace.conftest import API

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def local(days: int, hour: int = 8) -> str:
    midnight = datetime.combine(local_today(), datetime.min.time(), tzinfo=LOCAL_TZ)
    return (midnight + timedelta(days=days, hours=hour)).isoformat()


BAD_QUERIES = [
    ("skills=elderly,nosuchskill", "unknown_skill"),
    ("skills=" + ",".join(f"s{i}" for i in range(11)), "validation_error"),
    ("skills=Bad%20Code", "validation_error"),
    ("skills_match=some", "validation_error"),
    ("min_experience=51", "validation_error"),
    ("min_experience=-1", "validation_error"),
    ("gender=other", "validation_error"),
    ("min_age=17", "validation_error"),
    ("max_age=81", "validation_error"),
    ("min_age=50&max_age=40", "invalid_age_range"),
    ("min_price_fen=1000", "care_type_required"),
    ("max_price_fen=1000", "care_type_required"),
    ("sort=price_asc", "care_type_required"),
    ("sort=price_desc", "care_type_required"),
    ("care_type=full_day&min_price_fen=5000&max_price_fen=4000", "invalid_price_range"),
    ("care_type=spa", "validation_error"),
    ("min_price_fen=99999999999999999999999&care_type=full_day", "validation_error"),
    ("city_code=abc", "validation_error"),
    ("hospital_id=0", "validation_error"),
    ("hospital_id=99999999999999999999999", "validation_error"),
    (f"start={local(1)}", "time_range_incomplete"),
    (f"end={local(1)}", "time_range_incomplete"),
    (f"start={local(2)}&end={local(1)}", "invalid_time_range"),
    (f"start={local(1)}&end={local(1)}", "invalid_time_range"),
    (f"start={local(1)}&end={local(91)}", "time_range_too_long"),
    (f"start={local(-5)}&end={local(-4)}", "time_range_outside_horizon"),
    (f"start={local(58)}&end={local(62)}", "time_range_outside_horizon"),
    ("start=tomorrow&end=later", "validation_error"),
    ("min_rating=5.5", "validation_error"),
    ("min_rating=nan", "validation_error"),
    ("lat=39.9", "location_incomplete"),
    ("lng=116.4", "location_incomplete"),
    ("lat=91&lng=116.4", "validation_error"),
    ("lat=inf&lng=116.4", "validation_error"),
    ("sort=distance", "location_required"),
    ("sort=nearest", "validation_error"),
    ("page_size=51", "validation_error"),
    ("page=0", "validation_error"),
    ("accepts_urgent=maybe", "validation_error"),
    ("city_code=%ED%A0%80", "validation_error"),
]


@pytest.mark.parametrize("params, code", BAD_QUERIES)
def test_bad_search_input_is_422_with_its_code(client, app, params, code):
    make_caregiver(app)
    response = client.get(f"{API}?{params}")
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_unknown_hospital_is_404_and_one_without_coordinates_cannot_sort(client, app):
    from app.hospitals.models import Hospital
    make_caregiver(app)
    response = client.get(f"{API}?hospital_id=12345")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "hospital_not_found"
    with app.app_context():
        hospital = Hospital(code="NOPOS", name="无坐标医院", level="3A", province_code="110000",
                            city_code="110100", district_code="110101", address="x", phone="1")
        db.session.add(hospital)
        db.session.commit()
        hospital_id = hospital.id
        db.session.remove()
    assert client.get(f"{API}?hospital_id={hospital_id}").status_code == 200
    response = client.get(f"{API}?hospital_id={hospital_id}&sort=distance")
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "location_required"
    # given coordinates, the hospital is only a filter
    assert client.get(f"{API}?hospital_id={hospital_id}&sort=distance&lat=39.9&lng=116.4"
                      ).status_code == 200


def test_only_listed_caregivers_are_found(client, app):
    from app.users.models import User
    listed = make_caregiver(app)
    for status in ("draft", "pending_review", "rejected", "suspended"):
        make_caregiver(app, status=status)
    banned = make_caregiver(app)
    with app.app_context():
        from app.caregivers.models import Caregiver
        user = db.session.get(User, db.session.get(Caregiver, banned).user_id)
        user.ban("测试")
        db.session.commit()
        db.session.remove()
    body = client.get(API).get_json()
    assert [item["id"] for item in body["items"]] == [listed] and body["total"] == 1


def test_a_token_is_allowed_but_not_needed(client, app, alice):
    caregiver_id = make_caregiver(app)
    assert client.get(API).get_json()["total"] == 1
    assert client.get(API, headers=alice["headers"]).get_json()["items"][0]["id"] == caregiver_id
    assert client.get(f"{API}/{caregiver_id}", headers=alice["headers"]).status_code == 200


def test_skills_repeated_or_comma_separated_and_the_card(client, app):
    both = make_caregiver(app, name="李建国", skills=("elderly", "dementia"),
                          prices={"full_day": 30000, "hourly": 5000}, districts=("110105",),
                          rating_avg=4.5, rating_count=2, completed_orders=3,
                          accepts_urgent=True, night_service=True)
    make_caregiver(app, skills=("elderly",), prices={"hourly": 6000})
    for params in ("skills=elderly&skills=dementia&skills_match=all",
                   "skills=elderly,dementia&skills_match=all",
                   "skills=dementia,%20dementia"):
        assert [i["id"] for i in client.get(f"{API}?{params}").get_json()["items"]] == [both]
    assert client.get(f"{API}?skills=elderly,dementia").get_json()["total"] == 2
    assert client.get(f"{API}?skills=stroke").get_json()["total"] == 0
    card = client.get(f"{API}?care_type=full_day&lat=39.91&lng=116.30").get_json()["items"]
    assert len(card) == 1  # care_type: only those offering it
    card = card[0]
    assert card["display_name"] == "李*国" and card["price_fen"] == 30000
    assert card["skills"] == [{"code": "elderly", "name": "老年护理"},
                              {"code": "dementia", "name": "认知症照护"}]
    assert [p["care_type"] for p in card["prices"]] == ["full_day", "hourly"]
    assert card["prices"][0] == {"care_type": "full_day", "name": "全天陪护", "unit": "day",
                                 "unit_name": "天", "price_fen": 30000}
    assert card["district_codes"] == ["110105"] and card["city_code"] == "110100"
    assert card["age"] == (local_today().year - 1978
                           - ((local_today().month, local_today().day) < (5, 1)))
    assert card["distance_km"] == 8.5  # 0.1° of longitude at 39.9° N, haversine
    assert (card["rating_avg"], card["rating_count"], card["completed_orders"]) == (4.5, 2, 3)
    assert card["accepts_urgent"] is True and card["night_service"] is True
    assert card["badges"] == [] and card["photo_url"] is None
    text = str(client.get(API).get_json())
    assert "13700000000" not in text and "李建国" not in text and "phone" not in text
    plain = client.get(API).get_json()["items"][0]
    assert plain["price_fen"] is None and plain["distance_km"] is None


def test_past_the_last_page_still_counts(client, app):
    for _ in range(3):
        make_caregiver(app)
    body = client.get(f"{API}?page=5&page_size=2").get_json()
    assert body["items"] == [] and body["total"] == 3


def test_a_plus_sign_left_unencoded_in_the_offset_still_parses(client, app):
    make_caregiver(app)
    start, end = local(1, 8), local(1, 10)
    assert "+08:00" in start
    raw = client.get(f"{API}?start={start}&end={end}")  # "+" arrives as a space
    encoded = client.get(f"{API}?start={start.replace('+', '%2B')}&end={end.replace('+', '%2B')}")
    naive = client.get(f"{API}?start={start[:-6]}&end={end[:-6]}")  # local time assumed
    assert raw.status_code == encoded.status_code == naive.status_code == 200
    assert raw.get_json() == encoded.get_json() == naive.get_json()


def test_a_page_costs_the_same_queries_whatever_its_size(client, app):
    """One statement for the page and total, one per batch load: no query per item."""
    hospital_ids = []
    for index in range(12):
        caregiver_id = make_caregiver(app, skills=("elderly", "dementia"),
                                      prices={"full_day": 30000 + index, "hourly": 5000},
                                      districts=("110101", "110102"), hospital_ids=hospital_ids)
        _approve_documents(app, caregiver_id)
    app.config["CAREGIVER_SEARCH_CACHE_SECONDS"] = 0  # every request goes to the database
    try:
        counts = {}
        for size in (1, 12):
            statements = []
            with app.app_context():
                engine = db.engine

            def record(conn, cursor, statement, *args):
                statements.append(statement)
            event.listen(engine, "before_cursor_execute", record)
            try:
                body = client.get(f"{API}?page_size={size}&care_type=full_day&skills=elderly"
                                  "&sort=price_desc").get_json()
            finally:
                event.remove(engine, "before_cursor_execute", record)
            assert len(body["items"]) == size and body["total"] == 12
            assert all(item["badges"] for item in body["items"])
            counts[size] = len(statements)
        assert counts[1] == counts[12] <= 8, counts
    finally:
        app.config["CAREGIVER_SEARCH_CACHE_SECONDS"] = 10


def _approve_documents(app, caregiver_id, expires_on=None, kinds=("id_card", "health_certificate")):
    from app.qualifications.models import Qualification
    with app.app_context():
        for kind in kinds:
            db.session.add(Qualification(
                caregiver_id=caregiver_id, kind=kind, title=kind, number=f"NO-{kind}-SECRET",
                number_index=f"{caregiver_id}-{kind}", status="approved", expires_on=expires_on))
        db.session.commit()
        db.session.remove()


# ---- detail ----------------------------------------------------------------------------------

def test_detail_shows_the_public_profile_and_nothing_private(client, app):
    from app.availability.models import WeeklyWindow
    from app.availability.services import rebuild_day_windows
    from app.hospitals.models import Hospital

    with app.app_context():
        hospital = Hospital(code="DH1", name="详情医院", level="3A", province_code="110000",
                            city_code="110100", district_code="110101", address="x", phone="1",
                            latitude=39.9, longitude=116.4)
        db.session.add(hospital)
        db.session.commit()
        hospital_id = hospital.id
        db.session.remove()
    caregiver_id = make_caregiver(
        app, name="张三丰", hospital_ids=(hospital_id,), bio="十年经验",
        work_history=[{"start": "2015-01", "end": None, "employer": "某医院", "role": "护工"}],
        rating_avg=4.8, rating_count=5, completed_orders=7)
    _approve_documents(app, caregiver_id, kinds=("id_card", "health_certificate"))
    _approve_documents(app, caregiver_id, kinds=("nursing_certificate",),
                       expires_on=local_today() - timedelta(days=1))  # lapsed: no badge
    with app.app_context():
        for weekday in range(7):
            db.session.add(WeeklyWindow(caregiver_id=caregiver_id, weekday=weekday,
                                        start_minute=480, end_minute=720))
        db.session.commit()
        rebuild_day_windows([caregiver_id])
        db.session.remove()
    response = client.get(f"{API}/{caregiver_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["display_name"] == "张*丰" and body["bio"] == "十年经验"
    assert body["work_history"] == [{"start": "2015-01", "end": None, "employer": "某医院",
                                     "role": "护工"}]
    assert body["hospitals"] == [{"id": hospital_id, "name": "详情医院"}]
    assert body["badges"] == [{"kind": "id_card", "kind_name": "身份证"},
                              {"kind": "health_certificate", "kind_name": "健康证"}]
    assert body["rating"] == {"avg": 4.8, "count": 5, "distribution": {
        "1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
    assert body["recent_reviews"] == [] and body["completed_orders"] == 7
    windows = body["next_free_windows"]
    assert 6 <= len(windows) <= 7  # 08:00–12:00 each day of the next 7 days (today may be over)
    first_start = datetime.fromisoformat(windows[0]["start"])
    assert first_start.utcoffset() == timedelta(hours=8)
    assert all(w["end"].endswith("12:00:00+08:00") for w in windows)
    assert all(datetime.fromisoformat(w["start"]) >= datetime.now(LOCAL_TZ) - timedelta(minutes=1)
               for w in windows)
    text = response.get_data(as_text=True)
    for secret in ("13700000000", "张三丰", "NO-id_card-SECRET", "number", "file", "phone"):
        assert secret not in text, secret


def test_detail_lists_at_most_twenty_free_windows(client, app):
    from app.availability.models import WeeklyWindow
    from app.availability.services import rebuild_day_windows
    caregiver_id = make_caregiver(app)
    with app.app_context():
        for weekday in range(7):
            for start in range(0, 1440, 120):
                db.session.add(WeeklyWindow(caregiver_id=caregiver_id, weekday=weekday,
                                            start_minute=start, end_minute=start + 60))
        db.session.commit()
        rebuild_day_windows([caregiver_id])
        db.session.remove()
    assert len(client.get(f"{API}/{caregiver_id}").get_json()["next_free_windows"]) == 20


@pytest.mark.parametrize("hour, minute, expected", [(0, 5, 7), (8, 7, 7), (12, 0, 6), (23, 59, 6)])
def test_free_windows_cover_today_and_six_more_days_whatever_the_hour(app, hour, minute, expected):
    """The seventh day ends at local midnight: at 08:07 the list does not end in an 8th-day
    sliver 08:00–08:07 (CI met that at 00:07 UTC)."""
    from app.availability.models import WeeklyWindow
    from app.availability.services import rebuild_day_windows
    from app.marketplace.services import get_caregiver
    caregiver_id = make_caregiver(app)
    with app.app_context():
        for weekday in range(7):
            db.session.add(WeeklyWindow(caregiver_id=caregiver_id, weekday=weekday,
                                        start_minute=480, end_minute=720))
        db.session.commit()
        rebuild_day_windows([caregiver_id])
        now = datetime.combine(local_today(), datetime.min.time(), tzinfo=LOCAL_TZ).replace(
            hour=hour, minute=minute)
        windows = get_caregiver(caregiver_id=caregiver_id, now=now)["next_free_windows"]
        db.session.remove()
    assert len(windows) == expected
    days = [datetime.fromisoformat(w["start"]).date() for w in windows]
    assert max(days) == local_today() + timedelta(days=6)
    assert all(w["end"].endswith("12:00:00+08:00") for w in windows)


@pytest.mark.parametrize("status", ["draft", "pending_review", "rejected", "suspended", "banned",
                                    "unknown"])
def test_unlisted_caregivers_are_404(client, app, status):
    from app.caregivers.models import Caregiver
    from app.users.models import User
    if status == "unknown":
        caregiver_id = 4242
    else:
        caregiver_id = make_caregiver(app, status="approved" if status == "banned" else status,
                                      photo_file_id=_photo(app))
    if status == "banned":
        with app.app_context():
            db.session.get(User, db.session.get(Caregiver, caregiver_id).user_id).ban("违规")
            db.session.commit()
            db.session.remove()
    for path in (f"{API}/{caregiver_id}", f"{API}/{caregiver_id}/photo"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "caregiver_not_found"
    assert client.get(f"{API}/{2**70}").status_code == 404


# ---- photo -----------------------------------------------------------------------------------

def _photo(app, data=PNG, content_type="image/png") -> int:
    import hashlib
    import os

    from app.files.models import StoredFile
    from app.files.storage import storage
    with app.app_context():
        key = f"test/{os.urandom(8).hex()}"
        storage().save(key, data)
        record = StoredFile(purpose="id_photo", content_type=content_type, size_bytes=len(data),
                            sha256=hashlib.sha256(data).hexdigest(), storage_key=key)
        db.session.add(record)
        db.session.commit()
        file_id = record.id
        db.session.remove()
    return file_id


def test_photo_of_a_listed_caregiver(client, app):
    with_photo = make_caregiver(app, photo_file_id=_photo(app))
    without = make_caregiver(app)
    not_an_image = make_caregiver(app, photo_file_id=_photo(app, b"%PDF-1.7\n",
                                                            "application/pdf"))
    response = client.get(f"{API}/{with_photo}/photo")
    assert response.status_code == 200 and response.data == PNG
    assert response.mimetype == "image/png"
    assert "public" in response.headers["Cache-Control"]
    assert "max-age=" in response.headers["Cache-Control"]
    cards = {i["id"]: i for i in client.get(API).get_json()["items"]}
    assert cards[with_photo]["photo_url"] == f"/api/v1/caregivers/{with_photo}/photo"
    assert cards[without]["photo_url"] is None
    for caregiver_id in (without, not_an_image):
        response = client.get(f"{API}/{caregiver_id}/photo")
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "caregiver_photo_not_found"


def test_age_filter_edges(client, app):
    today = local_today()

    def years_ago(years, shift=0):
        try:
            day = today.replace(year=today.year - years)
        except ValueError:
            day = today.replace(year=today.year - years, day=28)
        return day + timedelta(days=shift)
    turns_40_today = make_caregiver(app, birth_date=years_ago(40))
    turns_40_tomorrow = make_caregiver(app, birth_date=years_ago(40, 1))
    no_birth_date = make_caregiver(app, birth_date=None)
    ids = lambda q: {i["id"] for i in client.get(f"{API}?{q}").get_json()["items"]}  # noqa
    assert ids("min_age=40") == {turns_40_today}
    assert ids("max_age=39") == {turns_40_tomorrow}
    assert ids("min_age=39&max_age=40") == {turns_40_today, turns_40_tomorrow}
    assert no_birth_date in ids("") and no_birth_date not in ids("min_age=18")
    assert date(1900, 1, 1) < years_ago(40)
