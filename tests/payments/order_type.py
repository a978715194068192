"""A minimal order type that plugs into the payments domain through its protocol.

The product's own order types (registrations, care orders) arrive with their issues; until
then this one exercises the protocol end to end with a real table in the same database and
the same transactions. It lives in its own metadata so it is not part of the migrations.
"""
from sqlalchemy import Integer, MetaData, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from app.common.models import transition
from app.errors import NotFound
from app.extensions import db
from app.payments.protocol import OrderNotPayable, PaymentTerms


class TestBase(DeclarativeBase):
    metadata = MetaData()


class DemoOrder(TestBase):
    __tablename__ = "test_demo_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(24), default="pending_payment")
    paid_hooks: Mapped[int] = mapped_column(Integer, default=0)
    closed_hooks: Mapped[int] = mapped_column(Integer, default=0)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)


class DemoOrderType:
    order_type = "demo_order"

    def payment_terms(self, actor, order_id):
        order = db.session.get(DemoOrder, order_id)
        if order is None or order.user_id != actor.id:
            raise NotFound("订单不存在", code="order_not_found")
        if order.status != "pending_payment":
            raise OrderNotPayable()
        return PaymentTerms(amount_fen=order.amount_fen, description="测试订单",
                            user_id=order.user_id)

    def on_paid(self, order_id, payment):
        order = db.session.get(DemoOrder, order_id, with_for_update=True)
        transition(order, "status", {"pending_payment"}, "paid")
        order.paid_hooks += 1

    def on_closed(self, order_id, payment):
        order = db.session.get(DemoOrder, order_id, with_for_update=True)
        transition(order, "status", {"pending_payment"}, "closed")
        order.closed_hooks += 1

    def on_refunded(self, order_id, payment, refund):
        order = db.session.get(DemoOrder, order_id, with_for_update=True)
        order.refunded_fen += refund.amount_fen
        if payment.status == "refunded" and order.paid_hooks:  # it took the money
            order.status = "refunded"

    def after_paid(self, order_id, payment_id):
        from app.extensions import redis_client
        redis_client.conn.incr(f"test:after_paid:{order_id}")
