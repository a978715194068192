"""The data dictionary (数据字典): one tree of reference codes per category, and Excel imports.

A node's parent is in the same category and is named by its code (`parent_code`), which is
what the Excel sheet holds too, so a whole category moves between environments by its codes
alone. Codes never change once created (hospitals and profiles store them); names, order,
parent and the active flag may.
"""
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin, transition
from app.extensions import db

# category key -> its Chinese name (code rules and depths: app/dictionary/services.py RULES)
CATEGORIES = {
    "region": "行政区划",
    "hospital_level": "医院等级",
    "id_type": "证件类型",
    "department": "标准科室",
    "care_skill": "护理技能",
    "education": "学历",
    "ethnicity": "民族",
}
IMPORT_STATUSES = ("queued", "validating", "applying", "succeeded", "failed")
IMPORT_MODES = ("upsert", "replace")


class DictNode(TimestampMixin, db.Model):
    __tablename__ = "dict_nodes"
    __table_args__ = (
        UniqueConstraint("category", "code", name="uq_dict_nodes_category_code"),
        # children of a node, in display order (the pickers' one query)
        Index("ix_dict_nodes_children", "category", "parent_code", "sort_order", "code"),
        Index("ix_dict_nodes_name", "category", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    parent_code: Mapped[str | None] = mapped_column(String(32))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class DictImport(TimestampMixin, db.Model):
    """One uploaded workbook and what became of it. The rows are validated in full before any
    is written, then written in one transaction with the final status."""

    __tablename__ = "dict_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    mode: Mapped[str] = mapped_column(String(16), default="upsert")
    filename: Mapped[str | None] = mapped_column(String(128))
    storage_key: Mapped[str | None] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    deleted_count: Mapped[int] = mapped_column(Integer, default=0)
    error_count: Mapped[int] = mapped_column(Integer, default=0)
    # JSON list of {"row", "column", "code", "message"}, the first MAX_REPORTED_ERRORS
    errors: Mapped[str | None] = mapped_column(Text)
    created_by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    finished_at: Mapped[datetime | None]

    def start_validating(self):
        transition(self, "status", {"queued"}, "validating")

    def start_applying(self):
        transition(self, "status", {"validating"}, "applying")

    def succeed(self, now: datetime):
        transition(self, "status", {"applying"}, "succeeded")
        self.finished_at = now

    def fail(self, now: datetime):
        transition(self, "status", {"queued", "validating", "applying"}, "failed")
        self.finished_at = now
