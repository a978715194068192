"""Acceptance deadlines, re-dispatch and platform dispatch: who gets the order, when, and
the family's money when nobody can take it."""
from datetime import timedelta

from sqlalchemy import select

from app.common.time import utcnow
from app.extensions import db
from tests.care_orders.conftest import (API, CAREGIVER_API, book, busy_blocks, money,
                                        order_body, order_row, paid_order, pay, run_jobs,
                                        served_order, set_order)


def assignments(app, order_id):
    from app.care_orders.models import CareAssignment

    with app.app_context():
        rows = [(a.caregiver_id, a.status, a.by) for a in db.session.scalars(
            select(CareAssignment).where(CareAssignment.order_id == order_id)
            .order_by(CareAssignment.id))]
        db.session.remove()
    return rows


def sweep(app):
    """What the cron's minute sweep does, run now (then any job it enqueued)."""
    from app.tasks.care_orders import sweep_care_orders

    with app.app_context():
        result = sweep_care_orders()
        db.session.remove()
    run_jobs(app)
    return result


def test_an_unanswered_offer_goes_to_the_next_caregiver_at_its_deadline(app, client,
                                                                         care_world):
    first = care_world["caregiver"]()
    second = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, first)
    row = order_row(app, order_id)
    assert row["acceptance_deadline"] is not None
    assert sweep(app)["dispatched"] == 0  # not due yet: nothing moves
    assert order_row(app, order_id)["caregiver_id"] == first["id"]

    set_order(app, order_id, acceptance_deadline=utcnow() - timedelta(seconds=1))
    late = client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=first["headers"])
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "offer_expired"
    sweep(app)
    row = order_row(app, order_id)
    assert row["status"] == "awaiting_acceptance" and row["caregiver_id"] == second["id"]
    assert assignments(app, order_id) == [(first["id"], "timed_out", "family"),
                                          (second["id"], "offered", "match")]
    assert [b[0] for b in busy_blocks(app, order_id)] == [second["id"]]
    # the first caregiver lost it: not in their inbox, not theirs to accept
    inbox = client.get(f"{CAREGIVER_API}?view=inbox", headers=first["headers"]).get_json()
    assert inbox["total"] == 0
    assert client.post(f"{CAREGIVER_API}/{order_id}/accept",
                       headers=first["headers"]).status_code == 404
    accepted = client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=second["headers"])
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    # running the sweep and the jobs again changes nothing (idempotent)
    sweep(app)
    assert order_row(app, order_id)["status"] == "accepted"


def test_nobody_free_means_a_full_refund(app, client, care_world):
    only = care_world["caregiver"]()
    care_world["caregiver"](prices={"full_day": 99000})  # free but dearer than the family paid
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, only)
    set_order(app, order_id, acceptance_deadline=utcnow() - timedelta(seconds=1))
    sweep(app)
    row = order_row(app, order_id)
    assert row["status"] == "refunded" and row["caregiver_id"] is None
    assert busy_blocks(app, order_id) == []
    paid, refunded, net, commission = money(app, order_id)
    assert paid == refunded == row["total_fen"] and net == commission == 0
    detail = client.get(f"{API}/{order_id}", headers=family["headers"]).get_json()
    assert [event["kind"] for event in detail["timeline"]] == [
        "created", "paid", "timed_out", "refunded"]


def test_a_rejecting_caregiver_is_never_offered_the_order_again(app, client, care_world):
    first = care_world["caregiver"]()
    second = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, first)
    assert client.post(f"{CAREGIVER_API}/{order_id}/reject", json={"reason": "家中有事"},
                       headers=first["headers"]).status_code == 200
    run_jobs(app)
    assert order_row(app, order_id)["caregiver_id"] == second["id"]
    assert client.post(f"{CAREGIVER_API}/{order_id}/reject", json={"reason": "时间冲突"},
                       headers=second["headers"]).status_code == 200
    run_jobs(app)
    row = order_row(app, order_id)
    assert row["status"] == "refunded"  # the first one said no already: nobody is left
    assert [a[:2] for a in assignments(app, order_id)] == [
        (first["id"], "rejected"), (second["id"], "rejected")]


def test_platform_dispatch_ranks_skills_then_hospital_then_distance_rating_price(
        app, client, care_world):
    family = care_world["family"]()
    hospital = care_world["hospital_id"]
    # all free; each loses to the next on exactly one criterion, in the documented order
    no_skill = care_world["caregiver"](skills=("elderly",), rating_avg=5.0)
    elsewhere = care_world["caregiver"](skills=("post_surgery", "rehabilitation"),
                                        hospital_ids=(), rating_avg=5.0)
    far = care_world["caregiver"](skills=("post_surgery", "rehabilitation"), latitude=40.30,
                                  longitude=116.40, rating_avg=5.0)
    low_rated = care_world["caregiver"](skills=("post_surgery", "rehabilitation"),
                                        rating_avg=4.0)
    dear = care_world["caregiver"](skills=("post_surgery", "rehabilitation"), rating_avg=4.8,
                                   prices={"full_day": 29000})
    best = care_world["caregiver"](skills=("post_surgery", "rehabilitation"), rating_avg=4.8,
                                   prices={"full_day": 26000})
    body = order_body(care_world, family, None, skills=["post_surgery", "rehabilitation"])
    quote = client.post(f"{API}/quote", json=body, headers=family["headers"]).get_json()
    assert quote["dispatch_mode"] == "platform" and quote["unit_price_fen"] == 30000
    created = book(client, family, body)
    assert created.status_code == 201, created.get_json()
    order_id = created.get_json()["order"]["id"]
    assert order_row(app, order_id)["caregiver_id"] is None
    assert busy_blocks(app, order_id) == []  # nobody's time is held before payment
    pay(app, created.get_json())
    run_jobs(app)
    row = order_row(app, order_id)
    assert row["caregiver_id"] == best["id"], (row, {"no_skill": no_skill["id"],
                                                     "elsewhere": elsewhere["id"],
                                                     "far": far["id"], "low": low_rated["id"],
                                                     "dear": dear["id"]})
    # the family took the platform's price; whoever takes it works for that price
    assert row["refunded_fen"] == 0
    # when the best one says no, the next in line gets it: rating comes before price
    assert client.post(f"{CAREGIVER_API}/{order_id}/reject", json={"reason": "临时有事"},
                       headers=best["headers"]).status_code == 200
    run_jobs(app)
    assert order_row(app, order_id)["caregiver_id"] == dear["id"]


def test_a_platform_order_nobody_could_take_is_refused_before_payment(app, client, care_world):
    family = care_world["family"]()
    care_world["caregiver"](prices={"hourly": 5000})  # offers no full-day care
    response = book(client, family, order_body(care_world, family, None))
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "no_caregiver_available"


def test_auto_completion_after_the_family_is_silent(app, client, care_world):
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = served_order(app, client, care_world, family, caregiver)
    assert sweep(app)["completed"] == 0
    set_order(app, order_id, ended_at=utcnow() - timedelta(hours=24, minutes=1))
    assert sweep(app)["completed"] == 1
    assert order_row(app, order_id)["status"] == "completed"
    paid, refunded, net, commission = money(app, order_id)
    assert paid == net + commission and refunded == 0
    assert sweep(app)["completed"] == 0


def test_cancellation_policy_by_stage(app, client, care_world):
    family = care_world["family"]()
    # before acceptance: everything back
    first = care_world["caregiver"]()
    order_id = paid_order(app, client, care_world, family, first)
    assert client.post(f"{API}/{order_id}/cancel", json={"reason": "不需要了"},
                       headers=family["headers"]).status_code == 200
    paid, refunded, net, commission = money(app, order_id)
    assert refunded == paid and net == commission == 0 and busy_blocks(app, order_id) == []
    # accepted, before the start: 80 % back, the rest the caregiver's (less commission)
    second = care_world["caregiver"]()
    order_id = paid_order(app, client, care_world, family, second, days_ahead=5)
    client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=second["headers"])
    assert client.post(f"{API}/{order_id}/cancel", json={},
                       headers=family["headers"]).status_code == 200
    paid, refunded, net, commission = money(app, order_id)
    assert refunded == paid * 8000 // 10000
    assert commission == (paid - refunded) * 2000 // 10000
    assert paid == refunded + net + commission
    # started: no cancelling (a dispute is the way)
    third = care_world["caregiver"]()
    order_id = paid_order(app, client, care_world, family, third)
    client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=third["headers"])
    set_order(app, order_id, start_at=utcnow() + timedelta(minutes=5))
    client.post(f"{CAREGIVER_API}/{order_id}/start", json={}, headers=third["headers"])
    refused = client.post(f"{API}/{order_id}/cancel", json={}, headers=family["headers"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "cancel_not_allowed"
    assert order_row(app, order_id)["status"] == "in_service"
