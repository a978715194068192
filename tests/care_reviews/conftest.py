"""Orders taken to the stage a review test needs, through HTTP as the mini-program does (the
care-order helpers of tests/care_orders/conftest.py, imported, not copied)."""
from datetime import timedelta

from app.common.time import utcnow
from tests.care_orders.conftest import (API, CAREGIVER_API, book, care_world,  # noqa: F401
                                        order_body, pay, set_order)

STAGES = ("paid", "accepted", "in_service", "awaiting_confirmation", "completed")


def order_at(app, client, world, caregiver, family, *, days_ahead=3, stage="completed",
             record=None):
    """Book `caregiver` for `family` (24 h from `days_ahead` days at 08:00), pay, and go on to
    `stage`; `record` (a record body) is written once the service has started. The order id."""
    created = book(client, family, order_body(world, family, caregiver, days_ahead=days_ahead))
    assert created.status_code == 201, created.get_json()
    result = created.get_json()
    order_id = result["order"]["id"]
    pay(app, result)
    steps = STAGES[1:STAGES.index(stage) + 1]
    if "accepted" in steps:
        accepted = client.post(f"{CAREGIVER_API}/{order_id}/accept",
                               headers=caregiver["headers"])
        assert accepted.status_code == 200, accepted.get_json()
    if "in_service" in steps:
        # the booked start comes closer, as time would have it
        set_order(app, order_id, start_at=utcnow() + timedelta(minutes=10),
                  end_at=utcnow() + timedelta(hours=23))
        started = client.post(f"{CAREGIVER_API}/{order_id}/start", json={},
                              headers=caregiver["headers"])
        assert started.status_code == 200, started.get_json()
        if record is not None:
            written = client.post(f"{CAREGIVER_API}/{order_id}/records", json=record,
                                  headers=caregiver["headers"])
            assert written.status_code == 201, written.get_json()
    if "awaiting_confirmation" in steps:
        ended = client.post(f"{CAREGIVER_API}/{order_id}/end", headers=caregiver["headers"])
        assert ended.status_code == 200, ended.get_json()
    if "completed" in steps:
        confirmed = client.post(f"{API}/{order_id}/confirm", headers=family["headers"])
        assert confirmed.status_code == 200, confirmed.get_json()
        assert confirmed.get_json()["status"] == "completed"
    return order_id


def caregiver_rating(app, caregiver_id):
    from app.caregivers.models import Caregiver
    from app.extensions import db

    with app.app_context():
        row = db.session.get(Caregiver, caregiver_id)
        rating = (row.rating_avg, row.rating_count)
        db.session.remove()
    return rating


def review_rows(app):
    from sqlalchemy import select

    from app.care_reviews.models import CareReview
    from app.extensions import db

    with app.app_context():
        rows = [(r.order_id, r.stars, list(r.tags or []), r.text, r.reply)
                for r in db.session.scalars(select(CareReview).order_by(CareReview.id))]
        db.session.remove()
    return rows


def notifications(client, person):
    response = client.get("/api/v1/notifications", headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    return [(item["kind"], item["title"]) for item in response.get_json()["items"]]
