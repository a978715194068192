"""Query schemas with MEMOIZE_QUERY (app/common/api.py): a query string parsed once is not parsed
again, a refused one is refused every time, each caller gets its own dict, the memo is
bounded, and the field-by-field load gives what the whole schema gives."""
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.common import api
from app.common.api import Blueprint
from app.marketplace.schemas import CaregiverSearchQuerySchema
from tests.conftest import make_caregiver
from tests.marketplace.conftest import API

parser = Blueprint.ARGUMENTS_PARSER


@pytest.fixture
def loads(monkeypatch):
    """Counts the real parses of a query string: field by field or by the whole schema."""
    parser._parsed.clear()
    calls = []
    original_load, original_fieldwise = CaregiverSearchQuerySchema.load, api._FieldwisePlan.load

    def counting(self, *args, **kwargs):
        calls.append("schema")
        return original_load(self, *args, **kwargs)

    def counting_fieldwise(self, *args, **kwargs):
        result = original_fieldwise(self, *args, **kwargs)
        if result is not None:
            calls.append("fieldwise")
        return result

    monkeypatch.setattr(CaregiverSearchQuerySchema, "load", counting)
    monkeypatch.setattr(api._FieldwisePlan, "load", counting_fieldwise)
    yield calls
    parser._parsed.clear()


def test_a_query_string_is_parsed_once_and_answers_the_same(app, client, loads):
    make_caregiver(app, years_experience=7)
    query = f"{API}?min_experience=5&skills=elderly,stroke&skills_match=any&page_size=5"
    first = client.get(query)
    second = client.get(query)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert loads == ["fieldwise"]
    client.get(f"{API}?skills=stroke,elderly&min_experience=5&skills_match=any&page_size=5")
    assert len(loads) == 2  # another string (the same filters in another order) is parsed


def test_a_refused_query_string_is_refused_every_time(client, loads):
    for _ in range(3):
        response = client.get(f"{API}?page_size=0")
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "validation_error"
    assert loads == ["schema"] * 3 and parser._parsed == {}  # the schema gives the refusal


def test_each_caller_gets_its_own_arguments(app, loads):
    with app.test_request_context(f"{API}?skills=elderly&lat=31.2&lng=121.4"):
        from flask import request

        first = parser.parse(CaregiverSearchQuerySchema, request, location="query")
        first["lat"] = 0.0
        first.pop("skills")
        second = parser.parse(CaregiverSearchQuerySchema, request, location="query")
    assert second["lat"] == 31.2 and second["skills"] == ["elderly"]
    assert len(loads) == 1


def test_the_memo_keeps_only_the_latest_strings(client, loads, monkeypatch):
    monkeypatch.setattr(api, "PARSED_QUERIES_KEPT", 3)
    for experience in range(6):
        assert client.get(f"{API}?min_experience={experience}").status_code == 200
    assert len(parser._parsed) == 3
    client.get(f"{API}?min_experience=5")  # among the latest: not parsed again
    client.get(f"{API}?min_experience=0")  # dropped: parsed again
    assert len(loads) == 7


QUERIES = [
    "skills=elderly,stroke&skills_match=all&sort=distance&lat=31.2&lng=121.4",
    "start=2030-01-01T08:00:00%2B08:00&end=2030-01-01T12:00:00%2B08:00&page=2",
    "start=2030-01-01T08:00:00+08:00&end=2030-01-01T12:00",
    "city_code=310100&care_type=hourly&min_price_fen=1000&sort=price_asc&page_size=50",
    "min_age=30&max_age=60&gender=female&min_rating=4.5&accepts_urgent=true&unknown=1",
    "min_age=30&max_age=60&gender=female&min_rating=4.5&accepts_urgent=1&night_service=no",
    "skills=elderly&skills=stroke,elderly", "skills=,elderly,,", "page=1&page=2",
    "page_size=0", "lat=91&lng=200", "skills=Bad!", "sort=nope&gender=x&min_age=5",
    "start=tomorrow", "", "lat=nan&lng=inf", "min_rating=1e0", "page= 3", "hospital_id=-1",
    "district_code=%00", "skills=" + ",".join(["elderly"] * 200), "min_experience=%EF%BC%95",
]


def parse_both(app, query):
    """(field by field or None, the whole schema through webargs) for one query string; a
    refusal is (error code or class, messages)."""
    from app.errors import AppError

    plan = api._FieldwisePlan(CaregiverSearchQuerySchema())
    with app.test_request_context(f"{API}?{query}"):
        from flask import request
        fieldwise = plan.load(request.args)
        parser._parsed.clear()
        try:
            whole = Blueprint.ARGUMENTS_PARSER.__class__.__mro__[1].parse(
                parser, CaregiverSearchQuerySchema, request, location="query")
        except AppError as exc:
            whole = exc.code, exc.details
        except Exception as exc:  # webargs' 422 (flask abort) carries the messages
            whole = type(exc).__name__, (getattr(exc, "data", None) or {}).get("messages")
    return fieldwise, whole


@pytest.mark.parametrize("query", QUERIES)
def test_the_field_by_field_load_gives_what_the_whole_schema_gives(app, query):
    """Either the same arguments as the whole schema, or None (the schema then answers,
    refusal included)."""
    fieldwise, whole = parse_both(app, query)
    assert fieldwise is None or fieldwise == whole
    if isinstance(whole, tuple):  # refused: never by the field-by-field load
        assert fieldwise is None


def test_the_field_by_field_load_takes_the_strings_clients_send(app):
    for query in QUERIES[:4]:
        fieldwise, whole = parse_both(app, query)
        assert fieldwise == whole and isinstance(whole, dict)


PLAUSIBLE = {  # values a client might send for each parameter, good and bad
    "skills": ["elderly", "elderly,stroke", "stroke,,elderly", "Bad!", ""],
    "skills_match": ["any", "all", "most"], "min_experience": ["0", "5", "51", "-1", "5.0"],
    "gender": ["male", "female", "x"], "min_age": ["18", "60", "17", "81"],
    "max_age": ["30", "80", "99"], "care_type": ["hourly", "full_day", "escort", "nap"],
    "min_price_fen": ["0", "1000", "1000000001"], "city_code": ["310100", "110100", "010100", "3101"],
    "hospital_id": ["1", "42", "0", "99999999999999999999"],
    "start": ["2030-01-01T08:00:00+08:00", "2030-01-01T08:00", "2030-01-01 08:00:00 08:00",
              "2030-13-01T08:00"], "end": ["2030-01-01T12:00:00+08:00", "2030-01-02T08:00", "noon"],
    "min_rating": ["4.5", "5", "5.1", "nan"], "accepts_urgent": ["true", "false", "1", "maybe"],
    "lat": ["31.2", "-90", "90.5", "inf"], "lng": ["121.4", "180", "-181"],
    "sort": ["rating", "distance", "price_asc", "nope"], "page": ["1", "3", "0", "x"],
    "page_size": ["1", "50", "51"], "bogus": ["1", "2"],
}


@settings(max_examples=400, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def _pair(key):
    """(key, value): mostly a good value, sometimes any listed one, rarely any text."""
    good, listed = PLAUSIBLE[key][:2], PLAUSIBLE[key]
    return st.sampled_from(["good"] * 8 + ["listed", "text"]).flatmap(lambda kind: st.tuples(
        st.just(key), st.sampled_from(good) if kind == "good" else
        st.sampled_from(listed) if kind == "listed" else st.text(max_size=8)))


@given(st.lists(st.sampled_from(sorted(set(PLAUSIBLE) - {"bogus"})).flatmap(_pair),
                max_size=5, unique_by=lambda pair: pair[0])
       | st.lists(st.sampled_from(sorted(PLAUSIBLE)).flatmap(_pair), max_size=5))
def test_random_query_strings_load_alike(app, pairs):
    from urllib.parse import urlencode

    fieldwise, whole = parse_both(app, urlencode(pairs))
    event("loaded field by field" if fieldwise is not None else "left to the schema")
    assert fieldwise is None or fieldwise == whole
