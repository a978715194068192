"""The audit log in the console (admins): filters, pages, and each entry's changes. Reading the
log goes through app.audit.services, the same as GET /api/v1/staff/audit-log; reading it is
not itself an action (a GET changes no rows)."""
import json
from datetime import date, datetime, time, timedelta

from flask import render_template, request

from app.audit import services as audit_services
from app.audit.listeners import COMPUTED, REDACTED, UNKNOWN
from app.audit.schemas import AuditQuerySchema
from app.common.auth import current_staff
from app.common.time import LOCAL_TZ
from app.console.views import bp, page_arg, role_required
from app.errors import ValidationFailed

PAGE_SIZE = 20
FILTERS = ("staff_id", "table", "row_id", "action", "since", "until")
# what a marker in a change stands for, in words staff read
MARKERS = {REDACTED: "(个人信息,不显示)", UNKNOWN: "(未知)", COMPUTED: "(数据库计算)"}


def _day(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValidationFailed.for_field(name, "日期格式应为 YYYY-MM-DD", code="invalid_date")


def _query(filters: dict) -> dict:
    """The form's filters through the API's own query schema: since/until are local days
    (until inclusive), so the API's instants are their midnights in Shanghai."""
    body = {"page": page_arg(), "page_size": PAGE_SIZE}
    for name in ("staff_id", "table", "row_id", "action"):
        if filters[name]:
            body[name] = filters[name]
    since, until = _day("since"), _day("until")
    if since is not None:
        body["since"] = datetime.combine(since, time(), LOCAL_TZ).isoformat()
    if until is not None:
        body["until"] = datetime.combine(until + timedelta(days=1), time(), LOCAL_TZ).isoformat()
    return AuditQuerySchema().load(body)


@bp.get("/audit")
@role_required("admin")
def audit_log():
    filters = {name: request.args.get(name, "").strip()[:200] for name in FILTERS}
    result = audit_services.list_entries(current_staff(), **_query(filters))
    return render_template("console/audit_log.html", result=result, filters=filters,
                           links={name: value for name, value in filters.items() if value})


def _shown(value) -> str:
    if value is None:
        return "(空)"
    if isinstance(value, str):
        return MARKERS.get(value, value)
    return json.dumps(value, ensure_ascii=False)


def _rows(change) -> list[tuple[str, str | None, str | None]]:
    """(column, before, after) for each column the change touched; None where there is no side
    (an insert has no before, a delete no after)."""
    before, after = change.before or {}, change.after or {}
    names = list(before) + [name for name in after if name not in before]
    return [(name, _shown(before[name]) if name in before else None,
             _shown(after[name]) if name in after else None) for name in names]


@bp.get("/audit/<int:entry_id>")
@role_required("admin")
def audit_log_entry(entry_id):
    entry = audit_services.get_entry(current_staff(), entry_id=entry_id)
    return render_template("console/audit_entry.html", e=entry, rows=_rows)
