"""Disputes on paid care orders: either side opens one (text, evidence files); staff resolve
it with a full, partial or no refund and a note. One per order, ever."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.crypto import EncryptedText
from app.common.models import TimestampMixin, transition
from app.extensions import db

DISPUTE_STATUSES = {"open": "处理中", "resolved": "已处理"}
OPENED_BY = {"family": "用户", "caregiver": "护工"}
OUTCOMES = {"full_refund": "全额退款", "partial_refund": "部分退款", "no_refund": "不退款"}


class CareDispute(TimestampMixin, db.Model):
    __tablename__ = "care_disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("care_orders.id"), unique=True)
    opened_by: Mapped[str] = mapped_column(String(16))
    opened_by_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column("text_encrypted", EncryptedText)  # may hold medical detail
    evidence_file_ids: Mapped[list] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    refund_fen: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    resolved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    resolved_at: Mapped[datetime | None]

    def resolve(self, outcome: str, refund_fen: int, note: str, staff_id: int, at: datetime):
        transition(self, "status", {"open"}, "resolved")
        self.outcome, self.refund_fen, self.note = outcome, refund_fen, note
        self.resolved_by_staff_id, self.resolved_at = staff_id, at


Index("ix_care_disputes_status", CareDispute.status, CareDispute.id)
