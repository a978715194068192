"""Reviews of completed care orders: one per order by the family, one reply by the caregiver.
The caregiver's rating_avg / rating_count (app/caregivers/models.py) follow every review."""
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db

# the tags a family can pick (code → what the page shows)
REVIEW_TAGS = {
    "punctual": "准时守约", "professional": "专业细致", "patient": "耐心周到",
    "friendly": "态度亲切", "communicative": "沟通顺畅", "experienced": "经验丰富",
    "clean": "干净整洁", "late": "迟到", "careless": "不够细致", "poor_attitude": "态度欠佳",
}


class CareReview(TimestampMixin, db.Model):
    __tablename__ = "care_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("care_orders.id"), unique=True)
    caregiver_id: Mapped[int] = mapped_column(ForeignKey("caregivers.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    stars: Mapped[int] = mapped_column(SmallInteger)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    text: Mapped[str | None] = mapped_column(Text)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]


Index("ix_care_reviews_caregiver", CareReview.caregiver_id, CareReview.id)
