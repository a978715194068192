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
