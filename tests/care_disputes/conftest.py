"""Orders driven to a given state through HTTP (book, pay through the simulator, the
caregiver's answers, the family's confirmation), for the dispute and earnings tests; the
care-order helpers themselves live in tests/care_orders/conftest.py."""
from datetime import timedelta

from sqlalchemy import select

from app.common.time import utcnow
from app.extensions import db
from tests.care_orders.conftest import (API, CAREGIVER_API, book, care_world,  # noqa: F401
                                        order_body, order_row, pay, set_order)

DISPUTE_TEXT = "护工未按约定时间到岗,服务期间多次离开病房。"
STAFF_DISPUTES = "/api/v1/staff/care-disputes"
STAGES = ("pending_payment", "awaiting_acceptance", "accepted", "in_service",
          "awaiting_confirmation", "completed")


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


def order_at(app, client, world, stage, *, caregiver=None, family=None, **body) -> dict:
    """A new order of `family` with `caregiver` (new ones when not given), moved to `stage`.
    The window is moved to start now when the service has to start (as time passing would)."""
    caregiver = caregiver or world["caregiver"]()
    family = family or world["family"]()
    created = ok(book(client, family, order_body(world, family, caregiver, **body)), 201)
    order_id = created["order"]["id"]
    order = {"id": order_id, "caregiver": caregiver, "family": family,
             "total_fen": created["order"]["price"]["total_fen"]}
    step = STAGES.index(stage)
    if step >= 1:
        pay(app, created)
        assert order_row(app, order_id)["status"] == "awaiting_acceptance"
    if step >= 2:
        ok(client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=caregiver["headers"]))
    if step >= 3:
        row = order_row(app, order_id)
        start = utcnow() + timedelta(minutes=10)
        set_order(app, order_id, start_at=start, end_at=start + (row["end_at"] - row["start_at"]))
        ok(client.post(f"{CAREGIVER_API}/{order_id}/start", json={},
                       headers=caregiver["headers"]))
    if step >= 4:
        ok(client.post(f"{CAREGIVER_API}/{order_id}/end", headers=caregiver["headers"]))
    if step >= 5:
        ok(client.post(f"{API}/{order_id}/confirm", headers=family["headers"]))
    assert order_row(app, order_id)["status"] == stage
    return order


def family_dispute(client, order, text=DISPUTE_TEXT, evidence=()):
    return client.post(f"{API}/{order['id']}/dispute", headers=order["family"]["headers"],
                       json={"text": text, "evidence_file_ids": list(evidence)})


def caregiver_dispute(client, order, text=DISPUTE_TEXT, evidence=()):
    return client.post(f"{CAREGIVER_API}/{order['id']}/dispute",
                       headers=order["caregiver"]["headers"],
                       json={"text": text, "evidence_file_ids": list(evidence)})


def resolve(client, staff, order_id, outcome, refund_fen=None, note="核实后处理"):
    body = {"outcome": outcome, "note": note}
    if refund_fen is not None:
        body["refund_fen"] = refund_fen
    return client.post(f"/api/v1/staff/care-orders/{order_id}/dispute/resolve", json=body,
                       headers=staff["headers"])


def entries(app, order_id):
    """The order's ledger: (kind, amount, commission, net, status, due_at), in order."""
    from app.earnings.models import EarningEntry

    with app.app_context():
        rows = db.session.execute(select(
            EarningEntry.kind, EarningEntry.amount_fen, EarningEntry.commission_fen,
            EarningEntry.net_fen, EarningEntry.status, EarningEntry.due_at).where(
            EarningEntry.order_id == order_id).order_by(EarningEntry.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def refunds(app, order_id):
    """Refund rows reserved for the order's payment: (amount, requested_by), in order."""
    from app.payments.models import Payment, Refund

    with app.app_context():
        rows = db.session.execute(select(Refund.amount_fen, Refund.requested_by).join(
            Payment, Payment.id == Refund.payment_id).where(
            Payment.order_type == "care_order", Payment.order_id == order_id)
            .order_by(Refund.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def notification_kinds(app, user_id):
    from app.notifications.models import Notification

    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind).where(
            Notification.user_id == user_id).order_by(Notification.id)).all()
        db.session.remove()
    return list(kinds)


def set_row(app, model, row_id, **values):
    with app.app_context():
        row = db.session.get(model, row_id)
        for key, value in values.items():
            setattr(row, key, value)
        db.session.commit()
        db.session.remove()
