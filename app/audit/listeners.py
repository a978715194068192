"""Recording staff actions at the ORM level, so no service can forget to.

While a request (or a console/job action, see `acting_as`) acts for a staff member, every row
the session inserts, updates or deletes, and every bulk UPDATE/DELETE it executes, is written
to audit_changes under one audit_entries row per action, with Core inserts on the flush's own
connection: in the same transaction, so a rollback leaves no trace and a commit always has
its audit. An action that commits twice adds the second commit's changes to the same entry.

Cost when nobody staff is acting: one context lookup per flush and per UPDATE/DELETE
statement. When staff act: one INSERT for the entry, one executemany for the changes, a
SELECT of the staff role, and for bulk statements a SELECT before and after.

Personal data never reaches the log as a value: encrypted columns, blind indexes, phones,
openids, password hashes and message bodies are recorded as REDACTED when they change.
"""
import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from urllib.parse import urlencode

from flask import g, has_request_context, request
from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm.base import NEVER_SET, NO_VALUE
from sqlalchemy.sql import ClauseElement

from app.audit.models import AUDIT_TABLES, AuditChange, AuditEntry, AuditLogImmutable
from app.common.crypto import EncryptedString
from app.common.time import utcnow

REDACTED = "<redacted>"
UNKNOWN = "<unknown>"
COMPUTED = "<computed in SQL>"
BULK_ROWS_RECORDED = 500  # a bulk statement touching more rows is recorded as a summary
SKIPPED_COLUMNS = frozenset({"created_at", "updated_at"})  # the entry has the time
_SENSITIVE_NAMES = frozenset({"password", "id_number", "real_name", "nickname", "display_name",
                              "contact_name", "patient_name", "session_key"})
_SENSITIVE_SUFFIXES = ("_index", "_hash", "_encrypted", "phone", "openid", "unionid", "secret")
# free text that may carry names (Names are personal data too)
_SENSITIVE_COLUMNS = frozenset({("notifications", "title"), ("notifications", "body"),
                                ("message_pushes", "data"), ("files", "original_name")})


@dataclass
class Actor:
    staff_id: int
    source: str          # api | console | job | cli | wechat
    action: str          # request path or action name
    method: str | None = None
    ip: str | None = None
    request_id: str | None = None
    role: str | None = None
    entry_id: int | None = None  # set once the action's entry is committed


_explicit_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)


@contextmanager
def acting_as(staff_id: int, action: str, *, source: str = "job", role: str | None = None):
    """Audit what runs inside as an action of `staff_id` (console actions outside a staff
    request, jobs or CLI commands started by a staff member)."""
    token = _explicit_actor.set(Actor(staff_id=staff_id, source=source, action=action[:200],
                                      role=role))
    try:
        yield
    finally:
        _explicit_actor.reset(token)


def current_actor() -> Actor | None:
    actor = _explicit_actor.get()
    if actor is not None:
        return actor
    if not has_request_context():
        return None
    actor = g.get("audit_actor")
    if actor is None:
        staff_id = g.get("current_staff_id")
        if staff_id is None:
            return None
        # the client address as the app computes it: ProxyFix already applied
        # TRUSTED_PROXY_HOPS to remote_addr (app/__init__.py)
        actor = g.audit_actor = Actor(
            staff_id=staff_id, source="api" if request.path.startswith("/api/") else "console",
            action=request.path[:200], method=request.method, ip=request.remote_addr,
            request_id=g.get("request_id"))
    return actor


# -- what is recorded of a row ------------------------------------------------------------

_columns_by_mapper: dict = {}


def _columns(mapper):
    """[(attribute key, column name, redacted)] of a mapper, computed once."""
    columns = _columns_by_mapper.get(mapper)
    if columns is None:
        table = mapper.local_table.name
        columns = []
        for prop in mapper.column_attrs:
            column = prop.columns[0]
            if column.name in SKIPPED_COLUMNS:
                continue
            columns.append((prop.key, column.name, is_sensitive(table, column)))
        _columns_by_mapper[mapper] = columns
    return columns


def is_sensitive(table: str, column) -> bool:
    name = column.name.lower()
    return (isinstance(column.type, EncryptedString) or name.endswith(_SENSITIVE_SUFFIXES)
            or name in _SENSITIVE_NAMES or (table, column.name) in _SENSITIVE_COLUMNS)


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return _jsonable(value.value)
    if isinstance(value, ClauseElement):
        return COMPUTED
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (list, tuple, dict)):
        return json.loads(json.dumps(value, default=str, ensure_ascii=False))
    return str(value)


def _shown(value, redacted: bool):
    if redacted:
        return None if value is None else REDACTED
    return _jsonable(value)


def _row_id(values) -> str | None:
    if any(value is None for value in values):
        return None
    return ",".join(str(value) for value in values)[:64]


# -- the entry and its changes --------------------------------------------------------------
# Changes wait in session.info["audit_pending"] until the outermost commit, merged per row (a
# row flushed three times is one change, its first before and its last after), each with the
# transaction it was recorded in: a rolled-back savepoint drops what was recorded inside it.

def _current_transaction(session):
    return session.get_nested_transaction() or session.get_transaction()


def _record(session, actor: Actor, changes: list[dict]):
    if not changes:
        return
    if session.info.get("audit_committing"):  # a flush after our before_commit: write now
        _write(session, actor, changes)
        return
    pending = session.info.setdefault("audit_pending", {})
    transaction = _current_transaction(session)
    session.info["audit_actor"] = actor
    for change in changes:
        key = (change["table_name"], change["row_id"], transaction)
        held = pending.get(key) if change["row_id"] is not None else None
        if held is None:
            pending[key if change["row_id"] is not None else object()] = (change, transaction)
        elif not _merge(held[0], change):
            del pending[key]  # inserted and deleted within the action: nothing to show


def _merge(old: dict, new: dict) -> bool:
    """Fold `new` into `old` (same row); False when nothing is left."""
    if new["operation"] == "delete":
        if old["operation"] == "insert":
            return False
        old["operation"], old["after"] = "delete", None
        old["before"] = {**new["before"], **(old["before"] or {})}
        return True
    if old["operation"] == "delete":  # the key reused by a new row: show it as it ends up
        old["operation"], old["after"] = "update", dict(new["after"] or {})
        return True
    old["after"] = {**(old["after"] or {}), **(new["after"] or {})}
    if old["operation"] == "update":
        for name, value in (new["before"] or {}).items():
            old["before"].setdefault(name, value)
        for name in [name for name in old["after"] if old["before"].get(name) == old["after"][name]
                     and old["before"][name] not in (REDACTED, UNKNOWN, COMPUTED)]:
            del old["before"][name], old["after"][name]
        return bool(old["after"])
    return True


def _entry_id(session, connection, actor: Actor) -> int:
    if actor.entry_id is not None:  # an earlier commit of this same action
        return actor.entry_id
    if actor.role is None:
        from app.staff.models import StaffUser
        actor.role = connection.execute(select(StaffUser.__table__.c.role).where(
            StaffUser.__table__.c.id == actor.staff_id)).scalar()
    result = connection.execute(insert(AuditEntry.__table__).values(
        occurred_at=utcnow(), staff_id=actor.staff_id, staff_role=actor.role,
        source=actor.source, ip=actor.ip, method=actor.method, action=actor.action,
        request_id=actor.request_id))
    session.info["audit_new_entry"] = (actor, result.inserted_primary_key[0])
    return result.inserted_primary_key[0]


def _write(session, actor: Actor, changes: list[dict]):
    if not changes:
        return
    connection = session.connection()
    entry_id = session.info.get("audit_new_entry", (None, None))[1] or _entry_id(
        session, connection, actor)
    connection.execute(insert(AuditChange.__table__),
                       [{**change, "entry_id": entry_id} for change in changes])


def record_action(session, **details) -> bool:
    """An entry for the acting staff member's action when it changes no rows (a requeue or a
    run-now in Redis), written in `session`'s transaction: it exists once the caller commits,
    and joins any row changes the same commit makes. `details` are appended to the action as a
    query string (the entry has no other place for them; prefix filters still match). False
    when nobody is acting."""
    actor = current_actor()
    if actor is None:
        return False
    if details:
        actor = replace(actor, action=f"{actor.action}?{urlencode(details)}"[:200])
    if session.info.get("audit_new_entry") is None:
        _entry_id(session, session.connection(), actor)
    return True


def _before_commit(session):
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: its changes wait for the outermost commit
    if not session.info.get("audit_pending") and current_actor() is None:
        return
    session.flush()  # the last changes reach audit_pending first
    pending = session.info.pop("audit_pending", {})
    actor = session.info.pop("audit_actor", None)
    session.info["audit_committing"] = actor
    if actor is not None:
        _write(session, actor, [change for change, _transaction in pending.values()])


def _before_flush(session, flush_context, instances):
    """Old values the session never loaded (an attribute set on an expired object) are read
    now, while the database still holds them."""
    if current_actor() is None:
        return
    preimages = {}
    for obj in session.dirty:
        state = inspect(obj)
        mapper = state.mapper
        if mapper.local_table.name in AUDIT_TABLES:
            continue
        missing = [(key, name) for key, name, redacted in _columns(mapper)
                   if not redacted and key in state.committed_state
                   and _unknown(state.committed_state[key])]
        if not missing or state.key is None:
            continue
        table = mapper.local_table
        pk = [table.c[column.name] for column in mapper.primary_key]
        row = session.connection().execute(
            select(*(table.c[name] for _key, name in missing)).where(
                *(column == value for column, value in zip(pk, state.key[1])))).first()
        if row is not None:
            preimages[state] = {key: value for (key, _name), value in zip(missing, row)}
    if preimages:
        session.info["audit_preimages"] = preimages


def _unknown(original) -> bool:
    return original is NO_VALUE or original is NEVER_SET


def _after_flush(session, flush_context):
    actor = current_actor()
    preimages = session.info.pop("audit_preimages", {})
    if actor is None:
        return
    changes = []
    for operation, objects in (("insert", session.new), ("update", session.dirty),
                               ("delete", session.deleted)):
        for obj in objects:
            state = inspect(obj)
            mapper = state.mapper
            table = mapper.local_table.name
            if table in AUDIT_TABLES:
                continue
            change = _object_change(operation, state, mapper, preimages.get(state, {}))
            if change is not None:
                change["table_name"] = table
                changes.append(change)
    _record(session, actor, changes)


def _object_change(operation, state, mapper, preimage) -> dict | None:
    values = state.dict
    pk = [values.get(mapper.get_property_by_column(column).key) for column in mapper.primary_key]
    if operation == "insert":
        after = {name: _shown(values[key], redacted) for key, name, redacted in _columns(mapper)
                 if key in values}
        return {"row_id": _row_id(pk), "operation": "insert", "before": None, "after": after}
    if operation == "delete":
        before = {name: _shown(values[key], redacted) for key, name, redacted in _columns(mapper)
                  if key in values}
        return {"row_id": _row_id(pk), "operation": "delete", "before": before, "after": None}
    committed = state.committed_state
    before, after = {}, {}
    for key, name, redacted in _columns(mapper):
        if key not in committed:
            continue
        original = committed[key]
        if _unknown(original):
            original = preimage.get(key, UNKNOWN)
        current = values.get(key, NO_VALUE)
        current = COMPUTED if current is NO_VALUE else current
        if original is not UNKNOWN and current is not COMPUTED:
            try:
                if original == current:
                    continue
            except Exception:  # values that refuse comparison are recorded as changed
                pass
        if redacted:
            before[name] = after[name] = REDACTED
        else:
            before[name] = UNKNOWN if original is UNKNOWN else _jsonable(original)
            after[name] = _jsonable(current)
    if not after:
        return None
    return {"row_id": _row_id(pk), "operation": "update", "before": before, "after": after}


# -- bulk statements ------------------------------------------------------------------------

def _on_execute(state):
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in AUDIT_TABLES and not state.is_insert:
        raise AuditLogImmutable()
    actor = current_actor()
    if actor is None or name is None or name in AUDIT_TABLES:
        return None
    if state.is_insert:
        return _bulk_insert(state, actor, table)
    return _bulk_change(state, actor, table)


def _bulk_insert(state, actor, table):
    result = state.invoke_statement()
    rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    # the row ids are not known without RETURNING: the table and count tell what happened
    _record(state.session, actor, [{"table_name": table.name, "row_id": None,
                                   "operation": "insert", "before": None,
                                   "after": {"rows": len(rows)}}])
    return result


def _bulk_change(state, actor, table):
    session = state.session
    connection = session.connection()
    pk = list(table.primary_key.columns)
    where = state.statement.whereclause
    if where is None or isinstance(state.parameters, list) or len(pk) != 1:
        # bulk UPDATE by primary key (executemany) or a whole-table statement: recorded as such
        result = state.invoke_statement()
        _record(session, actor, [{"table_name": table.name, "row_id": None,
                                 "operation": "update" if state.is_update else "delete",
                                 "before": None, "after": {"rows": result.rowcount}}])
        return result
    before_rows = connection.execute(select(table).where(where)
                                     .limit(BULK_ROWS_RECORDED + 1)).mappings().all()
    result = state.invoke_statement()
    if len(before_rows) > BULK_ROWS_RECORDED:
        _record(session, actor, [{"table_name": table.name, "row_id": None,
                                 "operation": "update" if state.is_update else "delete",
                                 "before": None, "after": {"rows": result.rowcount}}])
        return result
    sensitive = {column.name: is_sensitive(table.name, column) for column in table.columns}
    key = pk[0].name
    after_rows = {}
    if state.is_update and before_rows:
        after_rows = {row[key]: row for row in connection.execute(select(table).where(
            pk[0].in_([row[key] for row in before_rows]))).mappings()}
    changes = []
    for row in before_rows:
        if state.is_delete:
            changes.append({"table_name": table.name, "row_id": _row_id([row[key]]),
                            "operation": "delete", "after": None,
                            "before": {name: _shown(value, sensitive[name])
                                       for name, value in row.items()
                                       if name not in SKIPPED_COLUMNS}})
            continue
        new = after_rows.get(row[key], {})
        before, after = {}, {}
        for name, value in row.items():
            if name in SKIPPED_COLUMNS or name not in new or new[name] == value:
                continue
            before[name] = _shown(value, sensitive[name])
            after[name] = _shown(new[name], sensitive[name])
            if sensitive[name]:
                before[name] = after[name] = REDACTED
        if after:
            changes.append({"table_name": table.name, "row_id": _row_id([row[key]]),
                            "operation": "update", "before": before, "after": after})
    _record(session, actor, changes)
    return result


# -- the entry's life with its transaction ---------------------------------------------------

def _after_commit(session):
    released = session.get_nested_transaction()
    if released is not None:  # a savepoint released: what it recorded now belongs to its parent
        _fold_into_parent(session, released)
        return
    session.info.pop("audit_pending", None)
    session.info.pop("audit_committing", None)
    new_entry = session.info.pop("audit_new_entry", None)
    if new_entry is not None:
        actor, entry_id = new_entry
        actor.entry_id = entry_id  # later commits of this action join its entry


def _fold_into_parent(session, released):
    pending = session.info.get("audit_pending")
    if not pending:
        return
    parent = released.parent
    for key, (change, transaction) in list(pending.items()):
        if transaction is not released:
            continue
        del pending[key]
        if change["row_id"] is None:
            pending[object()] = (change, parent)
            continue
        target = (change["table_name"], change["row_id"], parent)
        held = pending.get(target)
        if held is None:
            pending[target] = (change, parent)
        elif not _merge(held[0], change):
            del pending[target]


def _after_soft_rollback(session, previous_transaction):
    """Forget what the rolled-back transaction (and those inside it) recorded."""
    if previous_transaction.parent is None:
        for key in ("audit_pending", "audit_committing", "audit_new_entry", "audit_actor"):
            session.info.pop(key, None)
        return
    pending = session.info.get("audit_pending")
    if not pending:
        return
    for key, (_change, transaction) in list(pending.items()):
        while transaction is not None:
            if transaction is previous_transaction:
                del pending[key]
                break
            transaction = transaction.parent


_installed = False


def install_audit(db):
    global _installed
    if _installed:
        return
    _installed = True
    event.listen(db.session, "before_flush", _before_flush)
    event.listen(db.session, "after_flush", _after_flush)
    event.listen(db.session, "do_orm_execute", _on_execute)
    event.listen(db.session, "before_commit", _before_commit)
    event.listen(db.session, "after_commit", _after_commit)
    event.listen(db.session, "after_soft_rollback", _after_soft_rollback)
