import pytest
import requests

from app.extensions import db
from app.payments.protocol import register_order_type
from tests.payments.order_type import DemoOrder, DemoOrderType, TestBase


@pytest.fixture(scope="session", autouse=True)
def demo_order_table(app):
    with app.app_context():
        TestBase.metadata.drop_all(db.engine)
        TestBase.metadata.create_all(db.engine)
    register_order_type(DemoOrderType())
    yield
    with app.app_context():
        TestBase.metadata.drop_all(db.engine)


@pytest.fixture(autouse=True)
def clean_demo_orders(app, clean_state):
    with app.app_context():
        db.session.query(DemoOrder).delete()
        db.session.commit()
    yield


@pytest.fixture
def make_order(app):
    def make(user, amount_fen=100):
        with app.app_context():
            order = DemoOrder(user_id=user["id"], amount_fen=amount_fen, status="pending_payment",
                              paid_hooks=0, closed_hooks=0, refunded_fen=0)
            db.session.add(order)
            db.session.commit()
            order_id = order.id
            db.session.remove()
        return order_id
    return make


def order_state(app, order_id):
    with app.app_context():
        order = db.session.get(DemoOrder, order_id)
        state = {c: getattr(order, c) for c in ("status", "paid_hooks", "closed_hooks",
                                                 "refunded_fen")}
        db.session.remove()
        return state


def payment_state(app, payment_id):
    from app.payments.models import Payment

    with app.app_context():
        payment = db.session.get(Payment, payment_id)
        state = {"status": payment.status, "transaction_id": payment.transaction_id,
                 "refunded_fen": payment.refunded_fen, "prepay_id": payment.prepay_id,
                 "out_trade_no": payment.out_trade_no,
                 "refunds": [(r.amount_fen, r.status) for r in payment.refunds]}
        db.session.remove()
        return state


def prepay(client, user, order_id):
    return client.post("/api/v1/payments/prepay", json={"order_type": "demo_order",
                                                         "order_id": order_id},
                       headers=user["headers"])


def sim_pay(app, prepay_id):
    return requests.post(app.config["LIVE_URL"] + "/_sim/pay", json={"prepay_id": prepay_id},
                         timeout=60)


def sim_mode(app, **settings):
    response = requests.post(app.config["WECHATPAY_GATEWAY"] + "/_control/notifications",
                             json=settings, timeout=10)
    assert response.status_code == 200, response.text
