"""The in-process search index (app/marketplace/index.py) against the SQL search: for hundreds
of random queries over the random marketplace of test_search_reference, every id in order and
the total must be the same, and so must the wanted price of each match."""
import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings

from app.common.time import LOCAL_TZ, local_today
from app.extensions import db
from app.marketplace import cache
from app.marketplace.index import SearchIndex
from tests.marketplace.conftest import build_marketplace, working_intervals
from tests.marketplace.test_search_reference import all_pages, expected_ids, filters


@pytest.fixture
def sql_search(app, client, monkeypatch):
    """The SQL path, cache off, all pages; returns (ids, total, normalised query, prices)."""
    monkeypatch.setitem(app.config, "CAREGIVER_SEARCH_CACHE_SECONDS", 0)
    seen = []
    original = cache.cached_search

    def spy(query, compute):
        body = original(query, compute)
        seen.append((query, json.loads(body)))
        return body

    monkeypatch.setattr(cache, "cached_search", spy)

    def run(query):
        seen.clear()
        ids, total = all_pages(client, query, 50)
        normalised = dict(seen[0][0])
        prices = {item["id"]: item["price_fen"] for _, body in seen for item in body["items"]}
        return ids, total, normalised, prices
    return run


def window(normalised):
    if normalised["start"] is None:
        return None, None
    return (datetime.fromisoformat(normalised["start"]),
            datetime.fromisoformat(normalised["end"]))


@pytest.mark.parametrize("count", [40, 130])
def test_index_answers_like_the_sql_search(app, sql_search, count):
    world = build_marketplace(app, seed=20260501 + count, count=count)
    with app.app_context():
        index = SearchIndex.load(db.session, local_today())
        db.session.remove()
    listed = [r for r in world["caregivers"]
              if r["status"] == "approved" and r["user_status"] == "active"]
    assert index.size == len(listed)
    seen = {"non_empty": 0, "free": 0, "distance": 0}

    def compare(query):
        ids, total, normalised, prices = sql_search(query)
        start, end = window(normalised)
        with app.app_context():
            got, wanted = index.search(normalised, start, end, local_today())
        assert got == ids, query
        assert len(got) == total
        assert got == expected_ids(world, query)  # and both agree with the brute force
        assert {i: wanted[i] for i in got} == prices
        seen["non_empty"] += bool(ids)
        seen["free"] += bool(ids) and start is not None
        seen["distance"] += bool(ids) and normalised["sort"] == "distance"

    @settings(max_examples=250, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(query=filters(world))
    def check(query):
        compare(query)

    check()
    # distance sorts for sure (the random queries pick one rarely): from each hospital, from
    # a point near it, with filters that leave some caregivers without coordinates in play
    for hospital in world["hospitals"]:
        point = {"lat": hospital["lat"] + 0.01, "lng": hospital["lng"] - 0.02}
        for extra in ({}, {"skills": ["elderly", "escort"]}, {"care_type": "hourly"},
                      {"city_code": "310100", "skills_match": "all",
                       "skills": ["elderly", "stroke"]}):
            compare({"hospital_id": hospital["id"], "sort": "distance", **extra})
            compare({**point, "sort": "distance", **extra})
            compare({**point, "hospital_id": hospital["id"], "sort": "distance", **extra})
    assert seen["non_empty"] >= 80 and seen["free"] >= 5 and seen["distance"] >= 12, seen


def test_index_refuses_like_the_sql_search(app, client):
    """Unknown skills and hospitals raise the same errors as the SQL path."""
    from app.marketplace.services import HospitalNotFound, UnknownSkill

    world = build_marketplace(app, count=10)
    base = {"skills": [], "skills_match": "any", "min_experience": None, "gender": None,
            "min_age": None, "max_age": None, "care_type": None, "min_price_fen": None,
            "max_price_fen": None, "city_code": None, "district_code": None,
            "hospital_id": None, "start": None, "end": None, "min_rating": None,
            "accepts_urgent": False, "night_service": False, "lat": None, "lng": None,
            "sort": "rating", "page": 1, "page_size": 20}
    with app.app_context():
        index = SearchIndex.load(db.session, local_today())
        with pytest.raises(UnknownSkill):
            index.search({**base, "skills": ["elderly", "nope"]}, None, None, local_today())
        with pytest.raises(HospitalNotFound):
            index.search({**base, "hospital_id": 10**9}, None, None, local_today())
        ids, _ = index.search(base, None, None, local_today())
    listed = sorted((r for r in world["caregivers"]
                     if r["status"] == "approved" and r["user_status"] == "active"),
                    key=lambda r: (r["rating_avg"] is None, -(r["rating_avg"] or 0), r["id"]))
    assert ids == [r["id"] for r in listed]


def test_index_busy_and_working_edges_like_the_sql_search(app, sql_search):
    """Windows touching, clipping and straddling every busy block and working-day edge: a block
    ending exactly at the start (or starting exactly at the end) does not make anyone busy."""
    from datetime import timedelta

    world = build_marketplace(app, seed=7, count=60)
    with app.app_context():
        index = SearchIndex.load(db.session, local_today())
        db.session.remove()
    minutes = timedelta(minutes=1)
    edges = set()
    for row in world["caregivers"]:
        for b_start, b_end in row["busy"]:
            edges.update([(b_start - 30 * minutes, b_start), (b_start - 30 * minutes,
                                                               b_start + 15 * minutes),
                          (b_end - 15 * minutes, b_end + 30 * minutes),
                          (b_end, b_end + 30 * minutes), (b_start - 60 * minutes,
                                                          b_end + 60 * minutes)])
    midnight = datetime.combine(world["today"] + timedelta(days=2), datetime.min.time(),
                                tzinfo=LOCAL_TZ)
    # a night across midnight, an end exactly at midnight, whole days, sub-slot minutes
    edges.update([(midnight - 120 * minutes, midnight), (midnight - 240 * minutes,
                                                         midnight + 240 * minutes),
                  (midnight + 479 * minutes, midnight + 481 * minutes),
                  (midnight + 480 * minutes, midnight + 1200 * minutes),
                  (midnight, midnight + 3 * 1440 * minutes),
                  (midnight + 7 * minutes, midnight + 1440 * minutes)])
    busy_mattered = 0
    for start, end in sorted(edges):
        query = {"start": start.isoformat(), "end": end.isoformat()}
        ids, total, normalised, _ = sql_search(query)
        with app.app_context():
            got, _ = index.search(normalised, *window(normalised), local_today())
        assert got == ids == expected_ids(world, query), query
        working_only = [r["id"] for r in world["caregivers"]
                        if r["status"] == "approved" and r["user_status"] == "active"
                        and any(w <= start and end <= v
                                for w, v in working_intervals(r, world["today"]))]
        busy_mattered += len(working_only) > len(ids)
    assert busy_mattered >= 10  # the busy blocks really removed working caregivers


def test_index_checks_off_grid_day_windows_exactly(app, sql_search):
    """A day window off the half-hour grid (only a direct write makes one) covers exactly its
    minutes, as the SQL clause reads it, not the half-hour slots around it."""
    from datetime import timedelta

    from sqlalchemy import delete

    from app.availability.models import DayWindow

    world = build_marketplace(app, seed=11, count=12)
    chosen = next(r for r in world["caregivers"]
                  if r["status"] == "approved" and r["user_status"] == "active" and not r["busy"])
    day = world["today"] + timedelta(days=3)
    with app.app_context():
        db.session.execute(delete(DayWindow).where(DayWindow.caregiver_id == chosen["id"],
                                                   DayWindow.day == day))
        db.session.add(DayWindow(caregiver_id=chosen["id"], day=day, start_minute=485,
                                 end_minute=1195))
        db.session.commit()
        index = SearchIndex.load(db.session, local_today())
        db.session.remove()
    midnight = datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ)
    for low, high, covered in [(485, 1195, True), (490, 1190, True), (480, 1195, False),
                               (485, 1196, False), (484, 600, False), (1100, 1200, False)]:
        query = {"start": (midnight + timedelta(minutes=low)).isoformat(),
                 "end": (midnight + timedelta(minutes=high)).isoformat()}
        ids, _, normalised, _ = sql_search(query)
        with app.app_context():
            got, _ = index.search(normalised, *window(normalised), local_today())
        assert got == ids, query
        assert (chosen["id"] in got) is covered, query
