"""The console's users page (warn; unban with a reason) and jobs page (the periodic jobs, run one
now; retrying failed jobs): each action goes through its service, refusals change nothing, and
each action leaves an audit entry by the staff member who took it (source "console")."""
import re

from sqlalchemy import select

from app.audit.models import AuditChange, AuditEntry
from app.common.jobs import periodic_jobs
from app.extensions import db, jobs, redis_client
from app.staff.models import UserWarningRecord
from app.users.models import User
from tests.console.conftest import post, row, text
from tests.platform import jobs_for_tests as test_jobs
from tests.platform.test_jobs_cli import burst, enqueue, only_job_id

HEARTBEAT = "app.tasks.maintenance.record_heartbeat"


def audit(app, staff_id) -> list[dict]:
    """The console entries of `staff_id`, oldest first, with the tables each one changed."""
    with app.app_context():
        found = [{"action": entry.action, "method": entry.method, "source": entry.source,
                  "tables": sorted(db.session.scalars(select(AuditChange.table_name).where(
                      AuditChange.entry_id == entry.id)))}
                 for entry in db.session.scalars(select(AuditEntry).where(
                     AuditEntry.staff_id == staff_id).order_by(AuditEntry.id))]
        db.session.remove()
    return found


def error_code(response) -> str | None:
    found = re.search(r'data-error-code="([^"]+)"', text(response))
    return found and found.group(1)


def _warnings(app, user_id) -> list[tuple]:
    with app.app_context():
        found = [(w.staff_id, w.reason) for w in db.session.scalars(
            select(UserWarningRecord).where(UserWarningRecord.user_id == user_id)
            .order_by(UserWarningRecord.id))]
        db.session.remove()
    return found


# ---- users ---------------------------------------------------------------------------------

def test_an_operator_warns_a_user_who_is_told_and_the_page_counts_it(app, client, console,
                                                                       alice, bob):
    operator, operator_id = console("operator")
    page = text(operator.get(f"/console/users?q={alice['id']}"))
    assert f'id="warnings-{alice["id"]}">0<' in page and f'id="warn-{alice["id"]}"' in page

    for reason in (" ", "是", "长" * 201):
        refused = post(operator, f"/console/users/{alice['id']}/warn", {"reason": reason},
                       page="/console/users")
        assert refused.status_code == 422 and error_code(refused) == "validation_error", reason
    missing = post(operator, "/console/users/999999/warn", {"reason": "发布广告"},
                   page="/console/users")
    assert missing.status_code == 404 and error_code(missing) == "user_not_found"
    assert _warnings(app, alice["id"]) == [] and audit(app, operator_id) == []

    for reason in ("发布广告", "辱骂护工", "恶意差评", "刷单"):
        warned = post(operator, f"/console/users/{alice['id']}/warn",
                      {"reason": reason, "q": str(alice["id"])}, page="/console/users")
        assert warned.status_code == 303
        assert warned.headers["Location"].endswith(f"/console/users?q={alice['id']}")
    assert _warnings(app, alice["id"]) == [(operator_id, reason) for reason in
                                           ("发布广告", "辱骂护工", "恶意差评", "刷单")]
    page = text(operator.get(f"/console/users?q={alice['id']}"))
    assert f'id="warnings-{alice["id"]}">4<' in page
    # the last three, newest first; the oldest is only counted
    assert page.index("刷单") < page.index("恶意差评") < page.index("辱骂护工")
    assert "发布广告" not in page
    assert f'id="warnings-{bob["id"]}"' not in page
    assert f'id="warnings-{bob["id"]}">0<' in text(operator.get(f"/console/users?q={bob['id']}"))

    inbox = client.get("/api/v1/notifications", headers=alice["headers"]).get_json()["items"]
    assert sorted(item["kind"] for item in inbox) == ["user_warned"] * 4
    assert audit(app, operator_id) == [
        {"action": f"/console/users/{alice['id']}/warn", "method": "POST", "source": "console",
         "tables": ["notifications", "user_warnings"]}] * 4


def test_a_reviewer_cannot_warn(app, console, alice):
    reviewer, reviewer_id = console("reviewer")
    refused = post(reviewer, f"/console/users/{alice['id']}/warn", {"reason": "发布广告"})
    assert refused.status_code == 403 and error_code(refused) == "forbidden"
    assert _warnings(app, alice["id"]) == [] and audit(app, reviewer_id) == []


def test_unban_takes_a_reason_which_the_page_shows_and_the_audit_keeps(app, console, alice, bob):
    operator, operator_id = console("operator")
    for user in (alice, bob):
        assert post(operator, f"/console/users/{user['id']}/ban", {"reason": "恶意刷单"},
                    page="/console/users").status_code == 303
    page = text(operator.get(f"/console/users?q={alice['id']}"))
    assert "解封原因(选填" in page

    too_short = post(operator, f"/console/users/{alice['id']}/unban", {"reason": "是"},
                     page="/console/users")
    assert too_short.status_code == 422
    assert row(app, User, alice["id"])["status"] == "banned"

    unbanned = post(operator, f"/console/users/{alice['id']}/unban",
                    {"reason": " 申诉核实为误封 "}, page="/console/users")
    assert unbanned.status_code == 303
    user = row(app, User, alice["id"])
    assert (user["status"], user["ban_reason"], user["unban_reason"]) == (
        "active", None, "申诉核实为误封")
    page = text(operator.get(f"/console/users?q={alice['id']}"))
    assert "上次解封原因" in page and "申诉核实为误封" in page

    # the reason is optional: an empty field unbans without one
    assert post(operator, f"/console/users/{bob['id']}/unban", {"reason": "  "},
                page="/console/users").status_code == 303
    user = row(app, User, bob["id"])
    assert (user["status"], user["unban_reason"]) == ("active", None)

    actions = [(entry["action"], entry["tables"]) for entry in audit(app, operator_id)]
    assert actions == [(f"/console/users/{alice['id']}/ban", ["users"]),
                       (f"/console/users/{bob['id']}/ban", ["users"]),
                       (f"/console/users/{alice['id']}/unban", ["users"]),
                       (f"/console/users/{bob['id']}/unban", ["users"])]
    with app.app_context():
        entry_id = db.session.scalar(select(AuditEntry.id).where(
            AuditEntry.action == f"/console/users/{alice['id']}/unban"))
        change = db.session.scalar(select(AuditChange).where(AuditChange.entry_id == entry_id))
        assert change.after["unban_reason"] == "申诉核实为误封"
        assert change.before["ban_reason"] == "恶意刷单" and change.after["ban_reason"] is None
        db.session.remove()


# ---- jobs ----------------------------------------------------------------------------------

def test_the_periodic_list_is_the_cron_table(app):
    """What the page lists is exactly what `rq cron app.tasks.cron` schedules."""
    from rq.cron import CronScheduler

    with app.app_context():
        scheduler = CronScheduler(connection=redis_client.conn)
        scheduler.load_config_from_file("app.tasks.cron")
        scheduled = {(job.func_name, job.interval, job.cron) for job in scheduler.get_jobs()}
    listed = periodic_jobs()
    assert {(entry["name"], entry["interval"], entry["cron"]) for entry in listed} == scheduled
    assert len(listed) == len(scheduled) and all(entry["label"] for entry in listed)
    assert [entry["name"] for entry in listed if not entry["run_now"]] == [
        "app.tasks.booking.mark_no_shows"]


def test_the_jobs_page_lists_the_periodic_jobs_and_runs_one_now(app, console):
    admin, admin_id = console("admin")
    page = text(admin.get("/console/jobs"))
    for entry in periodic_jobs():
        assert entry["label"] in page and entry["name"] in page
    assert "每 60 秒" in page and "cron 0 10,12 * * *(UTC)" in page
    assert page.count("立即运行</button>") == len(periodic_jobs()) - 1
    assert "仅按计划运行" in page  # mark_no_shows: no button

    with app.app_context():
        redis_client.conn.delete("heartbeat:cron")
    ran = post(admin, "/console/jobs/run-now", {"name": HEARTBEAT}, page="/console/jobs")
    assert ran.status_code == 303
    assert "已排队立即运行:定时任务心跳" in text(admin.get(ran.headers["Location"]))
    with app.app_context():
        assert [job.func_name for job in jobs.queue().jobs] == [HEARTBEAT]
    burst(app)  # a worker runs it as if its minute had come
    with app.app_context():
        assert redis_client.conn.get("heartbeat:cron") is not None
    assert audit(app, admin_id) == [{"action": f"/console/jobs/run-now?job={HEARTBEAT}",
                                     "method": "POST", "source": "console", "tables": []}]


def test_only_jobs_of_the_cron_table_can_be_run_now(app, console):
    admin, admin_id = console("admin")
    for name in ("", "nope", "app.tasks.notifications.deliver_push",  # declared, not periodic
                 "tests.platform.jobs_for_tests.flaky", "os.system", "x" * 500):
        refused = post(admin, "/console/jobs/run-now", {"name": name}, page="/console/jobs")
        assert refused.status_code == 422 and error_code(refused) == "unknown_job", name
    refused = post(admin, "/console/jobs/run-now", {"name": "app.tasks.booking.mark_no_shows"},
                   page="/console/jobs")
    assert refused.status_code == 409 and error_code(refused) == "job_not_runnable_now"
    with app.app_context():
        assert jobs.queue().job_ids == []
    assert audit(app, admin_id) == []

    operator, operator_id = console("operator")
    assert post(operator, "/console/jobs/run-now", {"name": HEARTBEAT}).status_code == 403
    with app.app_context():
        assert jobs.queue().job_ids == []
    assert audit(app, operator_id) == []


def test_retrying_failed_jobs_is_audited(app, console):
    enqueue(app, test_jobs.flaky, "audit", 2, retry_intervals=[0])
    failed_id = only_job_id(app)
    burst(app)
    admin, admin_id = console("admin")
    unknown = post(admin, "/console/jobs/retry-failed", {"queue": "nope"}, page="/console/jobs")
    assert unknown.status_code == 422 and error_code(unknown) == "unknown_queue"
    assert audit(app, admin_id) == []

    assert post(admin, "/console/jobs/retry-failed", {"queue": "default"},
                page="/console/jobs").status_code == 303
    with app.app_context():
        assert jobs.queue().job_ids == [failed_id]
    # every queue at once (no queue field): nothing left to requeue, still an action taken
    assert post(admin, "/console/jobs/retry-failed", page="/console/jobs").status_code == 303
    assert audit(app, admin_id) == [
        {"action": "/console/jobs/retry-failed?queue=default", "method": "POST",
         "source": "console", "tables": []},
        {"action": "/console/jobs/retry-failed?queue=%2A", "method": "POST",
         "source": "console", "tables": []}]
