"""Hospital onboarding: applications reviewed by staff, and the API keys of approved hospitals.

pending → approved (a Hospital row and its first API key are created) | rejected (with a reason).

An API key is `key_id` (public, "hk_" + 24 hex) and a secret ("hs_" + 43 url-safe base64
characters). The server needs the secret itself to check HMAC signatures, so it is stored
encrypted (EncryptedString, the PII key), never in clear, and shown exactly once, when issued.
A key is `active` until revoked (active → revoked, immediately refused); a rotation gives the
old key an `expires_at` (now + OPEN_API_KEY_OVERLAP_SECONDS) and it is refused after that.
"""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.crypto import EncryptedString, encrypted_length
from app.common.models import TimestampMixin, transition
from app.common.time import utcnow
from app.extensions import db

APPLICATION_STATUSES = {"pending": "待审核", "approved": "已通过", "rejected": "已驳回"}
KEY_STATUSES = {"active": "有效", "revoked": "已吊销"}


class HospitalApplication(TimestampMixin, db.Model):
    __tablename__ = "hospital_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(4))
    province_code: Mapped[str] = mapped_column(String(6))
    city_code: Mapped[str] = mapped_column(String(6))
    district_code: Mapped[str] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(200))
    # the hospital's public switchboard (shown to patients once approved); optional
    phone: Mapped[str | None] = mapped_column(String(32))
    # the contact person: personal data, encrypted, masked on output
    contact_name: Mapped[str] = mapped_column("contact_name_encrypted",
                                              EncryptedString(encrypted_length(32)))
    contact_phone: Mapped[str] = mapped_column("contact_phone_encrypted",
                                               EncryptedString(encrypted_length(32)))
    licence_file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    hospital_id: Mapped[int | None] = mapped_column(ForeignKey("hospitals.id"))

    hospital = relationship("Hospital")

    def approve(self, staff_id: int, hospital_id: int, at: datetime):
        transition(self, "status", {"pending"}, "approved")
        self.reviewed_by, self.reviewed_at, self.hospital_id = staff_id, at, hospital_id

    def reject(self, staff_id: int, reason: str, at: datetime):
        transition(self, "status", {"pending"}, "rejected")
        self.reviewed_by, self.reviewed_at, self.reject_reason = staff_id, at, reason


class HospitalApiKey(db.Model):
    __tablename__ = "hospital_api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret: Mapped[str] = mapped_column("secret_encrypted", EncryptedString(encrypted_length(64)))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)

    def usable(self, now: datetime) -> bool:
        return self.status == "active" and (self.expires_at is None or now < self.expires_at)

    def expire_at(self, at: datetime):
        """Rotation: valid until `at` (never later than an earlier expiry)."""
        transition(self, "status", {"active"}, "active")
        if self.expires_at is None or at < self.expires_at:
            self.expires_at = at

    def revoke(self, at: datetime):
        transition(self, "status", {"active"}, "revoked")
        self.revoked_at = at
