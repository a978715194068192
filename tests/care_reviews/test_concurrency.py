"""Reviews arriving at once, through the live server (real threads, real connections): every
review of a caregiver counts in their rating, and an order is reviewed once however many
taps arrive together. Meaningful on MariaDB (row locks); must hold on SQLite too."""
import threading

import requests

from tests.care_orders.conftest import API
from tests.care_reviews.conftest import caregiver_rating, order_at, review_rows


def at_once(app, requests_to_send):
    """POST each (person, order_id, body) at the same moment; [(status, error code)]."""
    barrier = threading.Barrier(len(requests_to_send))
    results = [None] * len(requests_to_send)

    def send(slot, person, order_id, body):
        barrier.wait()
        response = requests.post(f"{app.config['LIVE_URL']}{API}/{order_id}/review", json=body,
                                 headers=person["headers"], timeout=60)
        code = response.json()["error"]["code"] if response.status_code >= 400 else None
        results[slot] = (response.status_code, code)

    threads = [threading.Thread(target=send, args=(slot, *request))
               for slot, request in enumerate(requests_to_send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_families_reviewing_one_caregiver_at_once_all_count(app, client, care_world):
    caregiver = care_world["caregiver"]()
    stars = (5, 2, 4, 3)
    families = [care_world["family"]() for _ in stars]
    orders = [order_at(app, client, care_world, caregiver, family, days_ahead=2 + 2 * n)
              for n, family in enumerate(families)]
    results = at_once(app, [(family, order_id, {"stars": star, "tags": ["punctual"]})
                            for family, order_id, star in zip(families, orders, stars)])
    assert results == [(201, None)] * len(stars)
    assert caregiver_rating(app, caregiver["id"]) == (sum(stars) / len(stars), len(stars))
    summary = client.get(f"/api/v1/caregivers/{caregiver['id']}/reviews").get_json()["summary"]
    assert summary["rating_count"] == 4 and summary["rating_avg"] == 3.5
    assert summary["tags"] == [{"code": "punctual", "name": "准时守约", "count": 4}]


def test_the_same_order_reviewed_by_several_taps_at_once_counts_once(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = order_at(app, client, care_world, caregiver, family)
    results = at_once(app, [(family, order_id, {"stars": star}) for star in (5, 4, 3, 2)])
    assert sorted(results, key=str) == sorted(
        [(201, None)] + [(409, "already_reviewed")] * 3, key=str)
    rows = review_rows(app)
    assert len(rows) == 1
    assert caregiver_rating(app, caregiver["id"]) == (float(rows[0][1]), 1)
