"""Reading the audit log. There is deliberately no service that updates or deletes it."""
from datetime import timezone

from sqlalchemy import exists, select

from app.audit.models import AuditChange, AuditEntry
from app.common.pagination import paginate
from app.errors import NotFound
from app.extensions import db


class AuditEntryNotFound(NotFound):
    code = "audit_entry_not_found"
    message = "审计记录不存在"


def list_entries(actor, *, page, page_size, staff_id=None, table=None, row_id=None,
                 action=None, since=None, until=None) -> dict:
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if staff_id is not None:
        query = query.where(AuditEntry.staff_id == staff_id)
    if action:
        query = query.where(AuditEntry.action.startswith(action, autoescape=True))
    if since is not None:
        query = query.where(AuditEntry.occurred_at >= _utc(since))
    if until is not None:
        query = query.where(AuditEntry.occurred_at < _utc(until))
    if table:
        touched = AuditChange.entry_id == AuditEntry.id
        condition = AuditChange.table_name == table
        if row_id:
            condition = condition & (AuditChange.row_id == row_id)
        query = query.where(exists().where(touched, condition))
    return paginate(query, page, page_size)


def get_entry(actor, *, entry_id) -> dict:
    entry = db.session.get(AuditEntry, entry_id)
    if entry is None:
        raise AuditEntryNotFound()
    changes = db.session.scalars(select(AuditChange).where(AuditChange.entry_id == entry_id)
                                 .order_by(AuditChange.id)).all()
    return {**{column.key: getattr(entry, column.key) for column in AuditEntry.__table__.c},
            "changes": changes}


def _utc(moment):
    return moment.astimezone(timezone.utc).replace(tzinfo=None)  # stored as naive UTC
