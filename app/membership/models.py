"""Uses of membership privileges that are limited per period (a late free cancellation counts
against the month's allowance). One row per order and privilege: a retried cancel is not a
second use."""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class PrivilegeUse(db.Model):
    __tablename__ = "membership_privilege_uses"
    __table_args__ = (UniqueConstraint("privilege", "order_type", "order_id"),
                      Index("ix_membership_privilege_uses_user_time", "user_id", "privilege",
                            "used_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    privilege: Mapped[str] = mapped_column(String(32))
    order_type: Mapped[str] = mapped_column(String(32))
    order_id: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime] = mapped_column(DateTime)
