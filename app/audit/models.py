"""The audit log: one entry per staff action (a request or a console action), and the row
changes it made, written in the action's own transaction (app/audit/listeners.py).

Append-only: nothing in the app updates or deletes these rows, and the ORM refuses to (below
and in listeners.py). The ORM guard does not stop raw SQL; in production the application's
database user should hold only SELECT and INSERT on audit_entries and audit_changes
(retention purges, if ever, run as another user)."""
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.common.time import utcnow
from app.errors import AppError
from app.extensions import db


class AuditLogImmutable(AppError):
    status = 409
    code = "audit_log_immutable"
    message = "审计日志只能追加,不能修改或删除"


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_staff_time", "staff_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # no foreign key: the log outlives whatever happens to the staff row
    staff_id: Mapped[int] = mapped_column(Integer)
    staff_role: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # api | console | job | cli
    ip: Mapped[str | None] = mapped_column(String(45))
    method: Mapped[str | None] = mapped_column(String(8))
    # the request path, or the console/job action's name
    action: Mapped[str] = mapped_column(String(200), index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))


class AuditChange(db.Model):
    __tablename__ = "audit_changes"
    __table_args__ = (Index("ix_audit_changes_row", "table_name", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("audit_entries.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str | None] = mapped_column(String(64))  # primary key, "a,b" if composite
    operation: Mapped[str] = mapped_column(String(16))  # insert | update | delete
    # {column: value}; personal data appears as REDACTED, never as its value
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)


AUDIT_TABLES = frozenset({AuditEntry.__tablename__, AuditChange.__tablename__})


def _refuse(mapper, connection, target):
    raise AuditLogImmutable()


for _model in (AuditEntry, AuditChange):
    event.listen(_model, "before_update", _refuse)
    event.listen(_model, "before_delete", _refuse)
