from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db


class StaffBindCode(TimestampMixin, db.Model):
    """A one-time code a signed-in staff member sends as 「绑定 <code>」 to the official account.

    Only its HMAC is stored (a database reader cannot bind their own WeChat to someone's
    account); it works once, within BIND_CODE_TTL, and issuing a new one voids the old ones."""

    __tablename__ = "staff_bind_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_openid: Mapped[str | None] = mapped_column(String(64))

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and self.expires_at > now
