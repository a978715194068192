"""The audit log in the console (/console/audit): admins only, filters by staff member, table,
record, action prefix and local days, pages, and each entry's before/after with personal data
still redacted. Reading the log is not itself an action."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from app.audit.listeners import acting_as
from app.audit.models import AuditEntry
from app.common.time import local_today
from app.extensions import db
from app.users.models import User
from tests.console.conftest import post, text

ENTRY = re.compile(r'id="entry-(\d+)"')


def listed(response) -> list[int]:
    assert response.status_code == 200, text(response)
    return [int(found) for found in ENTRY.findall(text(response))]


def error_code(response) -> str | None:
    found = re.search(r'data-error-code="([^"]+)"', text(response))
    return found and found.group(1)


def entry_count(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(AuditEntry))
        db.session.remove()
    return count


def entry_id(app, action) -> int:
    with app.app_context():
        found = db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == action))
        db.session.remove()
    return found


def _world(app, client, console, alice, bob, staff_factory):
    """Four actions by three staff members: an API ban, a console warning, a console run-now,
    and a job-like action that writes a phone number."""
    api_operator = staff_factory("operator")
    assert client.post(f"/api/v1/staff/users/{bob['id']}/ban", headers=api_operator["headers"],
                       json={"reason": "恶意刷单"}).status_code == 200
    operator, operator_id = console("operator")
    assert post(operator, f"/console/users/{alice['id']}/warn", {"reason": "发布广告"},
                page="/console/users").status_code == 303
    admin, admin_id = console("admin")
    assert post(admin, "/console/jobs/run-now", {"name": "app.tasks.maintenance.record_heartbeat"},
                page="/console/jobs").status_code == 303
    with app.app_context(), acting_as(admin_id, "cli:fix-phone", source="cli"):
        db.session.get(User, alice["id"]).phone = "13812345678"
        db.session.commit()
        db.session.remove()
    return {"api_operator": api_operator["id"], "operator": operator_id, "admin": admin_id,
            "client": admin}


def test_admins_list_and_filter_the_log(app, client, console, alice, bob, staff_factory):
    world = _world(app, client, console, alice, bob, staff_factory)
    admin = world["client"]
    ban = entry_id(app, f"/api/v1/staff/users/{bob['id']}/ban")
    warn = entry_id(app, f"/console/users/{alice['id']}/warn")
    run = entry_id(app, "/console/jobs/run-now?job=app.tasks.maintenance.record_heartbeat")
    phone = entry_id(app, "cli:fix-phone")
    assert None not in (ban, warn, run, phone)
    before = entry_count(app)

    page = admin.get("/console/audit")
    assert listed(page) == [phone, run, warn, ban]  # newest first
    body = text(page)
    assert "共 4 条" in body and 'href="/console/audit"' in body  # the nav shows the page
    assert "控制台" in body and "接口" in body and "命令行" in body

    assert listed(admin.get(f"/console/audit?staff_id={world['operator']}")) == [warn]
    assert listed(admin.get("/console/audit?table=user_warnings")) == [warn]
    assert listed(admin.get(f"/console/audit?table=users&row_id={bob['id']}")) == [ban]
    assert listed(admin.get(f"/console/audit?table=users&row_id={alice['id']}")) == [phone]
    assert listed(admin.get("/console/audit?action=/console/")) == [run, warn]
    assert listed(admin.get("/console/audit?action=/console/jobs/run-now")) == [run]
    assert listed(admin.get("/console/audit?action=%25")) == []  # not a LIKE pattern
    today = local_today()
    assert listed(admin.get(f"/console/audit?since={today}&until={today}")) == [
        phone, run, warn, ban]
    assert listed(admin.get(f"/console/audit?until={today - timedelta(days=1)}")) == []
    assert listed(admin.get(f"/console/audit?since={today + timedelta(days=1)}")) == []
    combined = admin.get(f"/console/audit?staff_id={world['admin']}&action=/console/jobs"
                         f"&since={today}")
    assert listed(combined) == [run]
    assert f'value="{world["admin"]}"' in text(combined)  # the form keeps the filters

    for query, code in (("staff_id=abc", "validation_error"), ("staff_id=0", "validation_error"),
                        ("row_id=5", "validation_error"), ("since=2026-13-01", "invalid_date"),
                        ("until=yesterday", "invalid_date"), ("page=abc", None),
                        (f"since={today}&until={today - timedelta(days=2)}", "validation_error"),
                        ("table=" + "t" * 300, None)):
        response = admin.get(f"/console/audit?{query}")
        if code is None:  # a bad page number is page 1; a long value is cut to the field
            assert response.status_code in (200, 422), query
            continue
        assert response.status_code == 422 and error_code(response) == code, query
    assert entry_count(app) == before  # reading the log wrote nothing


def test_the_detail_shows_before_and_after_with_personal_data_redacted(app, client, console,
                                                                        alice, bob,
                                                                        staff_factory):
    world = _world(app, client, console, alice, bob, staff_factory)
    admin = world["client"]

    ban_id = entry_id(app, "/api/v1/staff/users/%d/ban" % bob["id"])
    warn_id = entry_id(app, "/console/users/%d/warn" % alice["id"])
    run_id = entry_id(app, "/console/jobs/run-now?job=app.tasks.maintenance.record_heartbeat")
    ban = text(admin.get(f"/console/audit/{ban_id}"))
    assert "修改 · users #%d" % bob["id"] in ban
    assert '<span class="console-before">active</span>' in ban
    assert '<span class="console-after">banned</span>' in ban
    assert '<span class="console-after">恶意刷单</span>' in ban
    assert "接口" in ban and f"#{world['api_operator']}(运营)" in ban

    warn = text(admin.get(f"/console/audit/{warn_id}"))
    assert "新增 · user_warnings" in warn and "新增 · notifications" in warn
    assert '<span class="console-after">发布广告</span>' in warn
    assert "(个人信息,不显示)" in warn  # the message's title and body
    assert "您的账号收到平台警告" not in warn

    phone = text(admin.get(f"/console/audit/{entry_id(app, 'cli:fix-phone')}"))
    assert "phone_encrypted" in phone and "phone_index" in phone
    assert "13812345678" not in phone and "5678" not in phone
    assert "(个人信息,不显示)" in phone

    run = text(admin.get(f"/console/audit/{run_id}"))
    assert 'id="no-changes"' in run and "POST /console/jobs/run-now?job=" in run

    missing = admin.get("/console/audit/999999")
    assert missing.status_code == 404 and error_code(missing) == "audit_entry_not_found"


def test_the_log_pages_and_keeps_its_filters(app, console, alice):
    admin, admin_id = console("admin")
    with app.app_context():
        for number in range(25):
            with acting_as(admin_id, f"test:page-{number:02d}"):
                db.session.get(User, alice["id"]).gender = "male" if number % 2 else "female"
                db.session.commit()
        db.session.remove()
    first = admin.get("/console/audit?action=test:page")
    assert len(listed(first)) == 20 and "1 / 2" in text(first)
    assert 'href="/console/audit?page=2&amp;action=test:page"' in text(first) or \
        'href="/console/audit?action=test:page&amp;page=2"' in text(first)
    second = admin.get("/console/audit?action=test:page&page=2")
    assert len(listed(second)) == 5 and not set(listed(first)) & set(listed(second))


def test_only_admins_see_the_log(app, console, alice):
    operator, _ = console("operator")
    reviewer, _ = console("reviewer")
    admin, _ = console("admin")
    assert post(operator, f"/console/users/{alice['id']}/warn", {"reason": "发布广告"},
                page="/console/users").status_code == 303
    entry = entry_id(app, f"/console/users/{alice['id']}/warn")
    for client in (operator, reviewer):
        for path in ("/console/audit", f"/console/audit/{entry}", "/console/audit?table=users"):
            refused = client.get(path)
            assert refused.status_code == 403 and error_code(refused) == "forbidden", path
        assert 'href="/console/audit"' not in text(client.get("/console/"))
    assert 'href="/console/audit"' in text(admin.get("/console/"))
    assert admin.get(f"/console/audit/{entry}").status_code == 200
