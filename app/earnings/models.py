"""The caregiver's ledger. Every yuan a care order keeps (what was paid less what was
refunded) is one or more entries: `amount_fen` kept, `commission_fen` the platform's share,
`net_fen` = amount − commission the caregiver's. An entry is never changed after it is
written except to be settled; a later correction (a dispute after completion) is a new entry,
negative where money went back. So for every order: paid = refunded + Σ net + Σ commission.

Entries fall due `hold` days after they are written (the dispute window); the weekly
settlement batches due entries of orders not in dispute.
"""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin, transition
from app.extensions import db

ENTRY_KINDS = {"completion": "服务完成", "cancellation": "取消补偿", "dispute": "纠纷处理",
               "staff_cancellation": "平台取消"}
ENTRY_STATUSES = {"pending": "待结算", "settled": "已结算"}


class SettlementBatch(TimestampMixin, db.Model):
    __tablename__ = "settlement_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), index=True)
    period_key: Mapped[str] = mapped_column(String(16))  # ISO week of the run, e.g. 2026-W48
    entries: Mapped[int] = mapped_column(Integer)
    net_fen: Mapped[int] = mapped_column(Integer)
    settled_at: Mapped[datetime]


Index("ux_settlement_batches_caregiver_period", SettlementBatch.caregiver_id,
      SettlementBatch.period_key, unique=True)


class EarningEntry(TimestampMixin, db.Model):
    __tablename__ = "earning_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"))
    order_id: Mapped[int] = mapped_column(ForeignKey("care_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    amount_fen: Mapped[int] = mapped_column(Integer)
    commission_fen: Mapped[int] = mapped_column(Integer)
    net_fen: Mapped[int] = mapped_column(Integer)
    commission_bp: Mapped[int] = mapped_column(Integer)  # the rate used, basis points
    status: Mapped[str] = mapped_column(String(16), default="pending")
    due_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("settlement_batches.id"))

    def settle(self, batch_id: int, at: datetime):
        transition(self, "status", {"pending"}, "settled")
        self.batch_id, self.settled_at = batch_id, at


Index("ix_earning_entries_caregiver_created", EarningEntry.caregiver_id, EarningEntry.created_at)
Index("ix_earning_entries_status_due", EarningEntry.status, EarningEntry.due_at)
