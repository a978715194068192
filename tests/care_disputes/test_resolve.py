"""Staff resolve disputes: the refund is really reserved (Refund rows), the caregiver's ledger
follows so that paid = refunded + Σ net + Σ commission, the caregiver's time is given back
when the service had not ended; the list, the detail and the evidence; who may."""
import io
from datetime import timedelta

import pytest

from app.care_orders.pricing import share
from app.common.time import utcnow
from app.extensions import db
from tests.care_disputes.conftest import (STAFF_DISPUTES, caregiver_dispute, entries,
                                          family_dispute, notification_kinds, ok, order_at,
                                          refunds, resolve)
from tests.care_orders.conftest import busy_blocks, money, order_row, run_jobs, set_order
from tests.conftest import row_counts
from tests.payments.conftest import wait_for

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def refund_statuses(app, order_id):
    from sqlalchemy import select

    from app.payments.models import Payment, Refund

    with app.app_context():
        statuses = db.session.scalars(select(Refund.status).join(
            Payment, Payment.id == Refund.payment_id).where(
            Payment.order_type == "care_order", Payment.order_id == order_id)).all()
        db.session.remove()
    return list(statuses)


def balanced(app, order_id):
    paid, refunded, net, commission = money(app, order_id)
    assert paid == refunded + net + commission, (paid, refunded, net, commission)
    return paid, refunded, net, commission


def test_full_refund_before_the_service_gives_everything_back(app, client, care_world,
                                                               staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "accepted")
    ok(family_dispute(client, order), 201)
    resolved = ok(resolve(client, operator, order["id"], "full_refund", note="护工无法到岗"))
    assert resolved["status"] == "resolved" and resolved["outcome"] == "full_refund"
    assert resolved["refund_fen"] == order["total_fen"] and resolved["order_status"] == "resolved"
    assert resolved["note"] == "护工无法到岗" and resolved["resolved_by_staff_id"] == operator["id"]
    assert refunds(app, order["id"]) == [(order["total_fen"], f"staff:{operator['id']}")]
    assert entries(app, order["id"]) == []
    assert balanced(app, order["id"]) == (order["total_fen"], order["total_fen"], 0, 0)
    row = order_row(app, order["id"])
    assert row["status"] == "resolved" and row["refunded_fen"] == order["total_fen"]
    assert busy_blocks(app, order["id"]) == []  # the time is the caregiver's again
    for user_id in (order["family"]["id"], order["caregiver"]["user_id"]):
        assert "care_dispute_resolved" in notification_kinds(app, user_id)
    run_jobs(app)  # the refund goes to WeChat (the simulator) after the commit
    assert wait_for(lambda: refund_statuses(app, order["id"]) == ["succeeded"])


def test_partial_refund_after_completion_corrects_the_ledger(app, client, care_world,
                                                             staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "completed")
    total = order["total_fen"]
    [(kind, amount, commission, net, status, completion_due)] = entries(app, order["id"])
    assert (kind, amount, status) == ("completion", total, "pending")
    ok(caregiver_dispute(client, order), 201)
    ok(resolve(client, operator, order["id"], "partial_refund", refund_fen=12345))
    assert refunds(app, order["id"]) == [(12345, f"staff:{operator['id']}")]
    ledger = entries(app, order["id"])
    assert [entry[:5] for entry in ledger] == [
        ("completion", total, share(total, 2000), total - share(total, 2000), "pending"),
        ("dispute", -12345, -share(12345, 2000), -12345 + share(12345, 2000), "pending")]
    # the correction settles with what it corrects
    assert ledger[1][5] == completion_due
    paid, refunded, net, commission = balanced(app, order["id"])
    assert (paid, refunded) == (total, 12345) and net + commission == total - 12345


def test_no_refund_during_the_service_books_it_all_and_keeps_the_time_worked(
        app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "in_service")
    started = utcnow().replace(microsecond=0) - timedelta(hours=2)
    set_order(app, order["id"], start_at=started, end_at=started + timedelta(hours=24))
    ok(family_dispute(client, order), 201)
    assert len(busy_blocks(app, order["id"])) == 1
    asked = utcnow()
    ok(resolve(client, operator, order["id"], "no_refund"))
    assert refunds(app, order["id"]) == []
    [(kind, amount, commission, net, status, due)] = entries(app, order["id"])
    assert (kind, amount, status) == ("dispute", order["total_fen"], "pending")
    assert commission == share(order["total_fen"], 2000)
    assert due <= utcnow()  # the one dispute is over: nothing left to hold it for
    balanced(app, order["id"])
    # what was worked stays busy (as after an early end), the rest of the window is free
    [(caregiver_id, start, end)] = busy_blocks(app, order["id"])
    assert (caregiver_id, start) == (order["caregiver"]["id"], started)
    assert asked - timedelta(seconds=1) <= end <= utcnow() + timedelta(seconds=1)


def test_partial_refund_of_a_redispatched_order_counts_what_is_left(app, client, care_world,
                                                                     staff_factory):
    """kept is what the order still holds: a cheaper second caregiver already refunded part."""
    operator = staff_factory("operator")
    first = care_world["caregiver"]()
    second = care_world["caregiver"](prices={"full_day": 25000})
    order = order_at(app, client, care_world, "awaiting_acceptance", caregiver=first)
    ok(client.post(f"/api/v1/caregiver/care-orders/{order['id']}/reject",
                   json={"reason": "临时有事"}, headers=first["headers"]))
    run_jobs(app)
    assert order_row(app, order["id"])["caregiver_id"] == second["id"]
    order["caregiver"] = second
    ok(client.post(f"/api/v1/caregiver/care-orders/{order['id']}/accept",
                   headers=second["headers"]))
    ok(family_dispute(client, order), 201)
    kept = 25000
    too_much = resolve(client, operator, order["id"], "partial_refund", refund_fen=kept)
    assert too_much.status_code == 422
    assert too_much.get_json()["error"]["code"] == "invalid_refund_amount"
    ok(resolve(client, operator, order["id"], "partial_refund", refund_fen=kept - 1))
    assert [amount for amount, _ in refunds(app, order["id"])] == [5000, kept - 1]
    assert [entry[:2] for entry in entries(app, order["id"])] == [("dispute", 1)]
    balanced(app, order["id"])


def test_an_order_without_a_caregiver_can_only_be_refunded_in_full(app, client, care_world,
                                                                    staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "awaiting_acceptance")
    ok(client.post(f"/api/v1/caregiver/care-orders/{order['id']}/reject",
                   json={"reason": "临时有事"}, headers=order["caregiver"]["headers"]))
    ok(family_dispute(client, order), 201)  # before the re-dispatch job ran
    run_jobs(app)
    assert order_row(app, order["id"])["caregiver_id"] is None  # dispatch left it alone
    for outcome, amount in (("partial_refund", 100), ("no_refund", None)):
        refused = resolve(client, operator, order["id"], outcome, refund_fen=amount)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (
            409, "outcome_not_allowed")
    ok(resolve(client, operator, order["id"], "full_refund"))
    assert balanced(app, order["id"]) == (order["total_fen"], order["total_fen"], 0, 0)


@pytest.mark.parametrize("body", [
    {"outcome": "partial_refund", "note": "核实"},                       # amount missing
    {"outcome": "partial_refund", "refund_fen": 0, "note": "核实"},
    {"outcome": "partial_refund", "refund_fen": -5, "note": "核实"},
    {"outcome": "partial_refund", "refund_fen": "100", "note": "核实"},
    {"outcome": "partial_refund", "refund_fen": 30000, "note": "核实"},  # all of it: not partial
    {"outcome": "partial_refund", "refund_fen": 30001, "note": "核实"},
    {"outcome": "full_refund", "refund_fen": 100, "note": "核实"},
    {"outcome": "no_refund", "refund_fen": 100, "note": "核实"},
    {"outcome": "half", "note": "核实"},
    {"outcome": "full_refund"},
    {"outcome": "full_refund", "note": "短"},
    {"outcome": "full_refund", "note": "长" * 501},
    {"outcome": "full_refund", "note": "核实", "extra": 1},
])
def test_bad_resolutions_are_422_and_change_nothing(app, client, care_world, staff_factory,
                                                    body):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "accepted")
    assert order["total_fen"] == 30000
    ok(family_dispute(client, order), 201)
    before = row_counts(app)
    response = client.post(f"/api/v1/staff/care-orders/{order['id']}/dispute/resolve",
                           json=body, headers=operator["headers"])
    assert response.status_code == 422, response.get_json()
    assert row_counts(app) == before and order_row(app, order["id"])["status"] == "disputed"


def test_resolving_twice_and_the_wrong_order(app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "accepted")
    ok(family_dispute(client, order), 201)
    ok(resolve(client, operator, order["id"], "partial_refund", refund_fen=100))
    before = row_counts(app)
    again = resolve(client, operator, order["id"], "full_refund")
    assert (again.status_code, again.get_json()["error"]["code"]) == (
        409, "dispute_already_resolved")
    undisputed = order_at(app, client, care_world, "accepted")
    before = row_counts(app)
    missing = resolve(client, operator, undisputed["id"], "full_refund")
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (
        404, "dispute_not_found")
    unknown = resolve(client, operator, 999999, "full_refund")
    assert (unknown.status_code, unknown.get_json()["error"]["code"]) == (
        404, "care_order_not_found")
    assert row_counts(app) == before
    assert [amount for amount, _ in refunds(app, order["id"])] == [100]


def test_only_operators_resolve_and_read(app, client, care_world, staff_factory):
    reviewer = staff_factory("reviewer")
    order = order_at(app, client, care_world, "accepted")
    opened = ok(family_dispute(client, order), 201)
    before = row_counts(app)
    body = {"outcome": "full_refund", "note": "核实后处理"}
    url = f"/api/v1/staff/care-orders/{order['id']}/dispute/resolve"
    assert client.post(url, json=body).status_code == 401
    assert client.post(url, json=body, headers=order["family"]["headers"]).status_code == 401
    assert client.post(url, json=body, headers=reviewer["headers"]).status_code == 403
    for path in (STAFF_DISPUTES, f"{STAFF_DISPUTES}/{opened['id']}"):
        assert client.get(path, headers=order["family"]["headers"]).status_code == 401
        assert client.get(path, headers=reviewer["headers"]).status_code == 403
    assert row_counts(app) == before and order_row(app, order["id"])["status"] == "disputed"
    admin = staff_factory("admin")
    ok(resolve(client, admin, order["id"], "no_refund"))


def test_staff_list_detail_and_evidence(app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    first = order_at(app, client, care_world, "accepted")
    second = order_at(app, client, care_world, "completed")
    photo = ok(client.post("/api/v1/files", headers=first["family"]["headers"],
                           content_type="multipart/form-data",
                           data={"purpose": "attachment", "file": (io.BytesIO(PNG), "e.png")}),
               201)["id"]
    one = ok(family_dispute(client, first, evidence=[photo]), 201)
    two = ok(caregiver_dispute(client, second), 201)

    listed = ok(client.get(f"{STAFF_DISPUTES}?status=open", headers=operator["headers"]))
    assert [item["id"] for item in listed["items"]] == [one["id"], two["id"]]  # oldest first
    assert listed["total"] == 2 and listed["items"][0]["order_status"] == "disputed"
    assert listed["items"][1]["status_before_dispute"] == "completed"

    detail = ok(client.get(f"{STAFF_DISPUTES}/{one['id']}", headers=operator["headers"]))
    assert detail["text"] == one["text"] and detail["kept_fen"] == first["total_fen"]
    assert detail["order"]["patient_name"] == "王*明"  # masked, as both parties are
    assert detail["caregiver"]["name"] == "王*英" and detail["caregiver"]["phone"] == "137****0000"
    assert detail["caregiver"]["caregiver_id"] == first["caregiver"]["id"]
    assert detail["family"]["user_id"] == first["family"]["id"]
    assert [event["kind"] for event in detail["timeline"]][-1] == "disputed"
    [evidence] = detail["evidence"]
    assert evidence["file_id"] == photo
    download = client.get(evidence["url"], headers=operator["headers"])
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Type"] == "image/png"
    # only the dispute's own files, only for staff
    assert client.get(f"{STAFF_DISPUTES}/{two['id']}/evidence/{photo}",
                      headers=operator["headers"]).status_code == 404
    assert client.get(evidence["url"], headers=first["family"]["headers"]).status_code == 401
    assert client.get(f"{STAFF_DISPUTES}/999999", headers=operator["headers"]).status_code == 404

    ok(resolve(client, operator, second["id"], "no_refund"))
    open_now = ok(client.get(f"{STAFF_DISPUTES}?status=open", headers=operator["headers"]))
    resolved = ok(client.get(f"{STAFF_DISPUTES}?status=resolved", headers=operator["headers"]))
    everything = ok(client.get(STAFF_DISPUTES, headers=operator["headers"]))
    assert [item["id"] for item in open_now["items"]] == [one["id"]]
    assert [item["id"] for item in resolved["items"]] == [two["id"]]
    assert resolved["items"][0]["outcome"] == "no_refund"
    assert [item["id"] for item in everything["items"]] == [two["id"], one["id"]]  # newest first
    bad = client.get(f"{STAFF_DISPUTES}?status=closed", headers=operator["headers"])
    assert bad.status_code == 422


def test_resolution_holds_settlement_until_then(app, client, care_world, staff_factory):
    """A completed order's entry is not settled while disputed; after the resolution the
    entry and its correction settle together."""
    from app.earnings.services import settle_due_entries

    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "completed")
    ok(family_dispute(client, order), 201)
    later = utcnow() + timedelta(days=8)
    with app.app_context():
        assert settle_due_entries(later)["batches"] == 0
        db.session.remove()
    assert [entry[4] for entry in entries(app, order["id"])] == ["pending"]
    ok(resolve(client, operator, order["id"], "partial_refund", refund_fen=10000))
    with app.app_context():
        result = settle_due_entries(later)
        db.session.remove()
    assert result["entries"] == 2
    assert result["net_fen"] == sum(entry[3] for entry in entries(app, order["id"]))
    assert [entry[4] for entry in entries(app, order["id"])] == ["settled", "settled"]


def completed_count(app, caregiver_id):
    from app.caregivers.models import Caregiver

    with app.app_context():
        count = db.session.get(Caregiver, caregiver_id).completed_orders
        db.session.remove()
    return count


@pytest.mark.parametrize("outcome, counted", [("full_refund", 0), ("partial_refund", 1),
                                              ("no_refund", 1)])
def test_a_completed_order_refunded_in_full_no_longer_counts_as_completed(
        app, client, care_world, staff_factory, outcome, counted):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "completed")
    caregiver_id = order["caregiver"]["id"]
    assert completed_count(app, caregiver_id) == 1
    ok(family_dispute(client, order), 201)
    ok(resolve(client, operator, order["id"], outcome,
               **({"refund_fen": 100} if outcome == "partial_refund" else {})))
    assert completed_count(app, caregiver_id) == counted
    balanced(app, order["id"])
