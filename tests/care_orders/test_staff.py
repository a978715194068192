"""Staff and care orders, through HTTP: search, detail, reassign by hand, cancel with a refund
staff choose, and the care policy (read, change, and the next quote follows it)."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.common.time import utcnow
from app.extensions import db
from tests.care_orders.conftest import (API, CAREGIVER_API, book, busy_blocks, local_midnight,
                                        money, order_body, order_row, paid_order, run_jobs,
                                        set_order)
from tests.payments.conftest import wait_for

STAFF_API = "/api/v1/staff/care-orders"
POLICY_API = "/api/v1/staff/care-policy"


def unpaid_order(client, world, family, caregiver, **kwargs) -> int:
    created = book(client, family, order_body(world, family, caregiver, **kwargs))
    assert created.status_code == 201, created.get_json()
    return created.get_json()["order"]["id"]


def accept(client, caregiver, order_id):
    accepted = client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=caregiver["headers"])
    assert accepted.status_code == 200, accepted.get_json()


def ids(response):
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def notifications(app, user_id):
    from app.notifications.models import Notification

    with app.app_context():
        rows = db.session.execute(select(Notification.kind, Notification.body).where(
            Notification.user_id == user_id).order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def refunds(app, order_id):
    from app.payments.models import Payment, Refund

    with app.app_context():
        rows = db.session.execute(select(Refund.amount_fen, Refund.status).join(
            Payment, Payment.id == Refund.payment_id).where(
            Payment.order_type == "care_order", Payment.order_id == order_id)
            .order_by(Refund.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def earnings(app, order_id):
    from app.earnings.models import EarningEntry

    with app.app_context():
        rows = db.session.execute(select(
            EarningEntry.caregiver_id, EarningEntry.kind, EarningEntry.amount_fen,
            EarningEntry.commission_fen, EarningEntry.net_fen).where(
            EarningEntry.order_id == order_id).order_by(EarningEntry.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def balanced(app, order_id):
    paid, refunded, net, commission = money(app, order_id)
    return paid == refunded + net + commission


# ---- search and detail -------------------------------------------------------------------------

def test_search_filters(app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    first, second = care_world["caregiver"](), care_world["caregiver"](night_service=True)
    alice, bob = care_world["family"](), care_world["family"]("李四海")
    paid = paid_order(app, client, care_world, alice, first, days_ahead=3)
    unpaid = unpaid_order(client, care_world, bob, second, days_ahead=5)
    # local midnight: its UTC start is the day before, the local date is what staff filter on
    midnight = unpaid_order(client, care_world, alice, second, care_type="hourly",
                            days_ahead=4, hour=0, hours=2)

    everything = client.get(STAFF_API, headers=operator["headers"])
    assert ids(everything) == [midnight, unpaid, paid]  # newest first
    row = everything.get_json()["items"][2]
    assert (row["user_id"], row["caregiver_id"]) == (alice["id"], first["id"])
    assert row["patient_name"] == "王*明" and row["needs"] == "术后第三天,需协助翻身"
    assert row["bed"] == "12床" and row["caregiver"]["name"] == "王*英"

    def search(query):
        return ids(client.get(f"{STAFF_API}?{query}", headers=operator["headers"]))

    assert search("status=awaiting_acceptance") == [paid]
    assert search("status=pending_payment&status=awaiting_acceptance") == [midnight, unpaid, paid]
    assert search("status=pending_payment,completed") == [midnight, unpaid]
    order_no = row["order_no"]
    assert search(f"order_no={order_no}") == [paid]
    assert search(f"order_no={order_no[:-1]}") == []  # exact, not a prefix
    assert search(f"caregiver_id={second['id']}") == [midnight, unpaid]
    assert search(f"user_id={alice['id']}") == [midnight, paid]
    assert search(f"user_id={bob['id']}&caregiver_id={first['id']}") == []
    assert search("city_code=110100") == [midnight, unpaid, paid]
    assert search("city_code=310100") == []
    assert search("dispatch_mode=chosen") == [midnight, unpaid, paid]
    assert search("dispatch_mode=platform") == []
    day = local_midnight(0).date()
    assert search(f"start_from={day + timedelta(days=4)}") == [midnight, unpaid]
    assert search(f"start_to={day + timedelta(days=3)}") == [paid]
    assert search(f"start_from={day + timedelta(days=4)}&start_to={day + timedelta(days=4)}") \
        == [midnight]
    paged = client.get(f"{STAFF_API}?page=2&page_size=2", headers=operator["headers"]).get_json()
    assert [item["id"] for item in paged["items"]] == [paid] and paged["total"] == 3

    for bad in ("status=lost", f"start_from={day + timedelta(days=5)}&start_to={day}",
                "caregiver_id=0", "city_code=abc", "dispatch_mode=any", "start_from=tomorrow",
                # found by the contract check: year 1 overflowed the UTC conversion (a 500)
                "start_from=0001-01-01", "start_to=9999-12-31"):
        refused = client.get(f"{STAFF_API}?{bad}", headers=operator["headers"])
        assert refused.status_code == 422, (bad, refused.get_json())


def test_detail_tells_the_whole_story(app, client, care_world, staff_factory):
    from app.care_disputes.models import CareDispute

    operator = staff_factory("operator")
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, caregiver)
    accept(client, caregiver, order_id)

    response = client.get(f"{STAFF_API}/{order_id}", headers=operator["headers"])
    assert response.status_code == 200, response.get_json()
    detail = response.get_json()
    assert detail["status"] == "accepted" and detail["user_id"] == family["id"]
    assert detail["caregiver_id"] == caregiver["id"] and detail["address"] is None
    assert [event["kind"] for event in detail["timeline"]] == ["created", "paid", "accepted"]
    [assignment] = detail["assignments"]
    assert assignment["caregiver_id"] == caregiver["id"] and assignment["caregiver_name"] == "王*英"
    assert (assignment["status"], assignment["by"], assignment["quote_fen"]) == (
        "accepted", "family", 30000)
    assert assignment["decided_at"] and assignment["deadline"] and assignment["reason"] is None
    assert detail["payment"]["status"] == "paid" and detail["payment"]["amount_fen"] == 30000
    assert detail["payment"]["refunded_fen"] == 0 and detail["payment"]["paid_at"]
    assert detail["refunds"] == [] and detail["dispute"] is None
    assert detail["service_record_count"] == 0

    with app.app_context():
        db.session.add(CareDispute(order_id=order_id, opened_by="family",
                                   opened_by_user_id=family["id"], text="护工迟到两小时",
                                   evidence_file_ids=[], status="open"))
        db.session.commit()
        db.session.remove()
    dispute = client.get(f"{STAFF_API}/{order_id}", headers=operator["headers"]).get_json()[
        "dispute"]
    assert (dispute["status"], dispute["opened_by"], dispute["outcome"]) == (
        "open", "family", None)

    missing = client.get(f"{STAFF_API}/{order_id + 1000}", headers=operator["headers"])
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "care_order_not_found"


def test_unpaid_detail_shows_the_open_payment(app, client, care_world,
                                                             staff_factory):
    operator = staff_factory("operator")
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = unpaid_order(client, care_world, family, caregiver)
    detail = client.get(f"{STAFF_API}/{order_id}", headers=operator["headers"]).get_json()
    assert detail["status"] == "pending_payment" and detail["assignments"] == []
    assert detail["payment"]["status"] == "created" and detail["payment"]["paid_at"] is None


# ---- reassign ----------------------------------------------------------------------------------

def test_reassign_to_a_cheaper_caregiver_moves_the_time_and_refunds_the_difference(
        app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    first = care_world["caregiver"]()
    cheaper = care_world["caregiver"](prices={"full_day": 25000})
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, first)
    accept(client, first, order_id)
    assert [block[0] for block in busy_blocks(app, order_id)] == [first["id"]]

    moved = client.post(f"{STAFF_API}/{order_id}/reassign", headers=operator["headers"],
                        json={"caregiver_id": cheaper["id"], "reason": "原护工临时住院"})
    assert moved.status_code == 200, moved.get_json()
    detail = moved.get_json()
    assert detail["status"] == "awaiting_acceptance" and detail["caregiver_id"] == cheaper["id"]
    assert detail["acceptance_deadline"] and detail["refunded_fen"] == 5000
    assert [(a["caregiver_id"], a["status"], a["by"], a["quote_fen"])
            for a in detail["assignments"]] == [(first["id"], "withdrawn", "family", 30000),
                                                (cheaper["id"], "offered", "staff", 25000)]
    assert detail["assignments"][0]["reason"] == "原护工临时住院"
    assert (detail["timeline"][-1]["kind"], detail["timeline"][-1]["actor"],
            detail["timeline"][-1]["note"]) == ("reassigned", "staff", "原护工临时住院")
    assert [(r["amount_fen"], r["status"]) for r in detail["refunds"]] == [(5000, "processing")]

    # the busy block moved: the old caregiver no longer has the order nor its time
    assert [block[0] for block in busy_blocks(app, order_id)] == [cheaper["id"]]
    assert client.get(f"{CAREGIVER_API}/{order_id}", headers=first["headers"]).status_code == 404
    schedule = client.get(f"{CAREGIVER_API}?view=schedule", headers=first["headers"]).get_json()
    assert schedule["items"] == []
    inbox = client.get(f"{CAREGIVER_API}?view=inbox", headers=cheaper["headers"]).get_json()
    assert [item["id"] for item in inbox["items"]] == [order_id]
    assert [kind for kind, _ in notifications(app, first["user_id"])][-1] == \
        "care_order_reassigned"
    family_kinds = [kind for kind, _ in notifications(app, family["id"])]
    assert "care_order_reassigned" in family_kinds

    # the new caregiver accepts as any other; the family's money adds up
    accept(client, cheaper, order_id)
    run_jobs(app)
    assert wait_for(lambda: refunds(app, order_id) == [(5000, "succeeded")])
    paid, refunded, _net, _commission = money(app, order_id)
    assert (paid, refunded) == (30000, 5000)
    assert order_row(app, order_id)["status"] == "accepted"


def test_reassign_refusals_change_nothing(app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    current = care_world["caregiver"]()
    dearer = care_world["caregiver"](prices={"full_day": 35000})
    booked = care_world["caregiver"]()
    elsewhere = care_world["caregiver"](city_code="310100", districts=("310101",),
                                        hospital_ids=())
    no_full_day = care_world["caregiver"](prices={"hourly": 5000})
    suspended = care_world["caregiver"](status="suspended")
    family, other = care_world["family"](), care_world["family"]("赵钱孙")
    order_id = paid_order(app, client, care_world, family, current)
    unpaid_order(client, care_world, other, booked)  # holds booked's time (same window)
    before = (order_row(app, order_id), busy_blocks(app, order_id), refunds(app, order_id))

    def refused(caregiver_id, status, code, headers=None):
        response = client.post(f"{STAFF_API}/{order_id}/reassign",
                               headers=headers or operator["headers"],
                               json={"caregiver_id": caregiver_id, "reason": "改派测试"})
        assert response.status_code == status, response.get_json()
        assert response.get_json()["error"]["code"] == code
        assert (order_row(app, order_id), busy_blocks(app, order_id),
                refunds(app, order_id)) == before

    refused(dearer["id"], 409, "caregiver_price_too_high")
    refused(booked["id"], 409, "caregiver_busy")
    refused(current["id"], 409, "same_caregiver")
    refused(elsewhere["id"], 409, "outside_service_area")
    refused(no_full_day["id"], 409, "care_type_not_offered")
    refused(suspended["id"], 404, "caregiver_not_found")
    refused(999999, 404, "caregiver_not_found")
    missing = client.post(f"{STAFF_API}/{order_id + 1000}/reassign", headers=operator["headers"],
                          json={"caregiver_id": dearer["id"], "reason": "改派测试"})
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "care_order_not_found"

    # not staff, or staff without the operator role
    response = client.post(f"{STAFF_API}/{order_id}/reassign", headers=family["headers"],
                           json={"caregiver_id": booked["id"], "reason": "改派测试"})
    assert response.status_code == 401
    reviewer = staff_factory("reviewer")
    refused(dearer["id"], 403, "forbidden", headers=reviewer["headers"])
    for body in ({"caregiver_id": dearer["id"]}, {"caregiver_id": "1", "reason": "改派测试"},
                 {"caregiver_id": dearer["id"], "reason": "改"}):
        bad = client.post(f"{STAFF_API}/{order_id}/reassign", headers=operator["headers"],
                          json=body)
        assert bad.status_code == 422, bad.get_json()

    # once the service has started (or its start has passed) the order stays where it is
    free = care_world["caregiver"]()
    set_order(app, order_id, start_at=utcnow() - timedelta(minutes=1))
    before = (order_row(app, order_id), busy_blocks(app, order_id), refunds(app, order_id))
    refused(free["id"], 409, "reassign_not_allowed")


def test_reassign_an_unpaid_or_finished_order_is_refused(app, client, care_world,
                                                        staff_factory):
    operator = staff_factory("operator")
    caregiver, free = care_world["caregiver"](), care_world["caregiver"]()
    family = care_world["family"]()
    order_id = unpaid_order(client, care_world, family, caregiver)
    response = client.post(f"{STAFF_API}/{order_id}/reassign", headers=operator["headers"],
                           json={"caregiver_id": free["id"], "reason": "改派测试"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "reassign_not_allowed"
    assert order_row(app, order_id)["caregiver_id"] == caregiver["id"]


def test_reassign_an_order_waiting_for_dispatch_and_never_to_who_refused_it(
        app, client, care_world, staff_factory):
    operator = staff_factory("admin")  # admins hold every role
    first, second = care_world["caregiver"](), care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, first)
    rejected = client.post(f"{CAREGIVER_API}/{order_id}/reject", json={"reason": "临时有事"},
                           headers=first["headers"])
    assert rejected.status_code == 200, rejected.get_json()
    assert order_row(app, order_id)["caregiver_id"] is None  # the dispatch job has not run

    back = client.post(f"{STAFF_API}/{order_id}/reassign", headers=operator["headers"],
                       json={"caregiver_id": first["id"], "reason": "再问问原护工"})
    assert back.status_code == 409
    assert back.get_json()["error"]["code"] == "caregiver_declined_before"

    moved = client.post(f"{STAFF_API}/{order_id}/reassign", headers=operator["headers"],
                        json={"caregiver_id": second["id"], "reason": "人工派单"})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["refunded_fen"] == 0  # same price: nothing to give back
    run_jobs(app)  # the dispatch job queued by the rejection finds the order taken
    row = order_row(app, order_id)
    assert (row["status"], row["caregiver_id"]) == ("awaiting_acceptance", second["id"])
    assert [block[0] for block in busy_blocks(app, order_id)] == [second["id"]]
    assert refunds(app, order_id) == []


def test_concurrent_reassignments_and_an_acceptance_leave_one_holder(app, client, care_world,
                                                                    staff_factory):
    """Two staff move one order to two caregivers while its caregiver accepts it, over the live
    server (real concurrency on MariaDB): each answer is a documented one, and the order ends
    with one caregiver, holding the only busy block and the only open offer."""
    import threading

    import requests

    from app.care_orders.models import CareAssignment

    operators = [staff_factory("operator"), staff_factory("operator")]
    family = care_world["family"]()
    base = app.config["LIVE_URL"]
    for round_ in range(3):
        first, second, third = (care_world["caregiver"]() for _ in range(3))
        order_id = paid_order(app, client, care_world, family, first, days_ahead=3 + round_)
        barrier = threading.Barrier(3)
        answers = {}

        def call(name, url, headers, body=None):
            barrier.wait()
            answers[name] = requests.post(base + url, json=body, headers=headers,
                                          timeout=30).status_code

        threads = [threading.Thread(target=call, args=args) for args in (
            ("second", f"{STAFF_API}/{order_id}/reassign", operators[0]["headers"],
             {"caregiver_id": second["id"], "reason": "并发改派"}),
            ("third", f"{STAFF_API}/{order_id}/reassign", operators[1]["headers"],
             {"caregiver_id": third["id"], "reason": "并发改派"}),
            ("accept", f"{CAREGIVER_API}/{order_id}/accept", first["headers"]))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers["second"] in (200, 409) and answers["third"] in (200, 409), answers
        assert answers["accept"] in (200, 404), answers
        row = order_row(app, order_id)
        assert row["status"] in ("awaiting_acceptance", "accepted")
        assert busy_blocks(app, order_id) == [(row["caregiver_id"], row["start_at"],
                                              row["end_at"])]
        with app.app_context():
            open_offers = db.session.scalars(select(CareAssignment.caregiver_id).where(
                CareAssignment.order_id == order_id,
                CareAssignment.status.in_(("offered", "accepted")))).all()
            db.session.remove()
        assert open_offers == [row["caregiver_id"]], (answers, open_offers)


# ---- cancel ------------------------------------------------------------------------------------

def test_cancel_with_a_partial_refund_books_the_rest_to_the_caregiver(
        app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, caregiver)
    accept(client, caregiver, order_id)

    too_much = client.post(f"{STAFF_API}/{order_id}/cancel", headers=operator["headers"],
                           json={"refund_fen": 30001, "reason": "家属要求"})
    assert too_much.status_code == 422
    assert too_much.get_json()["error"]["code"] == "refund_exceeds_kept"
    assert order_row(app, order_id)["status"] == "accepted" and refunds(app, order_id) == []

    cancelled = client.post(f"{STAFF_API}/{order_id}/cancel", headers=operator["headers"],
                            json={"refund_fen": 10000, "reason": "患者转院,协商退款"})
    assert cancelled.status_code == 200, cancelled.get_json()
    detail = cancelled.get_json()
    assert detail["status"] == "cancelled" and detail["cancel_reason"] == "患者转院,协商退款"
    assert detail["refunded_fen"] == 10000
    assert [(r["amount_fen"], r["status"], r["requested_by"]) for r in detail["refunds"]] == [
        (10000, "processing", f"staff:{operator['id']}")]
    assert (detail["timeline"][-1]["kind"], detail["timeline"][-1]["actor"]) == (
        "cancelled", "staff")
    assert refunds(app, order_id) == [(10000, "processing")]
    # kept 20000: the platform's 20 % commission, the caregiver the rest
    assert earnings(app, order_id) == [(caregiver["id"], "staff_cancellation", 20000, 4000,
                                        16000)]
    assert balanced(app, order_id)
    assert busy_blocks(app, order_id) == []
    assert "care_order_cancelled" in [kind for kind, _ in notifications(app, family["id"])]
    assert "care_order_cancelled" in [kind for kind, _ in
                                      notifications(app, caregiver["user_id"])]

    again = client.post(f"{STAFF_API}/{order_id}/cancel", headers=operator["headers"],
                        json={"reason": "重复取消"})
    assert again.status_code == 409
    run_jobs(app)
    assert wait_for(lambda: refunds(app, order_id) == [(10000, "succeeded")])
    assert balanced(app, order_id)


def test_cancel_defaults_to_a_full_refund_and_closes_an_unpaid_order(
        app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    offered = paid_order(app, client, care_world, family, caregiver, days_ahead=3)
    cancelled = client.post(f"{STAFF_API}/{offered}/cancel", headers=operator["headers"],
                            json={"reason": "护工资质复查"})
    assert cancelled.status_code == 200, cancelled.get_json()
    detail = cancelled.get_json()
    assert detail["refunded_fen"] == 30000
    assert [a["status"] for a in detail["assignments"]] == ["withdrawn"]
    assert earnings(app, offered) == [] and balanced(app, offered)
    assert client.get(f"{CAREGIVER_API}?view=inbox",
                      headers=caregiver["headers"]).get_json()["items"] == []

    unpaid = unpaid_order(client, care_world, family, caregiver, days_ahead=5)
    refused = client.post(f"{STAFF_API}/{unpaid}/cancel", headers=operator["headers"],
                          json={"refund_fen": 100, "reason": "重复下单"})
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "nothing_to_refund"
    closed = client.post(f"{STAFF_API}/{unpaid}/cancel", headers=operator["headers"],
                         json={"reason": "重复下单"})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["status"] == "cancelled" and busy_blocks(app, unpaid) == []
    run_jobs(app)  # the payment's close job
    assert closed.get_json()["payment"]["status"] == "created"
    detail = client.get(f"{STAFF_API}/{unpaid}", headers=operator["headers"]).get_json()
    assert detail["payment"]["status"] == "closed" and detail["refunds"] == []


def test_cancel_an_order_without_a_caregiver_must_refund_everything(
        app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, caregiver)
    client.post(f"{CAREGIVER_API}/{order_id}/reject", json={"reason": "临时有事"},
                headers=caregiver["headers"])
    partial = client.post(f"{STAFF_API}/{order_id}/cancel", headers=operator["headers"],
                          json={"refund_fen": 100, "reason": "无人接单"})
    assert partial.status_code == 422
    assert partial.get_json()["error"]["code"] == "full_refund_required"
    full = client.post(f"{STAFF_API}/{order_id}/cancel", headers=operator["headers"],
                       json={"reason": "无人接单"})
    assert full.status_code == 200 and full.get_json()["refunded_fen"] == 30000
    assert balanced(app, order_id)


def test_non_staff_cannot_search_cancel_or_change_the_policy(app, client, care_world,
                                                            staff_factory):
    from tests.conftest import row_counts

    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, caregiver)
    reviewer = staff_factory("reviewer")
    operator = staff_factory("operator")
    before = row_counts(app)
    calls = [("get", STAFF_API, None), ("get", f"{STAFF_API}/{order_id}", None),
             ("post", f"{STAFF_API}/{order_id}/cancel", {"reason": "越权取消"}),
             ("get", POLICY_API, None), ("put", POLICY_API, {"commission_bp": 0})]
    for method, url, body in calls:
        assert getattr(client, method)(url, json=body).status_code == 401, url
        assert getattr(client, method)(url, json=body, headers=family["headers"]) \
            .status_code == 401, url
        assert getattr(client, method)(url, json=body, headers=reviewer["headers"]) \
            .status_code == 403, url
    changed = client.put(POLICY_API, json={"commission_bp": 0}, headers=operator["headers"])
    assert changed.status_code == 403
    assert row_counts(app) == before
    assert order_row(app, order_id)["status"] == "awaiting_acceptance"


# ---- the care policy ---------------------------------------------------------------------------

def test_policy_read_update_and_the_next_quote_follows_it(app, client, care_world,
                                                         staff_factory):
    operator, admin = staff_factory("operator"), staff_factory("admin")
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    body = order_body(care_world, family, caregiver, hours=72)  # 3 days

    policy = client.get(POLICY_API, headers=operator["headers"])
    assert policy.status_code == 200
    assert policy.get_json() == app.config["CARE_POLICY"]
    before = client.post(f"{API}/quote", json=body, headers=family["headers"]).get_json()
    assert (before["discount_bp"], before["total_fen"]) == (0, 90000)
    platform_body = {**body}
    platform_body.pop("caregiver_id")
    platform = client.post(f"{API}/quote", json=platform_body, headers=family["headers"])
    assert platform.get_json()["unit_price_fen"] == 30000

    changed = client.put(POLICY_API, headers=admin["headers"], json={
        "long_order_discounts": [[30, 1000], [3, 500]], "urgent_surcharge_bp": 3000,
        "dispatch_prices": {"full_day": 32000}})
    assert changed.status_code == 200, changed.get_json()
    saved = changed.get_json()
    assert saved["long_order_discounts"] == [[3, 500], [30, 1000]]
    assert saved["urgent_surcharge_bp"] == 3000
    assert saved["dispatch_prices"] == {**app.config["CARE_POLICY"]["dispatch_prices"],
                                        "full_day": 32000}
    assert saved["commission_bp"] == app.config["CARE_POLICY"]["commission_bp"]
    assert client.get(POLICY_API, headers=operator["headers"]).get_json() == saved

    after = client.post(f"{API}/quote", json=body, headers=family["headers"]).get_json()
    assert (after["discount_bp"], after["discount_fen"], after["total_fen"]) == (
        500, 4500, 85500)
    platform = client.post(f"{API}/quote", json=platform_body, headers=family["headers"])
    assert platform.get_json()["unit_price_fen"] == 32000

    # a second partial change keeps the first one's values
    again = client.put(POLICY_API, headers=admin["headers"], json={"commission_bp": 1500})
    assert again.status_code == 200
    assert again.get_json() == {**saved, "commission_bp": 1500}


@pytest.mark.parametrize("body,field", [
    ({"colour": 1}, "colour"),
    ({"commission_bp": 10001}, "commission_bp"),
    ({"commission_bp": -1}, "commission_bp"),
    ({"commission_bp": "2000"}, "commission_bp"),
    ({"commission_bp": 2000.5}, "commission_bp"),
    ({"commission_bp": True}, "commission_bp"),
    ({"commission_bp": None}, "commission_bp"),
    ({"accept_minutes": 0}, "accept_minutes"),
    ({"max_dispatches": 1000}, "max_dispatches"),
    ({"settlement_hold_days": 0}, "settlement_hold_days"),
    ({"long_order_discounts": [[7, 500]] * 3 + [[8, 1], [9, 1], [10, 1]]},
     "long_order_discounts"),
    ({"long_order_discounts": [[0, 500]]}, "long_order_discounts"),
    ({"long_order_discounts": [[7, 5001]]}, "long_order_discounts"),
    ({"long_order_discounts": [[7, 500], [7, 800]]}, "long_order_discounts"),
    ({"long_order_discounts": [[7]]}, "long_order_discounts"),
    ({"long_order_discounts": [["7", 500]]}, "long_order_discounts"),
    ({"long_order_discounts": 7}, "long_order_discounts"),
    ({"dispatch_prices": {"full_day": 1000}}, "dispatch_prices"),
    ({"dispatch_prices": {"full_day": 1000000}}, "dispatch_prices"),
    ({"dispatch_prices": {"massage": 10000}}, "dispatch_prices"),
    ({"dispatch_prices": {"hourly": "6000"}}, "dispatch_prices"),
    ({}, None),
])
def test_policy_validation(app, client, staff_factory, body, field):
    from tests.conftest import row_counts

    admin = staff_factory("admin")
    before = row_counts(app)
    response = client.put(POLICY_API, json=body, headers=admin["headers"])
    assert response.status_code == 422, response.get_json()
    if field:
        assert field in response.get_json()["error"]["details"], response.get_json()
    assert row_counts(app) == before
    assert client.get(POLICY_API, headers=admin["headers"]).get_json() == \
        app.config["CARE_POLICY"]


def test_every_policy_key_is_editable_and_shown(app):
    from app.care_orders.staff_schemas import CarePolicySchema, CarePolicyUpdateSchema

    keys = set(app.config["CARE_POLICY"])
    assert set(CarePolicySchema().fields) == keys
    assert set(CarePolicyUpdateSchema().fields) == keys
