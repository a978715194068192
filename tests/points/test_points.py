"""The points ledger: earn on a visit and a completed care order, spend at booking (capped,
never more than held, nothing changed when refused), expire FIFO (daily job, idempotent),
reverse on a full refund or an unpaid close; GET /me/points; the admin's rules."""
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from app.common.time import utcnow
from app.extensions import db
from tests.booking.conftest import (catalogue, local_now, pay, registration_row,  # noqa: F401
                                    schedule_row, verified)
from tests.conftest import row_counts
from tests.payments.conftest import payment_state, run_jobs, wait_for
from tests.points.conftest import balance, grant, ledger_problems

ME = "/api/v1/me/points"
RULES = "/api/v1/staff/settings/points"


def book(client, person, schedule_id, points=None):
    body = {"schedule_id": schedule_id, "patient_id": person["patient_id"]}
    if points is not None:
        body["points"] = points
    return client.post("/api/v1/registrations", headers=person["headers"], json=body)


def kinds(client, person):
    return [(t["kind"], t["points"]) for t in
            client.get(ME, headers=person["headers"]).get_json()["history"]["items"]]


# ---- spend at booking ----------------------------------------------------------------------

def test_points_pay_part_of_a_registration_and_come_back_when_refunded(client, app, catalogue,
                                                                       verified):
    schedule_id = catalogue["schedule"](fee_fen=5000)
    person, = verified(1)
    grant(app, person["id"], 1500, ref=1)
    response = book(client, person, schedule_id, points=1000)  # 20 % of 50 元 = 1000 fen
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["registration"]["points_used"] == 1000
    assert body["registration"]["points_discount_fen"] == 1000
    assert body["payment"]["amount_fen"] == 4000
    assert balance(app, person["id"]) == 500
    assert kinds(client, person) == [("spend", -1000), ("earn", 1500)]
    pay(app, body)
    registration_id = body["registration"]["id"]
    cancelled = client.post(f"/api/v1/registrations/{registration_id}/cancel",
                            headers=person["headers"])
    assert cancelled.status_code == 200, cancelled.get_json()
    run_jobs(app)
    assert wait_for(lambda: registration_row(app, registration_id)["status"] == "refunded")
    assert balance(app, person["id"]) == 1500
    assert kinds(client, person)[0] == ("reverse_spend", 1000)
    run_jobs(app)  # nothing runs twice
    assert balance(app, person["id"]) == 1500
    assert ledger_problems(app) == []


def test_points_of_an_unpaid_order_come_back_when_it_is_cancelled(client, app, catalogue,
                                                                 verified):
    schedule_id = catalogue["schedule"](fee_fen=5000)
    person, = verified(1)
    grant(app, person["id"], 300, ref=1)
    body = book(client, person, schedule_id, points=300).get_json()
    assert balance(app, person["id"]) == 0
    client.post(f"/api/v1/registrations/{body['registration']['id']}/cancel",
                headers=person["headers"])
    run_jobs(app)  # the payment closes at WeChat, then here: on_closed gives the points back
    assert payment_state(app, body["payment"]["id"])["status"] == "closed"
    assert balance(app, person["id"]) == 300
    assert ledger_problems(app) == []


@pytest.mark.parametrize("held, points, status, code", [
    (2000, 1001, 422, "points_over_limit"),   # over 20 % of 50 元
    (500, 600, 409, "points_insufficient"),   # more than held
    (0, 1, 409, "points_insufficient"),
])
def test_refused_points_change_nothing_and_give_the_slot_back(client, app, catalogue, verified,
                                                              held, points, status, code):
    schedule_id = catalogue["schedule"](total=1, fee_fen=5000)
    person, other = verified(2)
    if held:
        grant(app, person["id"], held, ref=1)
    before = row_counts(app)
    response = book(client, person, schedule_id, points=points)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == code
    if code == "points_over_limit":
        assert error["details"]["max_points"] == 1000
    assert row_counts(app) == before
    assert schedule_row(app, schedule_id)["available"] == 1
    assert balance(app, person["id"]) == held
    # the gate's ticket went back: the one slot is still bookable
    assert book(client, other, schedule_id).status_code == 201


@pytest.mark.parametrize("points", [-1, "10", 1.5, True])
def test_points_must_be_a_whole_number(client, app, catalogue, verified, points):
    schedule_id = catalogue["schedule"]()
    person, = verified(1)
    before = row_counts(app)
    response = book(client, person, schedule_id, points=points)
    assert response.status_code == 422
    assert "points" in response.get_json()["error"]["details"]
    assert row_counts(app) == before


def test_points_never_take_the_whole_price(app, verified):
    from app.points.services import max_points_for

    with app.app_context():
        assert max_points_for(5000) == 1000
        assert max_points_for(1) == 0
        app.config["POINTS_MAX_SHARE_PERCENT"] = 100
        try:
            assert max_points_for(5000) == 4999  # a payment is at least 1 fen
        finally:
            app.config["POINTS_MAX_SHARE_PERCENT"] = 20
        db.session.remove()


# ---- earn ----------------------------------------------------------------------------------

def test_a_visit_earns_once_and_a_full_refund_takes_it_back(client, app, catalogue, verified,
                                                           staff_factory):
    from app.booking.models import Registration
    from app.points import services

    from tests.booking.test_booking import open_until_late

    open_until_late(app, catalogue["hospital_id"])
    schedule_id = catalogue["schedule"](days_ahead=1)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    registration_id = body["registration"]["id"]
    with app.app_context():
        db.session.get(Registration, registration_id).visit_date = local_now().date()
        db.session.commit()
        db.session.remove()
    operator = staff_factory("operator")
    visited = client.post(f"/api/v1/staff/registrations/{registration_id}/visited",
                          headers=operator["headers"])
    assert visited.status_code == 200, visited.get_json()
    assert balance(app, person["id"]) == 10
    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        assert services.earn_for_visit(registration) is None  # already earned
        db.session.commit()
        assert services.earned_since(person["id"], utcnow() - timedelta(days=1)) == 10
        assert services.earned_since(person["id"], utcnow() + timedelta(seconds=5)) == 0
        services.reverse_order("registration", registration_id)
        services.reverse_order("registration", registration_id)  # once
        db.session.commit()
        assert services.earned_since(person["id"], utcnow() - timedelta(days=1)) == 0
        db.session.remove()
    assert balance(app, person["id"]) == 0
    assert ledger_problems(app) == []


def test_a_reverse_earn_never_takes_the_balance_below_zero(app, verified):
    from app.points import services

    person, = verified(1)
    grant(app, person["id"], 100, ref=7)
    with app.app_context():
        services.spend_for_order(SimpleNamespace(id=person["id"]), "test", 1, price_fen=100_000,
                                 points=80)
        db.session.commit()
        transaction = services.reverse_earn("grant", 7)
        db.session.commit()
        assert transaction.points == -20
        db.session.remove()
    assert balance(app, person["id"]) == 0
    assert ledger_problems(app) == []


# ---- expiry --------------------------------------------------------------------------------

def test_points_expire_fifo_after_twelve_months_once(client, app, verified):
    from app.points import services
    from app.points.models import PointLot

    person, = verified(1)
    grant(app, person["id"], 30, ref=1, days_ago=370)   # expired
    grant(app, person["id"], 50, ref=2, days_ago=350)   # expires within 30 days
    grant(app, person["id"], 40, ref=3)
    mine = client.get(ME, headers=person["headers"]).get_json()
    assert mine["balance"] == 90  # what is past its date no longer counts, even before the job
    assert [item["points"] for item in mine["expiring_soon"]] == [50]
    with app.app_context():
        # a spend takes the oldest valid lot first (the expired one is not spent)
        services.spend_for_order(SimpleNamespace(id=person["id"]), "test", 1, price_fen=100_000,
                                 points=60)
        db.session.commit()
        remaining = dict(db.session.execute(select(PointLot.amount, PointLot.remaining)).all())
        assert remaining == {30: 0, 50: 0, 40: 30}  # the spend expired the 30 first
        db.session.remove()
    assert [k for k, _ in kinds(client, person)][:2] == ["spend", "expire"]
    with app.app_context():
        assert services.expire_due_lots() == 0  # already done
        # a refund puts the points back into the lots they came from, with their expiry
        services.reverse_spend("test", 1, now=utcnow())
        db.session.commit()
        later = utcnow() + timedelta(days=40)  # the 50-point lot's date has passed
        assert services.expire_due_lots(later) == 1
        assert services.expire_due_lots(later) == 0
        db.session.remove()
    assert balance(app, person["id"]) == 40
    assert ledger_problems(app) == []


def test_expiry_is_twelve_calendar_months(app):
    from app.points.services import add_months

    assert add_months(datetime(2026, 1, 31, 8), 12) == datetime(2027, 1, 31, 8)
    assert add_months(datetime(2024, 2, 29), 12) == datetime(2025, 2, 28)
    assert add_months(datetime(2026, 11, 30), 3) == datetime(2027, 2, 28)


# ---- reading -------------------------------------------------------------------------------

def test_my_points_pages_my_history_only(client, app, verified):
    alice, bob = verified(2)
    for ref in range(1, 6):
        grant(app, alice["id"], ref, ref=ref)
    page = client.get(f"{ME}?page=2&page_size=2", headers=alice["headers"]).get_json()
    assert page["balance"] == 15
    assert page["history"]["total"] == 5 and page["history"]["page"] == 2
    assert [t["points"] for t in page["history"]["items"]] == [3, 2]
    item = page["history"]["items"][0]
    assert item["kind"] == "earn" and item["description"] == "测试发放"
    assert item["created_at"].endswith("+08:00")
    assert item["order_type"] == "grant" and item["order_id"] == 3
    empty = client.get(ME, headers=bob["headers"]).get_json()
    assert empty == {"balance": 0, "expiring_soon": [],
                     "history": {"items": [], "page": 1, "page_size": 20, "total": 0}}
    assert client.get(ME).status_code == 401
    assert client.get(f"{ME}?page_size=101", headers=alice["headers"]).status_code == 422


# ---- rules ---------------------------------------------------------------------------------

DEFAULTS = {"points_per_visit": 10, "points_per_yuan": 1, "fen_per_point": 1,
            "max_share_percent": 20, "expire_months": 12}


def test_admins_change_the_rules_within_bounds(client, app, staff_factory, verified):
    admin, operator = staff_factory("admin"), staff_factory("operator")
    assert client.get(RULES, headers=admin["headers"]).get_json() == DEFAULTS
    assert client.get(RULES, headers=operator["headers"]).status_code == 403
    assert client.patch(RULES, headers=operator["headers"],
                        json={"points_per_visit": 5}).status_code == 403
    changed = client.patch(RULES, headers=admin["headers"], json={"points_per_visit": 20})
    assert changed.status_code == 200 and changed.get_json() == {**DEFAULTS,
                                                                 "points_per_visit": 20}
    before = row_counts(app)
    for body in ({"max_share_percent": 101}, {"fen_per_point": 0}, {"expire_months": "12"},
                 {"points_per_yuan": True}, {"unknown": 1}):
        refused = client.patch(RULES, headers=admin["headers"], json=body)
        assert refused.status_code == 422, body
    nothing = client.patch(RULES, headers=admin["headers"], json={})
    assert nothing.status_code == 422
    assert nothing.get_json()["error"]["code"] == "nothing_to_change"
    assert row_counts(app) == before
    with app.app_context():
        from app.points.services import max_points_for
        from app.settings.points_rules import points_rules
        assert points_rules()["points_per_visit"] == 20
        assert max_points_for(5000) == 1000
        db.session.remove()
