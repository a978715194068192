"""Caregivers (护工 / 陪诊员): the profile a user applies with, what it offers, and its review.

A caregiver row is also the application: `draft → pending_review → approved | rejected`,
`approved ⇄ suspended` (by staff, or by the expiry job when a required certificate lapses).
Once approved, edits of vetted fields wait in a `CaregiverRevision` and the caregiver stays
listed with the old values until staff decide.
"""
from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, Double, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.crypto import EncryptedString, EncryptedText, encrypted_length, indexed_pii
from app.common.models import TimestampMixin, transition
from app.extensions import db

CAREGIVER_STATUSES = {"draft": "草稿", "pending_review": "待审核", "approved": "已通过",
                      "rejected": "已驳回", "suspended": "已暂停接单"}
SUSPENDED_BY = {"staff": "平台暂停", "expiry": "证件过期"}
# care type → (name, unit); a caregiver prices each type it offers, per unit
CARE_TYPES = {
    "full_day": ("全天陪护", "day"),
    "day_shift": ("日间陪护", "shift"),
    "night_shift": ("夜间陪护", "shift"),
    "hourly": ("按小时陪护", "hour"),
    "escort": ("陪诊", "visit"),
}
PRICE_UNITS = {"day": "天", "shift": "班", "hour": "小时", "visit": "次"}
# the maintained skill list starts with these (code, name); staff add or retire tags later
DEFAULT_SKILLS = [
    ("post_surgery", "术后护理"), ("elderly", "老年护理"), ("disability", "失能护理"),
    ("postpartum", "产后护理"), ("escort", "陪诊"), ("rehabilitation", "康复护理"),
    ("dementia", "认知症照护"), ("pediatric", "儿童陪护"), ("oncology", "肿瘤护理"),
    ("stroke", "卒中护理"),
]
# fields whose change an approved caregiver cannot make alone (they go through review)
VETTED_FIELDS = ("name", "gender", "birth_date", "photo_file_id", "years_experience",
                 "work_history", "bio", "skills")


class CareSkill(TimestampMixin, db.Model):
    """A tag from the maintained list. Retired tags stay (old profiles point at them)."""

    __tablename__ = "care_skills"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class Caregiver(TimestampMixin, db.Model):
    __tablename__ = "caregivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    # names and phones are personal data: encrypted; the public view masks the name
    name: Mapped[str | None] = mapped_column("name_encrypted",
                                             EncryptedString(encrypted_length(32)))
    gender: Mapped[str | None] = mapped_column(String(8))
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone_encrypted: Mapped[str | None] = mapped_column(EncryptedString(encrypted_length(20)))
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    # where they work: a city, districts in it (CaregiverDistrict), hospitals (CaregiverHospital)
    city_code: Mapped[str | None] = mapped_column(String(6))
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    years_experience: Mapped[int] = mapped_column(Integer, default=0)
    bio: Mapped[str | None] = mapped_column(Text)
    # [{"start": "YYYY-MM", "end": "YYYY-MM" | null, "employer": str, "role": str}, ...]
    work_history: Mapped[list | None] = mapped_column(JSON)
    photo_file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    # service rules
    accepts_urgent: Mapped[bool] = mapped_column(Boolean, default=False)  # start within 2 h
    night_service: Mapped[bool] = mapped_column(Boolean, default=False)
    night_surcharge_fen: Mapped[int] = mapped_column(Integer, default=0)  # per night shift/day
    # review; the counters give each round's inbox message its own reference
    review_round: Mapped[int] = mapped_column(Integer, default=0)  # +1 per submission
    suspension_count: Mapped[int] = mapped_column(Integer, default=0)  # +1 per suspension
    submitted_at: Mapped[datetime | None]
    reviewed_at: Mapped[datetime | None]
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]  # first listing
    suspended_by: Mapped[str | None] = mapped_column(String(16))
    suspend_reason: Mapped[str | None] = mapped_column(String(200))
    # what orders and reviews add up (kept here so search can filter and sort on them)
    rating_avg: Mapped[float | None] = mapped_column(Double)  # None until the first review
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_orders: Mapped[int] = mapped_column(Integer, default=0)

    phone = indexed_pii("phone_encrypted", "phone_index", "caregiver_phone")

    skills = relationship("CaregiverSkill", cascade="all, delete-orphan",
                          order_by="CaregiverSkill.skill_code")
    districts = relationship("CaregiverDistrict", cascade="all, delete-orphan",
                             order_by="CaregiverDistrict.district_code")
    hospitals = relationship("CaregiverHospital", cascade="all, delete-orphan",
                             order_by="CaregiverHospital.hospital_id")
    prices = relationship("CaregiverPrice", cascade="all, delete-orphan",
                          order_by="CaregiverPrice.care_type")

    @property
    def is_listed(self) -> bool:
        return self.status == "approved"

    def submit(self):
        transition(self, "status", {"draft", "rejected"}, "pending_review")
        self.review_round = (self.review_round or 0) + 1

    def approve(self):
        transition(self, "status", {"pending_review"}, "approved")
        self.reject_reason = None

    def reject(self, reason: str):
        transition(self, "status", {"pending_review"}, "rejected")
        self.reject_reason = reason

    def suspend(self, by: str, reason: str):
        transition(self, "status", {"approved"}, "suspended")
        self.suspended_by, self.suspend_reason = by, reason
        self.suspension_count = (self.suspension_count or 0) + 1

    def reinstate(self):
        transition(self, "status", {"suspended"}, "approved")
        self.suspended_by = self.suspend_reason = None


# search filters and sorts over listed caregivers (see app/marketplace)
Index("ix_caregivers_status_city", Caregiver.status, Caregiver.city_code)
Index("ix_caregivers_status_rating", Caregiver.status, Caregiver.rating_avg)
Index("ix_caregivers_status_experience", Caregiver.status, Caregiver.years_experience)
Index("ix_caregivers_status_orders", Caregiver.status, Caregiver.completed_orders)
Index("ix_caregivers_status_birth", Caregiver.status, Caregiver.birth_date)


class CaregiverSkill(db.Model):
    __tablename__ = "caregiver_skills"

    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), primary_key=True)
    skill_code: Mapped[str] = mapped_column(ForeignKey("care_skills.code"), primary_key=True)


Index("ix_caregiver_skills_skill", CaregiverSkill.skill_code, CaregiverSkill.caregiver_id)


class CaregiverDistrict(db.Model):
    __tablename__ = "caregiver_districts"

    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6), primary_key=True)


Index("ix_caregiver_districts_district", CaregiverDistrict.district_code,
      CaregiverDistrict.caregiver_id)


class CaregiverHospital(db.Model):
    __tablename__ = "caregiver_hospitals"

    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), primary_key=True)


Index("ix_caregiver_hospitals_hospital", CaregiverHospital.hospital_id,
      CaregiverHospital.caregiver_id)


class CaregiverPrice(TimestampMixin, db.Model):
    """The price of one care type, in fen per the type's unit (CARE_TYPES)."""

    __tablename__ = "caregiver_prices"
    __table_args__ = (UniqueConstraint("caregiver_id", "care_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"))
    care_type: Mapped[str] = mapped_column(String(16))
    price_fen: Mapped[int] = mapped_column(Integer)


Index("ix_caregiver_prices_type_price", CaregiverPrice.care_type, CaregiverPrice.price_fen,
      CaregiverPrice.caregiver_id)

REVISION_STATUSES = {"pending": "待审核", "approved": "已通过", "rejected": "已驳回",
                     "withdrawn": "已撤回"}


class CaregiverRevision(TimestampMixin, db.Model):
    """An approved caregiver's proposed change of vetted fields; at most one pending at a time
    (a new edit replaces the pending one's changes)."""

    __tablename__ = "caregiver_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    # the proposed values as JSON text, encrypted (it can hold the name)
    changes_encrypted: Mapped[str] = mapped_column(EncryptedText)
    reject_reason: Mapped[str | None] = mapped_column(String(200))
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    reviewed_at: Mapped[datetime | None]

    def approve(self):
        transition(self, "status", {"pending"}, "approved")

    def reject(self, reason: str):
        transition(self, "status", {"pending"}, "rejected")
        self.reject_reason = reason

    def withdraw(self):
        transition(self, "status", {"pending"}, "withdrawn")
