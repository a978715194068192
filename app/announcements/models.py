from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin, transition
from app.extensions import db

SEGMENTS = {"all": "全部用户", "caregivers": "护工", "city": "某城市的用户",
            "booking_range": "某日期范围内有挂号的用户"}


class Announcement(TimestampMixin, db.Model):
    """A staff broadcast: an inbox message for every user of the segment and a WeChat push to
    those with a subscription left. Sent in batches of users ordered by id; `cursor_user_id`
    is the last user a finished batch covered, so a batch run twice (or after a crash) resumes
    where the last one committed."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(500))
    page: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[str] = mapped_column(String(16))
    city_code: Mapped[str | None] = mapped_column(String(6))
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="sending")  # sending | completed
    total: Mapped[int] = mapped_column(Integer, default=0)
    inbox_count: Mapped[int] = mapped_column(Integer, default=0)
    cursor_user_id: Mapped[int] = mapped_column(Integer, default=0)
    created_by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"))
    finished_at: Mapped[datetime | None]

    def complete(self, now: datetime):
        transition(self, "status", {"sending"}, "completed")
        self.finished_at = now
