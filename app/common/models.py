"""Column helpers shared by every domain's models."""
from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import utcnow
from app.errors import Conflict


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)


class InvalidTransition(Conflict):
    code = "invalid_state_transition"
    message = "当前状态不允许此操作"


def transition(obj, field: str, allowed_from: set, to: str):
    """Move obj.field to `to` only from one of `allowed_from`; anything else is a 409."""
    current = getattr(obj, field)
    if current not in allowed_from:
        raise InvalidTransition(details={"from": current, "to": to})
    setattr(obj, field, to)
