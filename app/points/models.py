"""The points ledger (积分): double entry, append-only.

Every business event is one `point_transactions` row (a unique idempotency key, so a hook or
job that runs twice records once) with two `point_entries` rows summing to zero: the user's
account and a platform account (issued, redeemed, expired). Transactions and entries are
never updated or deleted; a correction is a new transaction (reverse_earn, reverse_spend).

Two projections are kept in the same transaction as the entries:
- `point_balances`: one row per user, changed only by a conditional UPDATE
  (`balance + delta >= 0`), so concurrent spends never take it below zero;
- `point_lots`: what each earn left unspent and when it expires (FIFO); `point_lot_moves`
  records which lots each spend / expire / reverse took from or gave back to (append-only),
  so a lot's `remaining` = its amount + the sum of its moves.
Invariant (tests/points): per user, balance = Σ user entries = Σ lot remaining.
"""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.time import utcnow
from app.extensions import db

KINDS = ("earn", "spend", "expire", "reverse_earn", "reverse_spend")
# kind → the platform account on the other side of the user's entry
PLATFORM_ACCOUNTS = {"earn": "platform:issued", "reverse_earn": "platform:issued",
                     "spend": "platform:redeemed", "reverse_spend": "platform:redeemed",
                     "expire": "platform:expired"}
USER_ACCOUNT = "user"


class PointTransaction(db.Model):
    __tablename__ = "point_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int] = mapped_column(Integer)  # signed: the change of the user's balance
    order_type: Mapped[str | None] = mapped_column(String(24))
    order_id: Mapped[int | None] = mapped_column(Integer)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)

    entries = relationship("PointEntry", order_by="PointEntry.id", viewonly=True)


class PointEntry(db.Model):
    __tablename__ = "point_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("point_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(24))  # "user" or platform:*
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)


class PointLot(db.Model):
    """What one earn added, how much of it is left and when that expires (a projection)."""

    __tablename__ = "point_lots"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    transaction_id: Mapped[int] = mapped_column(ForeignKey("point_transactions.id"), unique=True)
    amount: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    expirations: Mapped[int] = mapped_column(Integer, default=0)  # expire transactions so far
    earned_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class PointLotMove(db.Model):
    """A transaction's take from (negative) or give back to (positive) one lot."""

    __tablename__ = "point_lot_moves"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("point_transactions.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("point_lots.id"), index=True)
    points: Mapped[int] = mapped_column(Integer)


class PointBalance(db.Model):
    __tablename__ = "point_balances"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)


Index("ix_point_transactions_user_id_id", PointTransaction.user_id, PointTransaction.id)
Index("ix_point_transactions_order", PointTransaction.order_type, PointTransaction.order_id)
Index("ix_point_lots_user_id_expires_at", PointLot.user_id, PointLot.expires_at)
Index("ix_point_lots_expires_at", PointLot.expires_at)
