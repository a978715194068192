"""A caregiver's documents: ID card, nursing certificates, health certificate, each with its
uploaded files. Staff review each `pending → approved | rejected`; a resubmission of a rejected
one goes back to `pending`. Expiry is a date, not a state: an approved document whose
`expires_on` has passed no longer counts as verified (the daily job warns 30 days ahead and
suspends a caregiver whose required kind has lapsed)."""
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.crypto import EncryptedString, encrypted_length
from app.common.models import TimestampMixin, transition
from app.extensions import db

QUALIFICATION_KINDS = {"id_card": "身份证", "nursing_certificate": "护理资格证书",
                       "health_certificate": "健康证"}
QUALIFICATION_STATUSES = {"pending": "待审核", "approved": "已通过", "rejected": "已驳回"}


class Qualification(TimestampMixin, db.Model):
    __tablename__ = "qualifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(64))  # the certificate's name as printed
    number: Mapped[str] = mapped_column("number_encrypted", EncryptedString(encrypted_length(64)))
    # blind index of the number per kind: the same ID card cannot back two caregivers
    number_index: Mapped[str] = mapped_column(String(64), index=True)
    issuer: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    review_round: Mapped[int] = mapped_column(Integer, default=1)  # +1 per resubmission
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reviewed_at: Mapped[datetime | None]
    expiry_warned_at: Mapped[datetime | None]

    files = relationship("QualificationFile", cascade="all, delete-orphan",
                         order_by="QualificationFile.file_id")

    def approve(self):
        transition(self, "status", {"pending"}, "approved")
        self.reject_reason = None

    def reject(self, reason: str):
        transition(self, "status", {"pending"}, "rejected")
        self.reject_reason = reason

    def resubmit(self):
        transition(self, "status", {"rejected", "pending"}, "pending")
        self.review_round = (self.review_round or 0) + 1


Index("ix_qualifications_status_kind", Qualification.status, Qualification.kind)
Index("ix_qualifications_expiry", Qualification.status, Qualification.expires_on)


class QualificationFile(db.Model):
    __tablename__ = "qualification_files"

    qualification_id: Mapped[int] = mapped_column(ForeignKey("qualifications.id"),
                                                  primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"), primary_key=True)
