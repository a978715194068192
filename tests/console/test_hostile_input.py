"""Every console route, as an admin (who may open all of them), with hostile ids, query strings
and form fields: never a 500, and a refused POST changes nothing. The console is not in the
OpenAPI document, so schemathesis never reaches it; this sweep does."""
import re

import pytest

from tests.conftest import row_counts
from tests.console.conftest import csrf

IDS = ("0", "1", "999999", "99999999999999999999")
HOSTILE = ("", " ", "abc", "-1", "0", "1e9", "99999999999999999999999", "9999-99-99",
           "2026-02-30", "长" * 400, "\u0000", "<script>x</script>", "' OR 1=1 --", "%", "_",
           "NaN", "Infinity", "1.005", "-0.01", "１２３", "/console/../../etc/passwd")
FIELDS = ("page", "page_size", "q", "day", "status", "hospital_id", "department_id", "user_id",
          "staff_id", "table", "row_id", "action", "since", "until", "visit_from", "visit_to",
          "start_from", "start_to", "reason", "decision", "refund_yuan", "amount", "queue",
          "job", "caregiver_id", "outcome", "note", "title", "body", "segment", "enabled",
          "template_id", "commission_percent", "daily_limit", "next", "password", "username")


def _routes(app):
    """(method, path template) of every console route but static files."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/console") or rule.endpoint == "console.static":
            continue
        for method in sorted(rule.methods & {"GET", "POST"}):
            yield method, rule.rule


def _paths(template):
    names = re.findall(r"<(?:int:|string:|path:)?(\w+)>", template)
    if not names:
        return [template]
    return [re.sub(r"<[^>]+>", value, template) for value in IDS]


def test_every_console_route_refuses_hostile_input_without_a_500(app, console):
    admin, _ = console("admin")
    token = csrf(admin, "/console/")
    before = row_counts(app)
    failures = []
    routes = list(_routes(app))
    assert len(routes) > 40, routes  # the sweep reaches the whole console
    for method, template in routes:
        if template in ("/console/logout",):
            continue  # signing out would end the sweep
        for path in _paths(template):
            for value in HOSTILE:
                data = {name: value for name in FIELDS}
                if method == "GET":
                    answer = admin.get(path, query_string=data)
                else:
                    answer = admin.post(path, data={**data, "csrf_token": token})
                if answer.status_code >= 500:
                    failures.append((method, path, value, answer.status_code))
    assert failures == []
    # whatever was refused changed nothing (the sweep's hostile values are never valid); the
    # audit log records the sweep's own sign-in data, and 「获取绑定码」 takes no input at all
    after = row_counts(app)
    changed = {table: (before.get(table), count) for table, count in after.items()
               if before.get(table) != count and table not in (
                   "audit_entries", "audit_changes", "staff_users", "staff_bind_codes")}
    assert changed == {}


@pytest.mark.parametrize("path", ["/console/users", "/console/registrations",
                                  "/console/care-orders", "/console/audit"])
def test_search_boxes_take_any_text(app, console, path):
    admin, _ = console("admin")
    for text in ("%", "_", "\\", "长" * 200, "' OR '1'='1", "\u0000"):
        assert admin.get(path, query_string={"q": text}).status_code in (200, 422)
