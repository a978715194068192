"""The demo data's care orders (`make run` seeds them): every status for the demo family and
the demo caregiver, each as the use cases would have left it: the quote, the payment and its
refunds, the ledger, the busy blocks, the timeline; listed through the API; seeded once."""
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select

from app.care_orders.models import HOLDING_STATUSES, PAID_STATUSES, STATUS_NAMES
from app.common.time import LOCAL_TZ, to_local, utcnow
from app.extensions import db
from app.seed import (DEMO_CAREGIVER_LOGIN_CODE, DEMO_LOGIN_CODE, DEMO_ORDER_PREFIX,
                      seed_demo_data)
from app.wechat.simulator.miniprogram import openid_for_code
from tests.care_orders.conftest import API, CAREGIVER_API, money, order_row, run_jobs
from tests.conftest import auth, login, row_counts
from tests.payments.conftest import wait_for


def seed(app, now=None):
    with app.app_context():
        lines = seed_demo_data(now=now)
        db.session.remove()
    return lines


def demo_orders(app):
    """The demo family's orders (id → row), the demo family's and caregiver's ids."""
    from app.care_orders.models import CareOrder
    from app.caregivers.models import Caregiver
    from app.users.models import User

    with app.app_context():
        family_id = db.session.scalar(select(User.id).where(
            User.openid == openid_for_code(DEMO_LOGIN_CODE)))
        caregiver_id = db.session.scalar(select(Caregiver.id).join(
            User, User.id == Caregiver.user_id).where(
            User.openid == openid_for_code(DEMO_CAREGIVER_LOGIN_CODE)))
        orders = {order.id: order for order in db.session.scalars(select(CareOrder).where(
            CareOrder.user_id == family_id).order_by(CareOrder.id))}
        for order in orders.values():
            db.session.expunge(order)
        db.session.remove()
    return orders, family_id, caregiver_id


def test_demo_care_orders_cover_every_status(app, client):
    from app.availability.models import BusyBlock
    from app.availability.services import horizon_end
    from app.care_disputes.models import CareDispute
    from app.care_orders import pricing
    from app.care_orders.models import CareAssignment, CareOrderEvent, CareServiceRecord
    from app.care_reviews.models import CareReview
    from app.caregivers.models import Caregiver, CaregiverPrice
    from app.payments.models import Payment

    lines = seed(app)
    assert any(line.startswith("created 12 demo care orders (every status)")
               for line in lines), lines
    orders, _, caregiver_id = demo_orders(app)
    assert len(orders) == 12
    assert all(o.order_no.startswith(DEMO_ORDER_PREFIX) for o in orders.values())
    by_status = Counter(o.status for o in orders.values())
    assert set(by_status) == set(STATUS_NAMES), by_status
    assert by_status["completed"] == 2
    ledger = {order_id: money(app, order_id) for order_id in orders}

    with app.app_context():
        # the demo caregiver holds every order but the refunded one, which they turned down
        # (and nobody else was free): it keeps their rejected offer
        assigned = {o.status for o in orders.values() if o.caregiver_id == caregiver_id}
        assert assigned == set(STATUS_NAMES) - {"refunded"}
        refunded = next(o for o in orders.values() if o.status == "refunded")
        offers = db.session.execute(select(CareAssignment.caregiver_id, CareAssignment.status)
                                    .where(CareAssignment.order_id == refunded.id)).all()
        assert refunded.caregiver_id is None and offers == [(caregiver_id, "rejected")]

        caregiver = db.session.get(Caregiver, caregiver_id)
        prices = dict(db.session.execute(select(CaregiverPrice.care_type,
                                                CaregiverPrice.price_fen).where(
            CaregiverPrice.caregiver_id == caregiver_id)).all())
        policy = pricing.care_policy()
        horizon = horizon_end()
        for order in orders.values():
            start, end = to_local(order.start_at), to_local(order.end_at)
            assert start < end and start.minute % 30 == 0 and end.minute % 30 == 0
            assert start.second == end.second == 0
            # the quote at the caregiver's price, as it stood when the family booked
            quote = pricing.quote(care_type=order.care_type, start=start, end=end,
                                  now=to_local(order.created_at),
                                  unit_price_fen=prices[order.care_type],
                                  night_surcharge_fen=caregiver.night_surcharge_fen,
                                  policy=policy)
            assert (order.units, order.unit_price_fen, order.base_fen, order.night_fen,
                    order.urgent_fen, order.discount_fen, order.total_fen) == (
                quote.units, quote.unit_price_fen, quote.base_fen, quote.night_fen,
                quote.urgent_fen, quote.discount_fen, quote.total_fen), order.status
            assert order.patient_name in ("张三", "李四") and order.hospital_id
            # money: paid = refunded + Σ net + Σ commission once the order is settled on
            # (completed, cancelled, resolved; disputed after completion); before, what is
            # not refunded is held, and nothing is in the ledger yet
            paid, refunds, net, commission = ledger[order.id]
            if order.status in PAID_STATUSES:
                assert (net, commission) == (0, 0) and paid == order.total_fen
            else:
                assert paid == refunds + net + commission, (order.status, paid, refunds, net,
                                                            commission)
            assert order.refunded_fen == refunds
            payment = db.session.scalar(select(Payment).where(
                Payment.order_type == "care_order", Payment.order_id == order.id))
            expected = {"pending_payment": None, "closed": "closed", "refunded": "refunded",
                        "cancelled": "partially_refunded", "resolved": "partially_refunded"}
            assert (payment.status if payment else None) == expected.get(order.status, "paid")
            if payment is not None and payment.paid_at:
                assert paid == order.total_fen and payment.refunded_fen == refunds
                assert all(r.status == "succeeded" for r in payment.refunds)
            # time held exactly while the order holds it, inside the horizon
            blocks = db.session.execute(select(BusyBlock.caregiver_id, BusyBlock.start_at,
                                               BusyBlock.end_at).where(
                BusyBlock.ref_type == "care_order", BusyBlock.ref_id == order.id)).all()
            if order.status in HOLDING_STATUSES:
                assert blocks == [(caregiver_id, order.start_at, order.end_at)], order.status
                assert end <= horizon
            else:
                assert blocks == []
            # the timeline ends in the order's status, numbered without gaps
            events = db.session.execute(select(CareOrderEvent.seq, CareOrderEvent.status)
                                        .where(CareOrderEvent.order_id == order.id)
                                        .order_by(CareOrderEvent.seq)).all()
            assert [seq for seq, _ in events] == list(range(1, len(events) + 1))
            assert events[0][1] == "pending_payment" and events[-1][1] == order.status
            records = db.session.scalar(select(CareServiceRecord.id).where(
                CareServiceRecord.order_id == order.id).limit(1))
            assert (records is not None) == (order.started_at is not None), order.status
        # the demo caregiver's time: no two busy blocks overlap
        spans = sorted(db.session.execute(select(BusyBlock.start_at, BusyBlock.end_at,
                                                 BusyBlock.ref_type).where(
            BusyBlock.caregiver_id == caregiver_id)).all())
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans
        assert {ref_type for *_, ref_type in spans} == {"care_order"}  # its orders hold it
        # the live ones: an offer still open, a service under way, one awaiting confirmation
        live = {o.status: o for o in orders.values()}
        current = utcnow()
        assert live["awaiting_acceptance"].acceptance_deadline > current
        assert live["in_service"].started_at <= current < live["in_service"].end_at
        ended = live["awaiting_confirmation"].ended_at
        assert ended <= current < ended + timedelta(hours=policy["auto_complete_hours"])
        assert live["accepted"].start_at > current and live["pending_payment"].start_at > current
        # one completed order is reviewed, and the caregiver's rating follows the reviews
        reviews = db.session.scalars(select(CareReview).where(
            CareReview.caregiver_id == caregiver_id)).all()
        assert len(reviews) == 1 and orders[reviews[0].order_id].status == "completed"
        assert reviews[0].reply and caregiver.rating_count == 1
        assert caregiver.rating_avg == reviews[0].stars
        disputes = {orders[d.order_id].status: d for d in db.session.scalars(select(CareDispute))}
        assert set(disputes) == {"disputed", "resolved"}
        assert disputes["disputed"].status == "open"
        resolved = disputes["resolved"]
        assert resolved.status == "resolved" and resolved.outcome == "partial_refund"
        assert resolved.refund_fen == live["resolved"].refunded_fen > 0
        db.session.remove()

    # the family lists them by status
    family = auth(login(client, DEMO_LOGIN_CODE)["token"])
    everything = client.get(f"{API}?page_size=50", headers=family).get_json()
    assert everything["total"] == 12
    for status, count in by_status.items():
        page = client.get(f"{API}?status={status}", headers=family)
        assert page.status_code == 200, page.get_json()
        items = page.get_json()["items"]
        assert len(items) == count and {item["status"] for item in items} == {status}
    serving = live["in_service"].id
    detail = client.get(f"{API}/{serving}", headers=family).get_json()
    assert [step["kind"] for step in detail["timeline"]][:3] == ["created", "paid", "accepted"]
    assert detail["patient_name"] in ("张三", "李四") and detail["needs"]
    records = client.get(f"{API}/{serving}/records", headers=family).get_json()
    assert len(records) == 2 and all(r["care_given"] for r in records)

    # the caregiver's inbox, schedule and history
    worker = auth(login(client, DEMO_CAREGIVER_LOGIN_CODE)["token"])
    seen = {}
    for view in ("inbox", "schedule", "history"):
        page = client.get(f"{CAREGIVER_API}?view={view}", headers=worker)
        assert page.status_code == 200, page.get_json()
        seen[view] = Counter(item["status"] for item in page.get_json()["items"])
    assert seen["inbox"] == {"awaiting_acceptance": 1}
    assert seen["schedule"] == {"accepted": 1, "in_service": 1, "awaiting_confirmation": 1}
    assert seen["history"] == {"completed": 2, "cancelled": 1, "disputed": 1, "resolved": 1}
    offer = client.get(f"{CAREGIVER_API}?view=inbox", headers=worker).get_json()["items"][0]
    assert offer["acceptance_deadline"] and "*" in offer["patient_name"]


def test_demo_care_orders_are_seeded_once(app):
    seed(app)
    first = row_counts(app)
    assert first["care_orders"] == 12 and first["payments"] == 11
    assert seed(app) == ["demo data already present; nothing added"]
    assert row_counts(app) == first
    # a run on a later day adds hospital schedules only, never orders
    lines = seed(app, datetime.now(LOCAL_TZ) + timedelta(days=1))
    assert not any("care orders" in line for line in lines), lines
    assert row_counts(app)["care_orders"] == 12


def test_demo_orders_move_on_like_any_other(app, client):
    """The payments behind the demo orders are known to the WeChat Pay simulator, so a cancel
    refunds through it, and the caregiver can work the live ones."""
    seed(app)
    orders, _, _ = demo_orders(app)
    live = {o.status: o.id for o in orders.values()}
    family = auth(login(client, DEMO_LOGIN_CODE)["token"])
    worker = auth(login(client, DEMO_CAREGIVER_LOGIN_CODE)["token"])

    cancelled = client.post(f"{API}/{live['accepted']}/cancel", json={"reason": "改期"},
                            headers=family)
    assert cancelled.status_code == 200, cancelled.get_json()
    run_jobs(app)

    def refund_state():
        from app.payments.models import Payment, Refund

        with app.app_context():
            payment = db.session.scalar(select(Payment).where(
                Payment.order_type == "care_order", Payment.order_id == live["accepted"]))
            state = (payment.status, [r.status for r in db.session.scalars(select(Refund).where(
                Refund.payment_id == payment.id))])
            db.session.remove()
        return state

    # the simulator settles the refund and notifies a moment after its API answered
    assert wait_for(lambda: refund_state() == ("partially_refunded", ["succeeded"])), \
        refund_state()
    paid, refunds, net, commission = money(app, live["accepted"])
    assert paid == refunds + net + commission and refunds > 0 and net > 0

    # the offer is accepted, the service under way ends, the family confirms
    accepted = client.post(f"{CAREGIVER_API}/{live['awaiting_acceptance']}/accept",
                           headers=worker)
    assert accepted.status_code == 200, accepted.get_json()
    ended = client.post(f"{CAREGIVER_API}/{live['in_service']}/end", headers=worker)
    assert ended.status_code == 200, ended.get_json()
    confirmed = client.post(f"{API}/{live['awaiting_confirmation']}/confirm", headers=family)
    assert confirmed.status_code == 200, confirmed.get_json()
    assert order_row(app, live["awaiting_confirmation"])["status"] == "completed"
    paid, refunds, net, commission = money(app, live["awaiting_confirmation"])
    assert paid == refunds + net + commission and net > 0
