from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin, transition
from app.extensions import db

# created → paid → (refunding → refunded | partially_refunded), created → closed.
# One more edge the design card does not draw, forced by money that really moved:
# closed → paid when WeChat reports a payment for an order we had closed (it is then
# refunded in full at once).
PAYMENT_STATUSES = ("created", "paid", "refunding", "refunded", "partially_refunded", "closed")
# A refund is `processing` from its reservation until WeChat settles it, including while it
# waits out a refusal (attempts, next_attempt_at: the same out_refund_no is sent again with
# exponential backoff). `failed` after the retry window, or when WeChat reports it CLOSED or
# ABNORMAL: it still holds its amount (the money is owed) and staff retry it
# (failed → processing). There is never a second row for the same money.
REFUND_STATUSES = ("processing", "succeeded", "failed")
SETTLED_REFUND = "succeeded"
OPEN_REFUND = "processing"
FAILED_REFUND = "failed"


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
        """What may still be asked back: paid minus every refund (a failed one is still owed)."""
        return self.amount_fen - sum(r.amount_fen for r in self.refunds)

    def start_refund(self):
        transition(self, "status", {"paid", "partially_refunded", "refunding"}, "refunding")

    def settle_refund_state(self):
        """After a refund succeeded, derive where the payment stands; it stays `refunding`
        while any refund is still owed (processing or failed)."""
        if any(r.status != SETTLED_REFUND for r in self.refunds):
            return
        if self.refunded_fen >= self.amount_fen:
            transition(self, "status", {"refunding"}, "refunded")
        else:
            transition(self, "status", {"refunding"}, "partially_refunded")


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
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None]  # set while a refusal's backoff runs

    payment = relationship("Payment", back_populates="refunds")

    def succeed(self, refund_id: str | None, at: datetime):
        # from failed too: WeChat's word that the money moved wins over our giving up
        transition(self, "status", {OPEN_REFUND, FAILED_REFUND}, SETTLED_REFUND)
        self.refund_id = self.refund_id or refund_id
        self.succeeded_at, self.next_attempt_at = at, None

    def refused(self, reason: str, retry_at: datetime | None):
        """WeChat refused it: try the same out_refund_no again at `retry_at`, or give up."""
        self.attempts += 1
        self.failure_reason = reason[:120]
        if retry_at is None:
            self.fail(reason)
        else:
            self.next_attempt_at = retry_at

    def fail(self, reason: str):
        transition(self, "status", {OPEN_REFUND}, FAILED_REFUND)
        self.failure_reason, self.next_attempt_at = reason[:120], None

    def retry(self):
        """Staff send a failed refund again (the same out_refund_no)."""
        transition(self, "status", {FAILED_REFUND}, OPEN_REFUND)
        self.next_attempt_at = None


Index("ix_payments_paid_at", Payment.paid_at)  # staff figures: money received today
