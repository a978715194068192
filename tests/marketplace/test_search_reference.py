"""Search against a brute-force filter and sort over the same rows, for hundreds of random
filter combinations (hypothesis). The rows are built once per test; every example reads them."""
import math
from datetime import datetime, timedelta
from urllib.parse import urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.common.time import LOCAL_TZ
from tests.marketplace.conftest import (API, CARE_TYPES, CITIES, SKILLS, age, build_marketplace,
                                        is_free)



def optional(strategy):
    """Mostly absent: a query with every filter set matches nobody."""
    return st.one_of(st.none(), st.none(), st.none(), strategy)


@st.composite
def filters(draw, world):
    """A valid query: every parameter optional, cross-field rules respected."""
    hospitals = world["hospitals"]
    query = {
        "skills": draw(optional(st.lists(st.sampled_from(SKILLS), min_size=1, max_size=4,
                                         unique=True))),
        "skills_match": draw(optional(st.sampled_from(["any", "all"]))),
        "min_experience": draw(optional(st.integers(0, 31))),
        "gender": draw(optional(st.sampled_from(["male", "female"]))),
        "care_type": draw(optional(st.sampled_from(CARE_TYPES))),
        "city_code": draw(optional(st.sampled_from(list(CITIES)))),
        "district_code": draw(optional(st.sampled_from(
            [d for districts in CITIES.values() for d in districts]))),
        "hospital_id": draw(optional(st.sampled_from([h["id"] for h in hospitals]))),
        "min_rating": draw(optional(st.integers(0, 50).map(lambda n: n / 10))),
        "accepts_urgent": draw(optional(st.booleans())),
        "night_service": draw(optional(st.booleans())),
    }
    ages = draw(optional(st.tuples(optional(st.integers(18, 80)), optional(st.integers(18, 80)))))
    if ages:
        low, high = ages
        if low is not None and high is not None and low > high:
            low, high = high, low
        query["min_age"], query["max_age"] = low, high
    if query["care_type"]:
        low = draw(optional(st.integers(0, 60).map(lambda n: n * 1000)))
        high = draw(optional(st.integers(0, 60).map(lambda n: n * 1000)))
        if low is not None and high is not None and low > high:
            low, high = high, low
        query["min_price_fen"], query["max_price_fen"] = low, high
    if draw(st.booleans()):
        query["lat"] = draw(st.floats(39.0, 41.0, allow_nan=False))
        query["lng"] = draw(st.floats(115.5, 117.5, allow_nan=False))
    if draw(st.integers(0, 2)) == 0:
        midnight = datetime.combine(world["today"], datetime.min.time(), tzinfo=LOCAL_TZ)
        start = midnight + timedelta(days=draw(st.integers(1, 9)),
                                     minutes=15 * draw(st.integers(0, 95)))
        end = start + timedelta(minutes=15 * draw(st.integers(1, 4 * 24 * 3)))
        query["start"], query["end"] = start.isoformat(), end.isoformat()
    sorts = ["rating", "experience", "orders", None]
    if query["care_type"]:
        sorts += ["price_asc", "price_desc"]
    if query.get("lat") is not None or query["hospital_id"]:
        sorts.append("distance")
    query["sort"] = draw(st.sampled_from(sorts))
    return {k: v for k, v in query.items() if v is not None}


def expected_ids(world, query) -> list[int]:
    today = world["today"]
    care_type = query.get("care_type")
    start = end = None
    if "start" in query:
        start = datetime.fromisoformat(query["start"])
        end = datetime.fromisoformat(query["end"])
    chosen = []
    for row in world["caregivers"]:
        if row["status"] != "approved" or row["user_status"] != "active":
            continue
        if "skills" in query:
            held = set(row["skills"])
            wanted = set(query["skills"])
            if query.get("skills_match") == "all":
                if not wanted <= held:
                    continue
            elif not wanted & held:
                continue
        if row["years_experience"] < query.get("min_experience", 0):
            continue
        if "gender" in query and row["gender"] != query["gender"]:
            continue
        years = age(row["birth_date"], today)
        if "min_age" in query and (years is None or years < query["min_age"]):
            continue
        if "max_age" in query and (years is None or years > query["max_age"]):
            continue
        if care_type:
            if care_type not in row["prices"]:
                continue
            price = row["prices"][care_type]
            if price < query.get("min_price_fen", 0) or price > query.get("max_price_fen", 10**9):
                continue
        if "city_code" in query and row["city_code"] != query["city_code"]:
            continue
        if "district_code" in query and query["district_code"] not in row["districts"]:
            continue
        if "hospital_id" in query and query["hospital_id"] not in row["hospitals"]:
            continue
        if "min_rating" in query and (row["rating_avg"] is None
                                      or row["rating_avg"] < query["min_rating"]):
            continue
        if query.get("accepts_urgent") and not row["accepts_urgent"]:
            continue
        if query.get("night_service") and not row["night_service"]:
            continue
        if start is not None and not is_free(row, today, start, end):
            continue
        chosen.append(row)
    sort = query.get("sort") or "rating"
    if sort == "rating":
        key = lambda r: (r["rating_avg"] is None, -(r["rating_avg"] or 0), r["id"])  # noqa
    elif sort == "price_asc":
        key = lambda r: (r["prices"][care_type], r["id"])  # noqa: E731
    elif sort == "price_desc":
        key = lambda r: (-r["prices"][care_type], r["id"])  # noqa: E731
    elif sort == "experience":
        key = lambda r: (-r["years_experience"], r["id"])  # noqa: E731
    elif sort == "orders":
        key = lambda r: (-r["completed_orders"], r["id"])  # noqa: E731
    else:
        if "lat" in query:
            lat0, lng0 = query["lat"], query["lng"]
        else:
            hospital = next(h for h in world["hospitals"] if h["id"] == query["hospital_id"])
            lat0, lng0 = hospital["lat"], hospital["lng"]
        scale = math.cos(math.radians(lat0))

        def key(r):
            if r["lat"] is None:
                return (True, 0.0, r["id"])
            d_lat, d_lng = r["lat"] - lat0, (r["lng"] - lng0) * scale
            return (False, d_lat * d_lat + d_lng * d_lng, r["id"])
    return [r["id"] for r in sorted(chosen, key=key)]


def all_pages(client, query, page_size):
    ids, page, total = [], 1, None
    while True:
        params = [(k, v) for k, v in query.items() if k != "skills"]
        params += [("skills", code) for code in query.get("skills", [])]
        params += [("page", page), ("page_size", page_size)]
        response = client.get(f"{API}?{urlencode(params)}")
        assert response.status_code == 200, (query, response.get_json())
        body = response.get_json()
        assert total in (None, body["total"])
        total = body["total"]
        ids += [item["id"] for item in body["items"]]
        if page * page_size >= total:
            return ids, total
        assert len(body["items"]) == page_size
        page += 1


def test_search_matches_a_brute_force_filter(client, app):
    world = build_marketplace(app)
    listed = [r for r in world["caregivers"]
              if r["status"] == "approved" and r["user_status"] == "active"]
    assert len(listed) >= 20  # the seed makes a market worth searching
    seen = {"non_empty": 0, "empty": 0, "free": 0}

    @settings(max_examples=300, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(query=filters(world), page_size=st.sampled_from([1, 3, 7, 50]))
    def check(query, page_size):
        expected = expected_ids(world, query)
        ids, total = all_pages(client, query, page_size)
        assert ids == expected, query
        assert total == len(expected)
        seen["non_empty" if expected else "empty"] += 1
        if "start" in query and expected:
            seen["free"] += 1

    check()
    # the generated queries exercised both outcomes, including free-time matches
    assert seen["non_empty"] >= 100 and seen["empty"] >= 10 and seen["free"] >= 5, seen
