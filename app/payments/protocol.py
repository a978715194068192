"""What an order type implements to be paid through the payments domain.

Registrations (挂号) and care orders (陪护) each register one handler. The payments domain owns
the money and the WeChat conversation; the handler owns what the money means for its order.
The hooks named on_* run inside the payments transaction (keep them to state changes and
`jobs.enqueue_after_commit`); nothing in them may call out over the network.

Lock order (docs/locking.md): the order's parent resource (schedule, caregiver), then the
order, then the payment, then its refunds. Payments calls `lock_order` before it locks the
payment row, so the on_* hooks find their rows already locked; `payment_terms` locks the order
row itself (prepay locks the payment after it).
"""
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from app.errors import Conflict


class OrderNotPayable(Conflict):
    code = "order_not_payable"
    message = "订单当前状态不可支付"


@dataclass(frozen=True)
class PaymentTerms:
    amount_fen: int
    description: str          # shown on the WeChat payment sheet, ≤ 127 bytes
    user_id: int              # who pays (the order's owner)
    pay_before: datetime | None = None   # the order's own deadline (naive UTC), if earlier than the TTL


class PayableOrderType(Protocol):
    order_type: str
    # True when the order books what it keeps (care orders: the caregiver's ledger): a staff
    # refund through payments is then refused, refunds go through the order's use cases
    refunds_through_order: bool = False

    def payment_terms(self, actor, order_id: int) -> PaymentTerms:
        """The caller's own order, payable now, else NotFound (someone else's) or OrderNotPayable.
        Locks the order row (so prepay cannot race a cancel or the TTL close)."""

    def lock_order(self, order_id: int) -> None:
        """Take the order side's row locks in the house order: parent resource, then order."""

    def on_paid(self, order_id: int, payment) -> bool:
        """The money arrived: move the order on (inside the transaction). Return False (or
        raise a Conflict) when the order can no longer take it (closed, cancelled, stopped
        meanwhile): payments then refunds the payment in full and acknowledges WeChat."""

    def on_closed(self, order_id: int, payment) -> None:
        """Unpaid at its deadline, or cancelled before paying: release what the order held."""

    def on_refunded(self, order_id: int, payment, refund) -> None:
        """A refund settled (payment.status tells whether in full)."""


_registry: dict[str, PayableOrderType] = {}


def register_order_type(handler: PayableOrderType) -> None:
    _registry[handler.order_type] = handler


def order_type(name: str) -> PayableOrderType | None:
    return _registry.get(name)


def registered_order_types() -> list[str]:
    return sorted(_registry)
