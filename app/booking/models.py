from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.crypto import EncryptedString, encrypted_length
from app.common.models import TimestampMixin, transition
from app.extensions import db

# pending_payment → booked → (visited | no_show); pending_payment → closed (pay deadline
# passed, or 停诊 before paying); pending_payment → cancelled (the user gave up before paying);
# booked → cancelled → refunded; booked → stopped → refunded (停诊)
STATUS_NAMES = {
    "pending_payment": "待支付", "booked": "已预约", "visited": "已就诊", "no_show": "爽约",
    "closed": "已关闭", "cancelled": "已取消", "stopped": "已停诊", "refunded": "已退款",
}
ACTIVE_STATUSES = ("pending_payment", "booked")


class Registration(TimestampMixin, db.Model):
    """挂号订单. `active` is True while it holds a slot (pending_payment, booked) and NULL after,
    so the unique key allows one active booking per patient per schedule, any number of old ones."""

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("patient_id", "schedule_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"))
    # where it was booked from, as blind indexes of the device id and the address
    # (app/booking_limits caps them)
    device_index: Mapped[str | None] = mapped_column(String(64), index=True)
    ip_index: Mapped[str | None] = mapped_column(String(64), index=True)
    visit_date: Mapped[date] = mapped_column(Date, index=True)
    period: Mapped[str] = mapped_column(String(16))
    fee_fen: Mapped[int] = mapped_column(Integer)
    patient_name: Mapped[str] = mapped_column("patient_name_encrypted",  # personal data
                                              EncryptedString(encrypted_length(32)))
    status: Mapped[str] = mapped_column(String(24), default="pending_payment", index=True)
    active: Mapped[bool | None] = mapped_column(Boolean, default=True)
    visit_number: Mapped[int | None] = mapped_column(Integer)
    paid_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    stopped_at: Mapped[datetime | None]
    visited_at: Mapped[datetime | None]
    refunded_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(80))  # 停诊: why (stopped or closed)
    # points (app/points) spent on this order and what they took off fee_fen: the payment is
    # for fee_fen - points_discount_fen
    points_used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    points_discount_fen: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    schedule = relationship("Schedule")
    hospital = relationship("Hospital")
    department = relationship("Department")
    doctor = relationship("Doctor")

    def mark_booked(self, visit_number: int, at: datetime):
        transition(self, "status", {"pending_payment"}, "booked")
        self.visit_number, self.paid_at = visit_number, at

    def close(self, at: datetime):
        transition(self, "status", {"pending_payment"}, "closed")
        self.active, self.closed_at = None, at

    def cancel(self, at: datetime):
        transition(self, "status", {"pending_payment", "booked"}, "cancelled")
        self.active, self.cancelled_at = None, at

    def stop(self, at: datetime, reason: str):
        transition(self, "status", {"booked"}, "stopped")
        self.active, self.stopped_at, self.stop_reason = None, at, reason[:80]

    def close_for_stop(self, at: datetime, reason: str):
        """停诊 before the order was paid: closed, with the clinic's reason."""
        self.close(at)
        self.stop_reason = reason[:80]

    def mark_refunded(self, at: datetime):
        transition(self, "status", {"cancelled", "stopped"}, "refunded")
        self.refunded_at = at

    def mark_visited(self, at: datetime):
        transition(self, "status", {"booked"}, "visited")
        self.active, self.visited_at = None, at

    def mark_no_show(self):
        transition(self, "status", {"booked"}, "no_show")
        self.active = None


# staff figures: registrations placed today (the official account's 今日, the dashboard)
Index("ix_registrations_created_at", Registration.created_at)
