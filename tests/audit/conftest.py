"""Reading the audit log straight from the database (what was committed), for the tests."""
import json

import pytest
from sqlalchemy import select

from app.audit.models import AuditChange, AuditEntry
from app.extensions import db


@pytest.fixture
def admin(staff_factory):
    return staff_factory("admin")


@pytest.fixture
def operator(staff_factory):
    return staff_factory("operator")


@pytest.fixture
def reviewer(staff_factory):
    return staff_factory("reviewer")


def entries(app, **filters) -> list[dict]:
    """Every committed entry (oldest first) with its changes."""
    with app.app_context():
        rows = db.session.scalars(select(AuditEntry).filter_by(**filters)
                                  .order_by(AuditEntry.id)).all()
        found = []
        for entry in rows:
            changes = db.session.scalars(select(AuditChange).where(
                AuditChange.entry_id == entry.id).order_by(AuditChange.id)).all()
            found.append({
                "id": entry.id, "staff_id": entry.staff_id, "staff_role": entry.staff_role,
                "source": entry.source, "ip": entry.ip, "method": entry.method,
                "action": entry.action,
                "changes": [{"table": c.table_name, "row_id": c.row_id, "operation": c.operation,
                             "before": c.before, "after": c.after} for c in changes]})
        db.session.remove()
    return found


def only_entry(app, **filters) -> dict:
    found = entries(app, **filters)
    assert len(found) == 1, found
    return found[0]


def change_of(entry, table, row_id=None, operation=None) -> dict:
    matching = [c for c in entry["changes"] if c["table"] == table
                and (row_id is None or c["row_id"] == str(row_id))
                and (operation is None or c["operation"] == operation)]
    assert len(matching) == 1, (table, row_id, operation, entry["changes"])
    return matching[0]


def dump(app) -> str:
    """The whole log as text, to look for personal data in it."""
    return json.dumps(entries(app), ensure_ascii=False)
