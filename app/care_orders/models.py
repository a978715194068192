"""Care orders (陪护订单): a family books a caregiver (or the platform picks one) for a window.

    pending_payment ──paid──▶ awaiting_acceptance ──accept──▶ accepted ──start──▶ in_service
          │                     │   ▲  (reject / timeout: re-dispatched to   │
          │ TTL → closed        │   └── another caregiver, same status)     end
          │ family → cancelled  │ no one free → refunded                     ▼
          ▼                     ▼                              awaiting_confirmation
                          cancelled (by policy)                   │ family / 24 h
                                                                  ▼
                                                              completed
    any paid state (and completed, while its earnings are unsettled) → disputed → resolved

Every transition is one method below, checked by `transition` (illegal → 409). The window is
`[start_at, end_at)` in naive UTC on the half-hour grid; the order's busy block
(availability) is written in the same transaction as the order and removed when it ends.
The seed's six names map onto these (STATUS_GROUPS): 待支付, 已支付 (awaiting acceptance),
待服务, 服务中, 已完成, 已取消.
"""
from datetime import datetime

from sqlalchemy import (JSON, Double, ForeignKey, Index, Integer, SmallInteger, String,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.crypto import EncryptedString, EncryptedText, encrypted_length
from app.common.models import TimestampMixin, transition
from app.extensions import db

STATUS_NAMES = {
    "pending_payment": "待支付", "awaiting_acceptance": "已支付,待接单", "accepted": "待服务",
    "in_service": "服务中", "awaiting_confirmation": "服务结束,待确认", "completed": "已完成",
    "closed": "已关闭", "cancelled": "已取消", "refunded": "已退款", "disputed": "纠纷处理中",
    "resolved": "纠纷已处理",
}
# money has arrived and not all of it has gone anywhere yet
PAID_STATUSES = ("awaiting_acceptance", "accepted", "in_service", "awaiting_confirmation")
# the order holds its caregiver's time (a busy block)
HOLDING_STATUSES = ("pending_payment",) + PAID_STATUSES
FINAL_STATUSES = ("completed", "closed", "cancelled", "refunded", "resolved")
DISPUTABLE_STATUSES = PAID_STATUSES + ("completed",)
DISPATCH_MODES = {"chosen": "指定护工", "platform": "平台派单"}
CANCELLED_BY = {"family": "用户取消", "staff": "平台取消"}
COMPLETED_BY = {"family": "用户确认", "auto": "超时自动确认"}
ASSIGNMENT_STATUSES = {"offered": "待接单", "accepted": "已接单", "rejected": "已拒单",
                       "timed_out": "超时未接", "withdrawn": "已改派"}


class CareOrder(TimestampMixin, db.Model):
    __tablename__ = "care_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    patient_name: Mapped[str] = mapped_column("patient_name_encrypted",  # personal data
                                              EncryptedString(encrypted_length(32)))
    # None only while a platform-dispatched order waits for its payment
    caregiver_id: Mapped[int | None] = mapped_column(ForeignKey("caregivers.id"))
    dispatch_mode: Mapped[str] = mapped_column(String(16), default="chosen")
    care_type: Mapped[str] = mapped_column(String(16))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    # where: a hospital (department, bed) or an address; city for matching, point for distance
    city_code: Mapped[str] = mapped_column(String(6))
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"))
    department: Mapped[str | None] = mapped_column(String(64))
    bed: Mapped[str | None] = mapped_column("bed_encrypted", EncryptedString(encrypted_length(32)))
    address: Mapped[str | None] = mapped_column("address_encrypted",
                                                EncryptedString(encrypted_length(200)))
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    skills: Mapped[list] = mapped_column(JSON, default=list)  # skill codes the care needs
    needs: Mapped[str | None] = mapped_column("needs_encrypted", EncryptedText)  # medical notes
    # the quote, as charged (app/care_orders/pricing.py)
    units: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    base_fen: Mapped[int] = mapped_column(Integer)
    night_fen: Mapped[int] = mapped_column(Integer, default=0)
    urgent_fen: Mapped[int] = mapped_column(Integer, default=0)
    discount_fen: Mapped[int] = mapped_column(Integer, default=0)
    # the family's membership discount (basis points, kept so every later quote for this order
    # — re-dispatch, reassignment — uses the same) and what it took off
    member_discount_bp: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    member_discount_fen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # the family's membership dispatch priority: the sweep offers these orders first
    dispatch_priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # points (app/points) the family spent on this order and what they took off: total_fen is
    # already net of it (what the family pays); dispatch budgets add it back (like with like)
    points_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points_discount_fen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    total_fen: Mapped[int] = mapped_column(Integer)
    # refunds reserved for this order so far (payments keeps the WeChat side)
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(24), default="pending_payment")
    status_before_dispute: Mapped[str | None] = mapped_column(String(24))
    dispatch_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    acceptance_deadline: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    start_latitude: Mapped[float | None] = mapped_column(Double)
    start_longitude: Mapped[float | None] = mapped_column(Double)
    ended_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(16))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    refunded_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]

    caregiver = relationship("Caregiver")
    hospital = relationship("Hospital")

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    # ---- transitions (the caller holds the locks: caregiver → order) ----

    def mark_paid(self, at: datetime, deadline: datetime):
        transition(self, "status", {"pending_payment"}, "awaiting_acceptance")
        self.paid_at, self.acceptance_deadline = at, deadline

    def offer_to(self, caregiver_id: int, deadline: datetime):
        """Re-dispatch (or the first dispatch of a platform order): same status, new caregiver."""
        transition(self, "status", {"awaiting_acceptance", "accepted"}, "awaiting_acceptance")
        self.caregiver_id, self.acceptance_deadline = caregiver_id, deadline
        self.accepted_at = None
        self.dispatch_count = (self.dispatch_count or 0) + 1

    def accept(self, at: datetime):
        transition(self, "status", {"awaiting_acceptance"}, "accepted")
        self.accepted_at, self.acceptance_deadline = at, None

    def start(self, at: datetime, latitude: float | None, longitude: float | None):
        transition(self, "status", {"accepted"}, "in_service")
        self.started_at, self.start_latitude, self.start_longitude = at, latitude, longitude

    def end(self, at: datetime):
        transition(self, "status", {"in_service"}, "awaiting_confirmation")
        self.ended_at = at

    def complete(self, at: datetime, by: str):
        transition(self, "status", {"awaiting_confirmation"}, "completed")
        self.completed_at, self.completed_by = at, by

    def close(self, at: datetime):
        transition(self, "status", {"pending_payment"}, "closed")
        self.closed_at = at

    def cancel(self, at: datetime, by: str, reason: str | None, allowed_from: set):
        transition(self, "status", allowed_from, "cancelled")
        self.cancelled_at, self.cancelled_by, self.cancel_reason = at, by, (reason or None)
        self.acceptance_deadline = None

    def refund_unmatched(self, at: datetime):
        """No free caregiver would take it: refunded in full."""
        transition(self, "status", {"awaiting_acceptance"}, "refunded")
        self.refunded_at, self.acceptance_deadline = at, None

    def open_dispute(self, at: datetime):
        previous = self.status
        transition(self, "status", set(DISPUTABLE_STATUSES), "disputed")
        self.status_before_dispute, self.disputed_at = previous, at
        self.acceptance_deadline = None

    def resolve(self, at: datetime):
        transition(self, "status", {"disputed"}, "resolved")
        self.resolved_at = at


Index("ix_care_orders_user_status", CareOrder.user_id, CareOrder.status, CareOrder.id)
Index("ix_care_orders_caregiver_status", CareOrder.caregiver_id, CareOrder.status,
      CareOrder.start_at)
Index("ix_care_orders_status_deadline", CareOrder.status, CareOrder.acceptance_deadline)
Index("ix_care_orders_status_ended", CareOrder.status, CareOrder.ended_at)
Index("ix_care_orders_created_at", CareOrder.created_at)  # staff figures: placed today


class CareAssignment(TimestampMixin, db.Model):
    """Each time an order is offered to a caregiver, and how it ended. A caregiver who
    rejected or let an order time out is never offered it again."""

    __tablename__ = "care_assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("care_orders.id"))
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="offered")
    by: Mapped[str] = mapped_column(String(16))  # family (chosen), match, staff
    deadline: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(200))
    # what this caregiver's own quote for the window came to (≤ what the family paid)
    quote_fen: Mapped[int] = mapped_column(Integer)

    def decide(self, status: str, at: datetime, reason: str | None = None):
        transition(self, "status", {"offered"}, status)
        self.decided_at, self.reason = at, reason


Index("ix_care_assignments_order", CareAssignment.order_id, CareAssignment.id)


class CareServiceRecord(TimestampMixin, db.Model):
    """A time-stamped note the caregiver writes during the service (medical: encrypted)."""

    __tablename__ = "care_service_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("care_orders.id"))
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"))
    recorded_at: Mapped[datetime]
    condition: Mapped[str | None] = mapped_column("condition_encrypted", EncryptedText)
    care_given: Mapped[str | None] = mapped_column("care_given_encrypted", EncryptedText)
    photo_file_ids: Mapped[list] = mapped_column(JSON, default=list)


Index("ix_care_service_records_order", CareServiceRecord.order_id, CareServiceRecord.id)


class CareOrderEvent(db.Model):
    """What happened to an order, in order (the family's and staff's timeline)."""

    __tablename__ = "care_order_events"
    __table_args__ = (UniqueConstraint("order_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("care_orders.id"))
    seq: Mapped[int] = mapped_column(SmallInteger)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))  # the order's status after it
    actor: Mapped[str] = mapped_column(String(16))  # family, caregiver, staff, system
    note: Mapped[str | None] = mapped_column(String(200))
