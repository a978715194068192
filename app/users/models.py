from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.common.crypto import EncryptedString, cipher, encrypted_length, indexed_pii
from app.common.models import TimestampMixin, transition
from app.extensions import db

USER_STATUSES = ("active", "banned")
REAL_NAME_STATUSES = ("none", "pending", "verified", "rejected")


class User(TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str | None] = mapped_column(String(32))
    avatar_url: Mapped[str | None] = mapped_column(String(512))
    gender: Mapped[str | None] = mapped_column(String(8))
    phone_encrypted: Mapped[str | None] = mapped_column(EncryptedString(encrypted_length(20)))
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    ban_reason: Mapped[str | None] = mapped_column(String(200))
    unban_reason: Mapped[str | None] = mapped_column(String(200))  # why the last ban was lifted
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    real_name_status: Mapped[str] = mapped_column(String(16), default="none")
    real_name_encrypted: Mapped[str | None] = mapped_column(EncryptedString(encrypted_length(32)))
    last_login_at: Mapped[datetime | None]

    phone = indexed_pii("phone_encrypted", "phone_index", "phone")

    @property
    def is_banned(self):
        return self.status == "banned"

    def revoke_tokens(self):
        self.token_version = (self.token_version or 1) + 1

    def ban(self, reason):
        transition(self, "status", {"active"}, "banned")
        self.ban_reason, self.unban_reason = reason, None
        self.revoke_tokens()

    def unban(self, reason=None):
        transition(self, "status", {"banned"}, "active")
        self.ban_reason, self.unban_reason = None, reason


class RealNameVerification(TimestampMixin, db.Model):
    """One submission of a user's real name; staff move it pending → verified | rejected."""

    __tablename__ = "real_name_verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name_encrypted: Mapped[str] = mapped_column(EncryptedString(encrypted_length(32)))
    id_type: Mapped[str] = mapped_column(String(32))
    id_number_encrypted: Mapped[str] = mapped_column(EncryptedString(encrypted_length(32)))
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    id_photo_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reject_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reviewed_at: Mapped[datetime | None]

    @property
    def name(self):
        return self.name_encrypted

    @property
    def id_number(self):
        return self.id_number_encrypted

    def set_identity(self, name, id_type, id_number):
        self.name_encrypted = name
        self.id_type = id_type
        self.id_number_encrypted = id_number
        self.id_number_index = cipher().blind_index(id_number, f"id:{id_type}")

    def approve(self, staff_id, at):
        transition(self, "status", {"pending"}, "verified")
        self.reviewed_by_staff_id, self.reviewed_at = staff_id, at

    def reject(self, staff_id, at, reason):
        transition(self, "status", {"pending"}, "rejected")
        self.reviewed_by_staff_id, self.reviewed_at, self.reject_reason = staff_id, at, reason


# the review queue and the pending count (oldest first, by status)
Index("ix_real_name_verifications_status", RealNameVerification.status, RealNameVerification.id)
