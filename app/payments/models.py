from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin, transition
from app.extensions import db

# created → paid → (refunding → refunded | partially_refunded), created → closed.
# Two more edges the design card does not draw, both forced by money that really moved:
# refunding → paid / partially_refunded when a refund fails at WeChat, and
# closed → paid when WeChat reports a payment for an order we had closed (it is then
# refunded in full at once).
PAYMENT_STATUSES = ("created", "paid", "refunding", "refunded", "partially_refunded", "closed")
REFUND_STATUSES = ("processing", "succeeded", "closed", "abnormal")
SETTLED_REFUND = "succeeded"
OPEN_REFUND = "processing"


class Payment(TimestampMixin, db.Model):
    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("order_type", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    order_type: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    payer_openid: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(127))
    amount_fen: Mapped[int] = mapped_column(Integer)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(24), default="created", index=True)
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    transaction_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    expires_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    refunds = relationship("Refund", back_populates="payment", order_by="Refund.id")

    def mark_paid(self, transaction_id: str, at: datetime):
        transition(self, "status", {"created", "closed"}, "paid")
        self.transaction_id, self.paid_at = transaction_id, at

    def mark_closed(self, at: datetime):
        transition(self, "status", {"created"}, "closed")
        self.closed_at = at

    def refundable_fen(self) -> int:
        """What may still be asked back: paid minus every refund not failed."""
        reserved = sum(r.amount_fen for r in self.refunds if r.status in (OPEN_REFUND, SETTLED_REFUND))
        return self.amount_fen - reserved

    def start_refund(self):
        transition(self, "status", {"paid", "partially_refunded", "refunding"}, "refunding")

    def settle_refund_state(self):
        """After a refund finished either way, derive where the payment stands."""
        if any(r.status == OPEN_REFUND for r in self.refunds):
            return
        if self.refunded_fen >= self.amount_fen:
            transition(self, "status", {"refunding"}, "refunded")
        elif self.refunded_fen > 0:
            transition(self, "status", {"refunding"}, "partially_refunded")
        else:
            transition(self, "status", {"refunding"}, "paid")


class Refund(TimestampMixin, db.Model):
    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(String(64), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(80))
    requested_by: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=OPEN_REFUND, index=True)
    refund_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    succeeded_at: Mapped[datetime | None]
    failure_reason: Mapped[str | None] = mapped_column(String(120))

    payment = relationship("Payment", back_populates="refunds")

    def succeed(self, refund_id: str | None, at: datetime):
        transition(self, "status", {OPEN_REFUND}, SETTLED_REFUND)
        self.refund_id = self.refund_id or refund_id
        self.succeeded_at = at

    def fail(self, status: str, reason: str):
        transition(self, "status", {OPEN_REFUND}, status)
        self.failure_reason = reason[:120]
