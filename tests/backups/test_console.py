"""The console's backups page: admins only; sizes and times; the button enqueues a job after
the commit (with an audit entry) that writes exactly one backup however often it runs."""
from sqlalchemy import text as sql

from app.backups import services
from app.extensions import db, jobs
from tests.console.conftest import console, post, text  # noqa: F401


def test_admins_see_the_backups_with_their_sizes(app, console, backup_dir):  # noqa: F811
    admin, _ = console("admin")
    empty = admin.get("/console/backups")
    assert empty.status_code == 200 and "还没有备份" in text(empty)
    with app.app_context():
        made = [services.create_backup()["name"], services.create_backup()["name"]]
        db.session.remove()
    page = text(admin.get("/console/backups"))
    for name in made:
        size = (backup_dir / name).stat().st_size
        assert name in page and f'data-size="{size}"' in page
    assert 'href="/console/backups"' in page  # the nav link
    operator, _ = console("operator")
    refused = operator.get("/console/backups")
    assert refused.status_code == 403
    assert 'href="/console/backups"' not in text(operator.get("/console/"))
    assert post(operator, "/console/backups").status_code == 403
    with app.app_context():
        assert jobs.queue("default").count == 0


def test_backup_now_enqueues_one_idempotent_job(app, console, backup_dir):  # noqa: F811
    from app.tasks.backups import write_backup

    admin, staff_id = console("admin")
    answer = post(admin, "/console/backups", page="/console/backups")
    assert answer.status_code == 303
    with app.app_context():
        queued = jobs.queue("default").jobs
        assert [job.func_name for job in queued] == [write_backup.job_name]
        assert queued[0].timeout == app.config["BACKUP_JOB_TIMEOUT_SECONDS"]
        assert queued[0].retries_left  # the queue's retry policy (a dead worker's job reruns)
        name = queued[0].args[0]
        assert services.NAME_RE.match(name) and name.endswith("-console.tar.gz")
        assert not (backup_dir / name).exists()  # written by the worker, not the request
        actions = db.session.execute(sql(
            "SELECT action FROM audit_entries WHERE staff_id = :s"), {"s": staff_id}).scalars().all()
        assert any("backup=" + name in action for action in actions), actions
        assert write_backup(name) == {"created": name, "deleted": []}
        assert write_backup(name) == {"created": None, "deleted": []}  # a retry: nothing more
        assert [item["name"] for item in services.list_backups(verify=True)] == [name]
        assert services.list_backups(verify=True)[0]["verified"] is True
        db.session.remove()
    assert name in text(admin.get("/console/backups"))


def test_the_nightly_backup_is_in_the_cron_table(app):
    from rq.cron import CronScheduler

    from app.extensions import redis_client

    with app.app_context():
        scheduler = CronScheduler(connection=redis_client.conn)
        scheduler.load_config_from_file("app.tasks.cron")
        nightly = [job for job in scheduler.get_jobs()
                   if job.func_name == "app.tasks.backups.nightly_backup"]
    assert len(nightly) == 1 and nightly[0].cron == "30 19 * * *"  # 03:30 Shanghai
