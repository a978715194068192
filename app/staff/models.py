from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.common.time import utcnow
from app.extensions import db

STAFF_ROLES = {"admin": "管理员", "operator": "运营", "reviewer": "审核员"}


class StaffUser(TimestampMixin, db.Model):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    display_name: Mapped[str] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    official_openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # the staff member's own mini-program account (users.id), if any: they may not review
    # themselves. No foreign key: adding one on SQLite rebuilds this much-referenced table.
    user_id: Mapped[int | None] = mapped_column(Integer, unique=True, index=True)
    last_login_at: Mapped[datetime | None]
    # password guessing: consecutive failed logins (reset by a success) and the lock they earned
    failed_login_count: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]

    def has_role(self, *roles):
        return self.role == "admin" or self.role in roles


class UserWarningRecord(db.Model):
    """A warning staff gave a user (the user reads it in their inbox). Append-only: a warning is
    a record of what was said, never edited; the count is what staff weigh before a ban."""

    __tablename__ = "user_warnings"
    __table_args__ = (Index("ix_user_warnings_user_time", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
