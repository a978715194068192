import pytest
import requests

from app.extensions import db
from app.payments.protocol import register_order_type
from tests.payments.order_type import DemoOrder, DemoOrderType, TestBase


@pytest.fixture(scope="package", autouse=True)
def demo_order_table(app):
    """The demo order type exists for this package only (other packages see the product's
    order types, e.g. in the OpenAPI enum)."""
    from app.payments import protocol

    with app.app_context():
        TestBase.metadata.drop_all(db.engine)
        TestBase.metadata.create_all(db.engine)
    register_order_type(DemoOrderType())
    yield
    protocol._registry.pop(DemoOrderType.order_type, None)
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


def run_jobs(app, scheduler=False):
    """Run every queued job in this process, as `flask worker --burst` would (jobs a job
    enqueues run too); with `scheduler`, delayed jobs that are due are moved in first."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from app.extensions import redis_client

    with app.app_context():
        SimpleWorker(["default"], connection=redis_client.conn,
                     serializer=JSONSerializer).work(burst=True, with_scheduler=scheduler)
        db.session.remove()


def wait_for(predicate, seconds=10):
    """Poll a condition (the simulator answers and notifies from other threads)."""
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def sim_transaction(app, out_trade_no):
    """The simulator's own record of a transaction and its refunds."""
    response = requests.get(f"{app.config['WECHATPAY_GATEWAY']}/_control/transactions/"
                            f"{out_trade_no}", timeout=10)
    return response.json() if response.status_code == 200 else None


def jobs_named(app, name, registry="queued"):
    """Jobs of one function in the queue, or among those a worker finished."""
    from rq import Queue
    from rq.job import Job
    from rq.registry import FinishedJobRegistry
    from rq.serializers import JSONSerializer

    from app.extensions import redis_client

    with app.app_context():
        conn = redis_client.conn
        if registry == "queued":
            found = Queue("default", connection=conn, serializer=JSONSerializer).jobs
        else:
            ids = FinishedJobRegistry("default", connection=conn,
                                      serializer=JSONSerializer).get_job_ids()
            found = [job for job in Job.fetch_many(ids, connection=conn,
                                                   serializer=JSONSerializer) if job]
        return [job for job in found if job.func_name == name]
