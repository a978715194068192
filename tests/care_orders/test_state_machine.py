"""The care order state machine, table-driven: every action tried in every state. A legal
one moves the order where the table says; every other one is refused with a 4xx and a stable
code, and changes nothing (the order row, its events, assignments, busy blocks, payments,
refunds and ledger entries are compared before and after)."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.common.time import utcnow
from app.extensions import db
from tests.care_orders.conftest import (API, CAREGIVER_API, book, order_body, order_row, pay,
                                        run_jobs, set_order)

STATES = ["pending_payment", "awaiting_acceptance", "accepted", "in_service",
          "awaiting_confirmation", "completed", "closed", "cancelled", "refunded", "disputed",
          "resolved"]
ACTIONS = ["prepay", "cancel", "accept", "reject", "start", "record", "end", "confirm",
           "review", "dispute", "resolve"]
DISPUTE = {"text": "护工未按约定时间到岗,服务期间多次离开病房。", "evidence_file_ids": []}
# (state, action) → the status after it; anything missing must be refused
LEGAL = {
    ("pending_payment", "prepay"): "pending_payment",  # asking again reuses the open prepay
    ("pending_payment", "cancel"): "cancelled",
    ("awaiting_acceptance", "cancel"): "cancelled",
    ("accepted", "cancel"): "cancelled",
    ("awaiting_acceptance", "accept"): "accepted",
    ("awaiting_acceptance", "reject"): "awaiting_acceptance",  # waits for the next caregiver
    ("accepted", "start"): "in_service",
    ("in_service", "record"): "in_service",
    ("awaiting_confirmation", "record"): "awaiting_confirmation",
    ("in_service", "end"): "awaiting_confirmation",
    ("awaiting_confirmation", "confirm"): "completed",
    ("completed", "review"): "completed",
    **{(state, "dispute"): "disputed" for state in (
        "awaiting_acceptance", "accepted", "in_service", "awaiting_confirmation", "completed")},
    ("disputed", "resolve"): "resolved",
}
PATH = ["awaiting_acceptance", "accepted", "in_service", "awaiting_confirmation", "completed"]


def drive(app, client, world, family, caregiver, state, operator):
    """An order of `family` with `caregiver`, brought to `state` through the API (the
    booked start is moved to 10 minutes from now so that check-in is open)."""
    if state in ("disputed", "resolved"):  # a dispute opened while the service runs
        order_id = drive(app, client, world, family, caregiver, "in_service", operator)
        assert client.post(f"{API}/{order_id}/dispute", json=DISPUTE,
                           headers=family["headers"]).status_code == 201
        if state == "resolved":
            response = client.post(
                f"/api/v1/staff/care-orders/{order_id}/dispute/resolve",
                json={"outcome": "no_refund", "note": "双方确认已调解"},
                headers=operator["headers"])
            assert response.status_code == 200, response.get_json()
        return order_id
    created = book(client, family, order_body(world, family, caregiver, days_ahead=2,
                                              hours=24))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    order_id = body["order"]["id"]
    set_order(app, order_id, start_at=utcnow().replace(microsecond=0) + timedelta(minutes=10))
    if state == "cancelled":
        assert client.post(f"{API}/{order_id}/cancel", json={},
                           headers=family["headers"]).status_code == 200
        return order_id
    if state == "closed":
        from app.payments.services import close_unpaid_now
        with app.app_context():
            assert close_unpaid_now("care_order", order_id) == "closed"
            db.session.remove()
        return order_id
    if state == "pending_payment":
        return order_id
    pay(app, body)
    if state == "refunded":  # the only free caregiver says no: nobody left, refunded in full
        assert client.post(f"{CAREGIVER_API}/{order_id}/reject", json={"reason": "身体不适"},
                           headers=caregiver["headers"]).status_code == 200
        run_jobs(app)
        return order_id
    steps = {"accepted": ("accept", None), "in_service": ("start", {}),
             "awaiting_confirmation": ("end", None), "completed": ("confirm", None)}
    for reached in PATH[1:PATH.index(state) + 1]:
        action, payload = steps[reached]
        base = API if action == "confirm" else CAREGIVER_API
        who = family if action == "confirm" else caregiver
        response = client.post(f"{base}/{order_id}/{action}", json=payload,
                               headers=who["headers"])
        assert response.status_code == 200, (reached, response.get_json())
    return order_id


def act(client, order_id, action, family, caregiver, operator):
    if action == "review":
        return client.post(f"{API}/{order_id}/review", json={"stars": 5, "tags": ["punctual"]},
                           headers=family["headers"])
    if action == "dispute":
        return client.post(f"{API}/{order_id}/dispute", json=DISPUTE, headers=family["headers"])
    if action == "resolve":
        return client.post(f"/api/v1/staff/care-orders/{order_id}/dispute/resolve",
                           json={"outcome": "full_refund", "note": "全额退款处理"},
                           headers=operator["headers"])
    if action == "prepay":
        return client.post("/api/v1/payments/prepay", json={"order_type": "care_order",
                                                            "order_id": order_id},
                           headers=family["headers"])
    if action == "cancel":
        return client.post(f"{API}/{order_id}/cancel", json={"reason": "计划有变"},
                           headers=family["headers"])
    if action == "confirm":
        return client.post(f"{API}/{order_id}/confirm", headers=family["headers"])
    payload = {"reject": {"reason": "临时有事"}, "start": {},
               "record": {"condition": "平稳", "care_given": "喂饭"}}.get(action)
    path = "records" if action == "record" else action
    return client.post(f"{CAREGIVER_API}/{order_id}/{path}", json=payload,
                       headers=caregiver["headers"])


def snapshot(app, order_id):
    from app.availability.models import BusyBlock
    from app.care_orders.models import (CareAssignment, CareOrder, CareOrderEvent,
                                        CareServiceRecord)
    from app.care_disputes.models import CareDispute
    from app.care_reviews.models import CareReview
    from app.earnings.models import EarningEntry
    from app.payments.models import Payment, Refund

    def count(model, *where):
        return db.session.scalar(select(func.count()).select_from(model).where(*where))

    with app.app_context():
        order = db.session.get(CareOrder, order_id)
        row = {attribute.key: getattr(order, attribute.key)
               for attribute in db.inspect(CareOrder).column_attrs
               if attribute.key != "updated_at"}
        payment = db.session.scalar(select(Payment).where(Payment.order_type == "care_order",
                                                          Payment.order_id == order_id))
        state = {
            "order": row,
            "events": count(CareOrderEvent, CareOrderEvent.order_id == order_id),
            "assignments": sorted((a.caregiver_id, a.status) for a in db.session.scalars(
                select(CareAssignment).where(CareAssignment.order_id == order_id))),
            "records": count(CareServiceRecord, CareServiceRecord.order_id == order_id),
            "blocks": sorted((b.caregiver_id, b.start_at, b.end_at) for b in db.session.scalars(
                select(BusyBlock).where(BusyBlock.ref_type == "care_order",
                                        BusyBlock.ref_id == order_id))),
            "payment": (payment.status, payment.refunded_fen) if payment else None,
            "refunds": count(Refund, Refund.payment_id == (payment.id if payment else 0)),
            "ledger": count(EarningEntry, EarningEntry.order_id == order_id),
            "reviews": count(CareReview, CareReview.order_id == order_id),
            "disputes": sorted((d.status, d.outcome) for d in db.session.scalars(
                select(CareDispute).where(CareDispute.order_id == order_id))),
        }
        db.session.remove()
    return state


@pytest.mark.parametrize("state", STATES)
def test_every_action_in_every_state(app, client, care_world, staff_factory, state):
    family = care_world["family"]()
    operator = staff_factory("operator")
    for action in ACTIONS:
        caregiver = care_world["caregiver"]()
        order_id = drive(app, client, care_world, family, caregiver, state, operator)
        assert order_row(app, order_id)["status"] == state
        before = snapshot(app, order_id)
        response = act(client, order_id, action, family, caregiver, operator)
        expected = LEGAL.get((state, action))
        if expected is None:
            assert response.status_code in (404, 409), (state, action, response.get_json())
            error = response.get_json()["error"]
            assert error["code"] in ("invalid_state_transition", "care_order_not_found",
                                     "cancel_not_allowed", "order_not_payable",
                                     "order_already_paid", "payment_expired",
                                     "order_not_completed", "dispute_not_allowed",
                                     "dispute_exists", "dispute_not_found",
                                     "dispute_already_resolved"), (state, action, error)
            assert error["message"] and not error["message"].isascii()
            assert snapshot(app, order_id) == before, (state, action)
        else:
            assert response.status_code in (200, 201), (state, action, response.get_json())
            assert order_row(app, order_id)["status"] == expected, (state, action)
        # the offer timeout and the sweep never move an order they should not
        run_jobs(app)


def test_the_table_covers_every_status_the_model_knows():
    from app.care_orders.models import STATUS_NAMES

    assert set(STATUS_NAMES) == set(STATES)
