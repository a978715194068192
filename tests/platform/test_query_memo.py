"""Query schemas with MEMOIZE_QUERY (app/common/api.py): a query string parsed once is not parsed
again, a refused one is refused every time, each caller gets its own dict, and the memo is
bounded."""
import pytest

from app.common import api
from app.common.api import Blueprint
from app.marketplace.schemas import CaregiverSearchQuerySchema
from tests.conftest import make_caregiver
from tests.marketplace.conftest import API

parser = Blueprint.ARGUMENTS_PARSER


@pytest.fixture
def loads(monkeypatch):
    """Counts the schema's loads (each real parse of a query string)."""
    parser._parsed.clear()
    calls = []
    original = CaregiverSearchQuerySchema.load

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(CaregiverSearchQuerySchema, "load", counting)
    yield calls
    parser._parsed.clear()


def test_a_query_string_is_parsed_once_and_answers_the_same(app, client, loads):
    make_caregiver(app, years_experience=7)
    query = f"{API}?min_experience=5&skills=elderly,stroke&skills_match=any&page_size=5"
    first = client.get(query)
    second = client.get(query)
    assert first.status_code == second.status_code == 200
    assert first.get_json() == second.get_json()
    assert len(loads) == 1
    client.get(f"{API}?skills=stroke,elderly&min_experience=5&skills_match=any&page_size=5")
    assert len(loads) == 2  # another string (the same filters in another order) is parsed


def test_a_refused_query_string_is_refused_every_time(client, loads):
    for _ in range(3):
        response = client.get(f"{API}?page_size=0")
        assert response.status_code == 422
        assert response.get_json()["error"]["code"] == "validation_error"
    assert len(loads) == 3 and parser._parsed == {}


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


@pytest.mark.parametrize("query", [
    "skills=elderly,stroke&skills_match=all&sort=distance&lat=31.2&lng=121.4",
    "start=2030-01-01T08:00:00%2B08:00&end=2030-01-01T12:00:00%2B08:00&page=2",
    "city_code=310100&care_type=hourly&min_price_fen=1000&sort=price_asc&page_size=50",
    "min_age=30&max_age=60&gender=female&min_rating=4.5&accepts_urgent=true&unknown=1",
    "page_size=0", "lat=91&lng=200", "skills=Bad!", "sort=nope&gender=x&min_age=5",
    "start=tomorrow", "",
])
def test_a_narrowed_schema_loads_and_refuses_like_the_whole_one(app, monkeypatch, query):
    """The instance limited to the query's parameters gives the same arguments, or the same
    refusal, as the whole schema (NARROWED_SCHEMAS_KEPT = 0 makes the whole schema load)."""
    from app.errors import AppError

    def parse():
        parser._parsed.clear()
        with app.test_request_context(f"{API}?{query}"):
            from flask import request
            try:
                return parser.parse(CaregiverSearchQuerySchema, request, location="query")
            except AppError as exc:
                return exc.code, exc.details
            except Exception as exc:  # webargs' 422 (flask abort) carries the messages
                return type(exc).__name__, (getattr(exc, "data", None) or {}).get("messages")

    narrowed = parse()
    monkeypatch.setattr(api, "NARROWED_SCHEMAS_KEPT", 0)
    parser._narrowed_schemas.clear()
    whole = parse()
    assert narrowed == whole
    parser._parsed.clear()
