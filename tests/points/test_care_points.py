"""Points on care orders: quoted and spent when the order is placed (the payment is the price
less the points), earned per yuan the family paid when it completes."""
from app.extensions import db
from tests.care_orders.conftest import (API, book, care_world, order_body,  # noqa: F401
                                        order_row, pay, served_order)
from tests.conftest import row_counts
from tests.points.conftest import balance, grant, ledger_problems


def test_points_on_a_care_order_quote_pay_and_earn(client, app, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    grant(app, family["id"], 5000, ref=1)
    body = order_body(care_world, family, caregiver, points=5000)
    quote = client.post(f"{API}/quote", json=body, headers=family["headers"])
    assert quote.status_code == 200, quote.get_json()
    quoted = quote.get_json()
    assert quoted["points_discount_fen"] == 5000
    assert quoted["payable_fen"] == quoted["total_fen"] - 5000
    assert balance(app, family["id"]) == 5000  # a quote writes nothing
    too_many = client.post(f"{API}/quote", json={**body, "points": quoted["total_fen"]},
                           headers=family["headers"])
    assert too_many.status_code == 422
    assert too_many.get_json()["error"]["code"] == "points_over_limit"
    before = row_counts(app)
    refused = book(client, family, {**body, "points": 5001})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == \
        "points_insufficient"
    assert row_counts(app) == before
    created = book(client, family, body)
    assert created.status_code == 201, created.get_json()
    order = created.get_json()
    assert order["payment"]["amount_fen"] == quoted["payable_fen"]
    assert order["order"]["price"]["points_discount_fen"] == 5000
    assert balance(app, family["id"]) == 0
    pay(app, order)
    assert order_row(app, order["order"]["id"])["status"] == "awaiting_acceptance"
    assert ledger_problems(app) == []


def test_a_completed_care_order_earns_per_yuan_paid_once(client, app, care_world):
    from app.care_orders.models import CareOrder
    from app.points import services

    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = served_order(app, client, care_world, family, caregiver)
    confirmed = client.post(f"{API}/{order_id}/confirm", headers=family["headers"])
    assert confirmed.status_code == 200, confirmed.get_json()
    paid = order_row(app, order_id)["total_fen"]
    assert balance(app, family["id"]) == paid // 100
    with app.app_context():
        assert services.earn_for_care_order(db.session.get(CareOrder, order_id)) is None
        db.session.remove()
    assert ledger_problems(app) == []
