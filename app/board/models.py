"""The discussion board (讨论区): sections, posts with images, replies, reports, banned words.

Posts and replies are never deleted: an author's delete and a moderator's hide are states, so a
report keeps pointing at what was reported and a hide can be undone. What users see is
`status == "visible"` only (the author included: hidden content is gone for everyone but staff).
"""
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin, transition
from app.extensions import db

# seeded by the migration (and restored after each test's truncation)
DEFAULT_SECTIONS = (("experience", "就医经验"), ("consult", "健康咨询"), ("care", "陪护交流"))
CONTENT_STATUSES = {"visible": "正常", "hidden": "已隐藏", "deleted": "已删除"}
REPORT_STATUSES = {"open": "待处理", "handled": "已处理(已隐藏)", "dismissed": "已驳回"}
TARGET_TYPES = {"post": "帖子", "reply": "回复"}
MAX_IMAGES = 9
PRECISE_DATETIME = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


class BoardSection(TimestampMixin, db.Model):
    __tablename__ = "board_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(32))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class _Moderated:
    """visible → hidden → visible (staff), visible → deleted (the author)."""

    def hide(self, staff_id: int, reason: str, now: datetime):
        transition(self, "status", {"visible"}, "hidden")
        self.hidden_by_staff_id, self.hide_reason, self.hidden_at = staff_id, reason, now

    def restore(self):
        transition(self, "status", {"hidden"}, "visible")
        self.hidden_by_staff_id, self.hide_reason, self.hidden_at = None, None, None

    def delete_by_author(self):
        transition(self, "status", {"visible"}, "deleted")


class BoardPost(_Moderated, TimestampMixin, db.Model):
    __tablename__ = "board_posts"
    __table_args__ = (
        Index("ix_board_posts_section_new", "section_id", "status", "id"),
        Index("ix_board_posts_section_active", "section_id", "status", "last_activity_at"),
        Index("ix_board_posts_author", "author_user_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(ForeignKey("board_sections.id"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(String(5000))
    status: Mapped[str] = mapped_column(String(16), default="visible")
    # visible replies only, and the time of the latest one (else the post's own time): kept by
    # services.refresh_reply_stats whenever a reply appears, goes or comes back
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    last_reply_at: Mapped[datetime | None]
    # microseconds on MariaDB too (DATETIME is whole seconds there): "latest reply first" must
    # order two replies in the same second
    last_activity_at: Mapped[datetime] = mapped_column(PRECISE_DATETIME)
    hidden_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    hide_reason: Mapped[str | None] = mapped_column(String(200))
    hidden_at: Mapped[datetime | None]

    images: Mapped[list["BoardPostImage"]] = relationship(
        order_by="BoardPostImage.position", cascade="all, delete-orphan", lazy="selectin")


class BoardPostImage(db.Model):
    __tablename__ = "board_post_images"
    __table_args__ = (UniqueConstraint("post_id", "position"),
                      UniqueConstraint("post_id", "file_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("board_posts.id"))
    file_id: Mapped[int] = mapped_column(ForeignKey("stored_files.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)


class BoardReply(_Moderated, TimestampMixin, db.Model):
    __tablename__ = "board_replies"
    __table_args__ = (Index("ix_board_replies_post", "post_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("board_posts.id"))
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="visible")
    hidden_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    hide_reason: Mapped[str | None] = mapped_column(String(200))
    hidden_at: Mapped[datetime | None]


class BoardReport(TimestampMixin, db.Model):
    """A user's report of a post or a reply: one per user per item (the unique key)."""

    __tablename__ = "board_reports"
    __table_args__ = (UniqueConstraint("reporter_user_id", "target_type", "target_id"),
                      Index("ix_board_reports_queue", "status", "id"),
                      Index("ix_board_reports_target", "target_type", "target_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(8))  # post | reply
    target_id: Mapped[int] = mapped_column(Integer)
    post_id: Mapped[int] = mapped_column(ForeignKey("board_posts.id"))
    reporter_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="open")
    handled_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    handled_at: Mapped[datetime | None]

    def close(self, status: str, staff_id: int, now: datetime):
        transition(self, "status", {"open"}, status)
        self.handled_by_staff_id, self.handled_at = staff_id, now


class BoardBannedWord(TimestampMixin, db.Model):
    __tablename__ = "board_banned_words"

    id: Mapped[int] = mapped_column(primary_key=True)
    word: Mapped[str] = mapped_column(String(32), unique=True)  # stored normalised (casefolded)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
