"""What a booking is refused for, with its stable code, and that a refusal changes nothing;
another family's or caregiver's order is never reachable."""
import json
from datetime import datetime, timedelta

import pytest

from app.common.time import LOCAL_TZ
from tests.care_orders.conftest import (API, CAREGIVER_API, book, local_midnight, order_body,
                                        pay, window)
from tests.conftest import row_counts

CARE_TABLES = ("care_orders", "availability_busy_blocks", "payments", "care_order_events",
               "care_assignments")


def counts(app):
    every = row_counts(app)
    return {name: every[name] for name in CARE_TABLES}


def refused(client, app, person, body, status, code, path=API):
    before = counts(app)
    # json.dumps escapes a lone surrogate as JSON text can (the test client would refuse it)
    response = client.post(path, data=json.dumps(body), content_type="application/json",
                           headers=person["headers"])
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code, error
    assert not error["message"].isascii()
    assert counts(app) == before
    return error


@pytest.mark.parametrize("path", [API, f"{API}/quote"])
def test_windows_that_cannot_be_booked(app, client, care_world, path):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    start = local_midnight(3) + timedelta(hours=8)

    def body(start_at, end_at, **extra):
        return order_body(care_world, family, caregiver, start=start_at, end=end_at, **extra)

    naive = start.replace(tzinfo=None).isoformat()
    cases = [
        (body(naive, (start + timedelta(hours=24)).isoformat()), 422, "timezone_required"),
        (body((start + timedelta(minutes=10)).isoformat(),
              (start + timedelta(hours=24)).isoformat()), 422, "time_not_on_grid"),
        (body(start.isoformat(), start.isoformat()), 422, "invalid_time_range"),
        (body((start - timedelta(days=5)).isoformat(), start.isoformat()), 422,
         "start_in_past"),
        (body(start.isoformat(), (start + timedelta(days=32)).isoformat()), 422,
         "time_range_too_long"),
        (body((start + timedelta(days=59)).isoformat(), (start + timedelta(days=62)).isoformat()),
         422, "time_range_outside_horizon"),
        (body(start.isoformat(), (start + timedelta(hours=13)).isoformat(),
              care_type="escort"), 422, "escort_too_long"),
        (body(start.isoformat(), (start + timedelta(hours=24)).isoformat(),
              skills=["no_such_skill"]), 422, "unknown_skill"),
        (body(start.isoformat(), (start + timedelta(hours=24)).isoformat(), hospital_id=None),
         422, "place_required"),
        (body(start.isoformat(), (start + timedelta(hours=24)).isoformat(), hospital_id=999999),
         404, "hospital_not_found"),
        (body(start.isoformat(), (start + timedelta(hours=24)).isoformat(),
              care_type="nursing_home"), 422, "validation_error"),
        (body(start.isoformat(), (start + timedelta(hours=24)).isoformat(), caregiver_id=999999),
         404, "caregiver_not_found"),
        (body(start.isoformat(), (start + timedelta(hours=24)).isoformat(), needs="\ud800"),
         422, "validation_error"),
        (body(start.isoformat(), (start + timedelta(hours=24)).isoformat(),
              hospital_id=None, address="朝阳区某路1号", city_code="110100", latitude=39.9),
         422, "location_incomplete"),
    ]
    for case, status, code in cases:
        refused(client, app, family, case, status, code, path)


def test_the_caregivers_own_rules(app, client, care_world):
    family = care_world["family"]()
    day_only = care_world["caregiver"](windows=((8 * 60, 18 * 60),),
                                       prices={"hourly": 5000, "night_shift": 20000})
    # outside the hours they work
    start, end = window(days_ahead=3, hour=17, hours=3)
    refused(client, app, family, order_body(care_world, family, day_only, care_type="hourly",
                                            start=start, end=end), 409, "outside_availability")
    # a type they do not offer
    refused(client, app, family, order_body(care_world, family, day_only), 409,
            "care_type_not_offered")
    # nights they do not do
    nights_off = care_world["caregiver"]()
    start, end = window(days_ahead=3, hour=20, hours=4)
    refused(client, app, family, order_body(care_world, family, nights_off, care_type="hourly",
                                            start=start, end=end), 409,
            "night_service_declined")
    # urgent orders they do not take (starting within 2 h)
    now = datetime.now(LOCAL_TZ)
    soon = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    if 6 <= soon.hour <= 18:
        refused(client, app, family, order_body(
            care_world, family, nights_off, care_type="hourly", start=soon.isoformat(),
            end=(soon + timedelta(hours=2)).isoformat()), 409, "urgent_declined")
    # another city
    elsewhere = care_world["caregiver"](city_code="310100")
    refused(client, app, family, order_body(care_world, family, elsewhere), 409,
            "outside_service_area")
    # a caregiver no longer listed
    suspended = care_world["caregiver"](status="suspended")
    refused(client, app, family, order_body(care_world, family, suspended), 404,
            "caregiver_not_found")


def test_night_and_urgent_surcharges_and_long_order_discount(app, client, care_world):
    family = care_world["family"]()
    caregiver = care_world["caregiver"](night_service=True, night_surcharge_fen=3000,
                                        accepts_urgent=True)
    start, end = window(days_ahead=3, hour=20, hours=12)  # 20:00–08:00: one night
    quote = client.post(f"{API}/quote", json=order_body(
        care_world, family, caregiver, care_type="night_shift", start=start, end=end),
        headers=family["headers"]).get_json()
    assert (quote["units"], quote["nights"], quote["night_fen"], quote["total_fen"]) == (
        1, 1, 3000, 23000)
    start, end = window(days_ahead=3, hour=8, hours=24 * 7)  # a week of full days: 5 % off
    quote = client.post(f"{API}/quote", json=order_body(
        care_world, family, caregiver, start=start, end=end), headers=family["headers"]
    ).get_json()
    assert quote["base_fen"] == 7 * 30000 and quote["discount_fen"] == 7 * 30000 * 5 // 100
    assert quote["total_fen"] == quote["base_fen"] - quote["discount_fen"]
    now = datetime.now(LOCAL_TZ)
    soon = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    quote = client.post(f"{API}/quote", json=order_body(
        care_world, family, caregiver, care_type="hourly", start=soon.isoformat(),
        end=(soon + timedelta(hours=2)).isoformat()), headers=family["headers"]).get_json()
    assert quote["urgent"] is True and quote["urgent_fen"] == 2 * 5000 * 20 // 100


def test_nobody_reaches_another_familys_or_caregivers_order(app, client, care_world):
    caregiver = care_world["caregiver"]()
    other_caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    stranger = care_world["family"]()
    created = book(client, family, order_body(care_world, family, caregiver))
    order_id = created.get_json()["order"]["id"]
    pay(app, created.get_json())
    before = counts(app)
    for method, path, body in [
        ("get", f"{API}/{order_id}", None), ("get", f"{API}/{order_id}/records", None),
        ("post", f"{API}/{order_id}/cancel", {}), ("post", f"{API}/{order_id}/confirm", None),
    ]:
        response = getattr(client, method)(path, json=body, headers=stranger["headers"])
        assert response.status_code == 404, (path, response.get_json())
        assert response.get_json()["error"]["code"] == "care_order_not_found"
    for method, path, body in [
        ("get", f"{CAREGIVER_API}/{order_id}", None),
        ("get", f"{CAREGIVER_API}/{order_id}/records", None),
        ("post", f"{CAREGIVER_API}/{order_id}/accept", None),
        ("post", f"{CAREGIVER_API}/{order_id}/reject", {"reason": "不想接"}),
        ("post", f"{CAREGIVER_API}/{order_id}/start", {}),
        ("post", f"{CAREGIVER_API}/{order_id}/records", {"condition": "好"}),
        ("post", f"{CAREGIVER_API}/{order_id}/end", None),
    ]:
        response = getattr(client, method)(path, json=body, headers=other_caregiver["headers"])
        assert response.status_code == 404, (path, response.get_json())
    # a family is not a caregiver
    response = client.get(f"{CAREGIVER_API}?view=inbox", headers=family["headers"])
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "caregiver_not_found"
    # another family's patient cannot be booked for
    refused(client, app, stranger, {**order_body(care_world, stranger, caregiver, days_ahead=6),
                                    "patient_id": family["patient_id"]}, 404,
            "patient_not_found")
    assert counts(app) == before


def test_lists_by_role(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    ids = []
    for days in (3, 5, 7):
        created = book(client, family, order_body(care_world, family, caregiver,
                                                  days_ahead=days))
        ids.append(created.get_json()["order"]["id"])
    pay(app, book(client, family, order_body(care_world, family, caregiver,
                                             days_ahead=9)).get_json())
    listed = client.get(f"{API}?status=pending_payment", headers=family["headers"]).get_json()
    assert [item["id"] for item in listed["items"]] == ids[::-1]
    both = client.get(f"{API}?status=pending_payment,awaiting_acceptance",
                      headers=family["headers"]).get_json()
    assert both["total"] == 4
    bad = client.get(f"{API}?status=nonsense", headers=family["headers"])
    assert bad.status_code == 422
    inbox = client.get(f"{CAREGIVER_API}?view=inbox", headers=caregiver["headers"]).get_json()
    assert inbox["total"] == 1 and inbox["items"][0]["patient_name"] == "王*明"
    assert client.get(f"{CAREGIVER_API}?view=sideways",
                      headers=caregiver["headers"]).status_code == 422


def test_a_staff_refund_of_a_care_payment_goes_through_the_order(app, client, care_world,
                                                                  staff_factory):
    """The payments domain's generic staff refund would leave the order's books (and the
    caregiver's ledger) behind the payment: it is refused for care orders."""
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    created = book(client, family, order_body(care_world, family, caregiver))
    pay(app, created.get_json())
    payment_id = created.get_json()["payment"]["id"]
    operator = staff_factory("operator")
    before = row_counts(app)["refunds"]
    response = client.post(f"/api/v1/staff/payments/{payment_id}/refunds",
                           json={"amount_fen": 100, "reason": "客服补偿"},
                           headers=operator["headers"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "refund_through_order"
    assert row_counts(app)["refunds"] == before
