"""Helpers of the observability tests: scraping /metrics and reading one sample out of it
through prometheus_client's own parser. Counters are process-global (every test and the
session's app share them), so tests compare a figure before and after what they do."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

# the booking fixtures (one hospital with a doctor; verified users with a patient each)
from tests.booking.conftest import catalogue, verified  # noqa: F401
from tests.console.conftest import console  # noqa: F401  (a signed-in staff client)

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def metrics_token(app, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    return TOKEN


def scrape(client) -> dict:
    """{(sample name, frozenset of labels): value} of one /metrics answer."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)
