"""The in-process search index (app/marketplace/index.py) against the SQL search: for hundreds
of random queries over the random marketplace of test_search_reference, every id in order and
the total must be the same, and so must the wanted price of each match."""
import json
from datetime import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize("count, off_grid_busy", [(40, False), (130, True)])
def test_index_answers_like_the_sql_search(app, sql_search, count, off_grid_busy):
    world = build_marketplace(app, seed=20260501 + count, count=count,
                              off_grid_busy=off_grid_busy)
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


@pytest.mark.parametrize("off_grid_busy", [False, True])
def test_index_busy_and_working_edges_like_the_sql_search(app, sql_search, off_grid_busy):
    """Windows touching, clipping and straddling every busy block and working-day edge: a block
    ending exactly at the start (or starting exactly at the end) does not make anyone busy.
    Blocks on the half-hour grid are settled by the day masks alone; with some edges off it
    (off_grid_busy) the windows meeting them are settled exactly against the blocks."""
    from datetime import timedelta

    world = build_marketplace(app, seed=7, count=60, off_grid_busy=off_grid_busy)
    with app.app_context():
        index = SearchIndex.load(db.session, local_today())
        db.session.remove()
    assert bool(index.partial_days.any()) == off_grid_busy
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


@pytest.mark.parametrize("off_grid_busy", [False, True])
def test_a_patched_index_answers_like_a_fresh_load(app, sql_search, off_grid_busy):
    """Random changes to random caregivers (prices, skills, districts, hospitals, flags,
    status, busy blocks added and removed, weekly hours and so day windows), each taken in by
    SearchIndex.patched with the changed ids only: after every round the patched index answers
    150 random queries exactly like an index loaded from scratch and like the SQL search.
    Busy blocks on the half-hour grid only (the day masks settle every window) or with some
    edges off it (windows meeting them are settled against the blocks)."""
    import random
    from datetime import timedelta

    from hypothesis import HealthCheck, given, settings
    from sqlalchemy import delete

    from app.availability.models import BusyBlock, WeeklyWindow
    from app.availability.services import add_busy_block, rebuild_day_windows
    from app.caregivers.models import (Caregiver, CaregiverDistrict, CaregiverHospital,
                                       CaregiverPrice, CaregiverSkill)
    from tests.marketplace.conftest import CARE_TYPES, CITIES, SKILLS

    world = build_marketplace(app, seed=99, count=50, off_grid_busy=off_grid_busy)
    rng = random.Random(5)
    listed = [r["id"] for r in world["caregivers"]
              if r["status"] == "approved" and r["user_status"] == "active"]
    with app.app_context():
        index = SearchIndex.load(db.session, local_today())
        db.session.remove()
    midnight = datetime.combine(world["today"], datetime.min.time(), tzinfo=LOCAL_TZ)

    def change(caregiver_id):
        caregiver = db.session.get(Caregiver, caregiver_id)
        kind = rng.choice(["price", "skills", "place", "flags", "status", "busy", "unbusy",
                           "hours"])
        if kind == "price":
            db.session.execute(delete(CaregiverPrice).where(
                CaregiverPrice.caregiver_id == caregiver_id))
            for care_type in rng.sample(CARE_TYPES, rng.randint(0, 3)):
                db.session.add(CaregiverPrice(caregiver_id=caregiver_id, care_type=care_type,
                                              price_fen=rng.randrange(5, 60) * 1000))
        elif kind == "skills":
            db.session.execute(delete(CaregiverSkill).where(
                CaregiverSkill.caregiver_id == caregiver_id))
            db.session.add_all(CaregiverSkill(caregiver_id=caregiver_id, skill_code=code)
                               for code in rng.sample(SKILLS, rng.randint(0, 3)))
        elif kind == "place":
            city = rng.choice(list(CITIES))
            caregiver.city_code = city
            db.session.execute(delete(CaregiverDistrict).where(
                CaregiverDistrict.caregiver_id == caregiver_id))
            db.session.execute(delete(CaregiverHospital).where(
                CaregiverHospital.caregiver_id == caregiver_id))
            db.session.add_all(CaregiverDistrict(caregiver_id=caregiver_id, district_code=code)
                               for code in rng.sample(CITIES[city], rng.randint(0, 2)))
            db.session.add_all(CaregiverHospital(caregiver_id=caregiver_id, hospital_id=h["id"])
                               for h in rng.sample(world["hospitals"], rng.randint(0, 2)))
            caregiver.latitude = None if rng.random() < 0.2 else world["hospitals"][0]["lat"]
            caregiver.longitude = None if caregiver.latitude is None else 116.25
        elif kind == "flags":
            caregiver.accepts_urgent = not caregiver.accepts_urgent
            caregiver.night_service = rng.random() < 0.5
            caregiver.rating_avg = rng.choice([None, 3.5, 4.8, 5.0])
            caregiver.years_experience = rng.randint(0, 30)
            caregiver.completed_orders = rng.randint(0, 9)
            caregiver.gender = rng.choice(["male", "female", None])
        elif kind == "status":  # delisted, and maybe back (never newly listed: that reloads)
            caregiver.status = rng.choice(["suspended", "approved"])
        elif kind == "busy":
            start = midnight + timedelta(days=rng.randint(1, 9), minutes=30 * rng.randint(0, 47)
                                         + (rng.choice((0, 5, 40)) if off_grid_busy else 0))
            add_busy_block(caregiver_id, start, start + timedelta(hours=rng.randint(1, 40)),
                           ref_type="manual", ref_id=None)
        elif kind == "unbusy":
            db.session.execute(delete(BusyBlock).where(BusyBlock.caregiver_id == caregiver_id))
        else:
            db.session.execute(delete(WeeklyWindow).where(
                WeeklyWindow.caregiver_id == caregiver_id))
            for weekday in rng.sample(range(7), rng.randint(0, 5)):
                low = 30 * rng.randint(0, 40)
                db.session.add(WeeklyWindow(caregiver_id=caregiver_id, weekday=weekday,
                                            start_minute=low,
                                            end_minute=min(1440, low + 30 * rng.randint(1, 30))))
            db.session.flush()
            rebuild_day_windows([caregiver_id])
        return kind

    kinds = set()
    for round_number in range(4):
        with app.app_context():
            changed = rng.sample(listed, 6)
            for caregiver_id in changed:
                kinds.add(change(caregiver_id))
            db.session.commit()
            patched = index.patched(db.session, changed + [10**9])  # an unknown id is ignored
            assert patched is not None
            fresh = SearchIndex.load(db.session, local_today())
            db.session.remove()
        assert patched.position == index.position  # positions never move
        assert_same_rows(patched, fresh)
        assert bool(patched.partial_days.any()) == off_grid_busy
        index = patched

        @settings(max_examples=150, deadline=None, derandomize=True,
                  suppress_health_check=[HealthCheck.function_scoped_fixture,
                                         HealthCheck.too_slow])
        @given(query=filters(world))
        def check(query):
            ids, total, normalised, prices = sql_search(query)
            start, end = window(normalised)
            with app.app_context():
                got, wanted = patched.search(normalised, start, end, local_today())
                again, _ = fresh.search(normalised, start, end, local_today())
            assert got == again == ids, (round_number, query)
            assert {i: wanted[i] for i in got} == prices

        check()
    assert kinds >= {"price", "skills", "place", "flags", "status", "busy", "unbusy", "hours"}


def assert_same_rows(patched, fresh):
    """Row by row, every listed caregiver of `fresh` holds the same values in `patched`, and
    nobody else is listed there."""
    import numpy as np

    assert sorted(patched.ids[patched.listed].tolist()) == fresh.ids.tolist()
    at = np.array([patched.position[i] for i in fresh.ids.tolist()], dtype=np.int64)
    for name in ("gender", "birth", "has_birth", "experience", "has_experience", "city",
                 "rating", "orders", "urgent", "night", "lat", "lng", "no_location"):
        mine, theirs = getattr(patched, name)[at], getattr(fresh, name)
        if name in ("gender", "city"):  # codes are given in order of appearance
            codes = "genders" if name == "gender" else "cities"
            names = {v: k for k, v in getattr(patched, codes).items()}
            other = {v: k for k, v in getattr(fresh, codes).items()}
            mine, theirs = [names.get(v) for v in mine], [other.get(v) for v in theirs]
            assert mine == theirs, name
        else:
            assert np.array_equal(mine, theirs, equal_nan=mine.dtype.kind == "f"), name
    assert np.array_equal(patched.skills[:, at], fresh.skills)
    assert np.array_equal(patched.working[:, at], fresh.working)
    for name in ("busy_touched", "busy_covered", "skill_held"):
        assert np.array_equal(getattr(patched, name)[..., at], getattr(fresh, name)), name
    free = np.unpackbits(patched.free_planes, axis=2, count=patched.size, bitorder="little")
    assert np.array_equal(free[..., at], np.unpackbits(
        fresh.free_planes, axis=2, count=fresh.size, bitorder="little"))
    # a partial day may outlive its block in a patch (the exact path is then merely taken)
    assert bool((patched.partial_days >= fresh.partial_days).all())
    for groups in ("districts", "hospital_members", "prices"):
        mine, theirs = getattr(patched, groups), getattr(fresh, groups)
        empty = -1 if groups == "prices" else False
        for key in set(mine) | set(theirs):
            left = mine[key][at] if key in mine else np.full(len(at), empty)
            right = theirs[key] if key in theirs else np.full(len(at), empty)
            assert np.array_equal(left, right), (groups, key)
    listed = set(fresh.ids.tolist())
    for mine, theirs in zip(patched.busy, fresh.busy):
        assert bool((np.diff(mine.start) >= 0).all())  # still sorted by start
        blocks_p = sorted(zip(patched.ids[mine.owner].tolist(), mine.start.tolist(),
                              mine.end.tolist()))
        blocks_f = sorted(zip(fresh.ids[theirs.owner].tolist(), theirs.start.tolist(),
                              theirs.end.tolist()))
        assert [b for b in blocks_p if b[0] in listed] == blocks_f
        assert mine.longest >= theirs.longest


def test_a_caregiver_listed_after_the_load_needs_a_new_index(app):
    """Positions are fixed at load: a caregiver newly listed cannot be patched in (None asks
    for a load); one delisted can, and drops out of every answer."""
    from app.caregivers.models import Caregiver

    world = build_marketplace(app, seed=3, count=30)
    waiting = next(r["id"] for r in world["caregivers"]
                   if r["status"] == "pending_review" and r["user_status"] == "active")
    shown = next(r["id"] for r in world["caregivers"]
                 if r["status"] == "approved" and r["user_status"] == "active")
    base = {"skills": [], "skills_match": "any", "min_experience": None, "gender": None,
            "min_age": None, "max_age": None, "care_type": None, "min_price_fen": None,
            "max_price_fen": None, "city_code": None, "district_code": None,
            "hospital_id": None, "min_rating": None, "accepts_urgent": False,
            "night_service": False, "lat": None, "lng": None, "sort": "rating"}
    with app.app_context():
        index = SearchIndex.load(db.session, local_today())
        db.session.get(Caregiver, shown).status = "suspended"
        db.session.commit()
        patched = index.patched(db.session, [shown])
        assert shown in index.search(base, None, None, local_today())[0]
        assert shown not in patched.search(base, None, None, local_today())[0]
        db.session.get(Caregiver, waiting).status = "approved"
        db.session.commit()
        assert patched.patched(db.session, [waiting]) is None
        db.session.remove()


@settings(max_examples=2000, deadline=None)
@given(origin=st.tuples(st.floats(-89, 89), st.floats(-179, 179)),
       point=st.tuples(st.floats(-89, 89), st.floats(-179, 179)))
def test_a_page_shows_the_distance_rounded_to_a_tenth_of_a_km(origin, point):
    """_page_body prints km with "%.1f": the same digits as round(km, 1), the haversine
    distance computed here independently."""
    import math

    from app.marketplace.services import EARTH_RADIUS_KM, _Origin, _page_body

    lat1, lng1, lat2, lng2 = map(math.radians, (*origin, *point))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lng2 - lng1) / 2) ** 2)
    expected = round(2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h))), 1)
    body = _page_body([1], [None], {1: (b'"id":1', _Origin.point(*point))}, origin,
                      {"page": 1, "page_size": 20}, 1)
    assert json.loads(body)["items"][0]["distance_km"] == expected
    assert f'"distance_km":{expected!r},'.encode() in body


@settings(max_examples=300, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(st.integers(-3, 3).map(float), st.just(float("inf"))), min_size=65,
                max_size=300), st.integers(0, 320))
def test_a_page_is_selected_as_the_whole_stable_sort_would_order_it(keys, limit):
    """stable_first: its first `limit` entries are those of a full stable argsort (ties, inf
    and the cut falling inside a run of equal keys included); every index appears once. Above
    64 keys, where it selects instead of sorting."""
    import numpy as np

    from app.marketplace.index import stable_first

    for key in (np.array(keys, dtype=float), np.array([k if k != float("inf") else 9
                                                       for k in keys], dtype=np.int64)):
        order = stable_first(key, limit)
        full = np.argsort(key, kind="stable")
        assert order[:limit].tolist() == full[:limit].tolist()
        assert sorted(order.tolist()) == list(range(len(key)))
