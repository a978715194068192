"""Platform settings staff can change (price standards, …). A key missing here means the
default in config applies."""
from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db


class PlatformSetting(TimestampMixin, db.Model):
    __tablename__ = "platform_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON)
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
