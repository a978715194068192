"""flask CLI: staff accounts, demo data, the RQ worker and its queues."""
import os

import click
from flask import current_app
from flask.cli import AppGroup


def register_cli(app):
    staff_cli = AppGroup("staff", help="工作人员账号")

    @staff_cli.command("create")
    @click.option("--username", required=True)
    @click.option("--role", type=click.Choice(["admin", "operator", "reviewer"]), required=True)
    @click.option("--display-name", default=None)
    @click.password_option("--password", help="at least 10 characters")
    def create_staff(username, role, display_name, password):
        """Create a staff account (argon2-hashed password)."""
        from app.errors import AppError
        from app.staff.services import create_staff as create

        try:
            staff = create(username, password, role, display_name)
        except AppError as exc:
            raise click.ClickException(exc.message)
        click.echo(f"created staff #{staff.id} {staff.username} ({staff.role})")

    @staff_cli.command("link-user")
    @click.option("--username", required=True)
    @click.option("--user-id", type=int, required=True, help="the staff member's own users.id")
    def link_user(username, user_id):
        """Record a staff member's own mini-program account: they may then not review their
        own caregiver application or documents."""
        from app.errors import AppError
        from app.staff.services import link_staff_user

        try:
            staff = link_staff_user(username, user_id)
        except AppError as exc:
            raise click.ClickException(exc.message)
        click.echo(f"staff {staff.username} is user #{staff.user_id}")

    app.cli.add_command(staff_cli)

    @app.cli.command("seed-demo")
    def seed_demo():
        """Demo data for `make run` (idempotent: a second run adds nothing)."""
        from app.seed import seed_demo_data

        for line in seed_demo_data():
            click.echo(line)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="exit when the queues are empty")
    def worker(burst):
        """RQ worker with the scheduler (delayed jobs), inside the app context."""
        from rq import Worker
        from rq.serializers import JSONSerializer

        from app.extensions import db, redis_client

        # a forked work-horse must not reuse the parent's pooled DB connections
        os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
        config = current_app.config
        # in RQ_QUEUES order: "default" (order timeouts) before "push"; the timings are
        # what brings a job whose worker was killed back within 2 minutes (config.py)
        Worker(config["RQ_QUEUES"], connection=redis_client.conn, serializer=JSONSerializer,
               worker_ttl=config["RQ_WORKER_TTL"],
               job_monitoring_interval=config["RQ_JOB_MONITORING_INTERVAL"],
               maintenance_interval=config["RQ_MAINTENANCE_INTERVAL"]).work(
            with_scheduler=True, burst=burst)

    jobs_cli = AppGroup("jobs", help="RQ queues: status, failed jobs")

    @jobs_cli.command("status")
    @click.option("--limit", default=5, show_default=True, type=click.IntRange(1, 100),
                  help="running, scheduled and failed jobs listed per queue")
    def jobs_status(limit):
        """Per queue: queued, scheduled, running and failed jobs; the cron heartbeat's age."""
        from app.extensions import jobs

        report = jobs.queue_report(limit=limit)
        for queue in report["queues"]:
            click.echo(f"{queue['name']}: {queue['queued']} queued, {queue['scheduled']} "
                       f"scheduled, {queue['running']} running, {queue['failed']} failed "
                       f"({queue['workers']} workers)")
            for job in queue["running_jobs"]:
                state = "ABANDONED (its worker is gone: the next maintenance retries it)" \
                    if job["abandoned"] else f"since {job['started_at']} on {job['worker']}"
                click.echo(f"  running   {job['id']}  {job['function']}  {state}")
            for job in queue["next_scheduled"]:
                click.echo(f"  scheduled {job['id']}  {job['function']}  at {job['due_at']}")
            for job in queue["latest_failures"]:
                click.echo(f"  failed    {job['id']}  {job['function']}  {job['failed_at']}  "
                           f"{job['error']}")
        age = report["cron_heartbeat_age_seconds"]
        click.echo("cron heartbeat: never (is `rq cron app.tasks.cron` running?)" if age is None
                   else f"cron heartbeat: {age} s ago")

    @jobs_cli.command("retry-failed")
    @click.option("--queue", type=click.Choice(app.config["RQ_QUEUES"]), default=None,
                  help="only this queue (default: every queue)")
    def jobs_retry_failed(queue):
        """Put every failed job back on its queue (jobs are idempotent)."""
        from app.extensions import jobs

        count = jobs.retry_failed(queue)
        click.echo(f"requeued {count} failed job{'s' if count != 1 else ''}")

    app.cli.add_command(jobs_cli)

    wechat_cli = AppGroup("wechat", help="微信公众号")

    @wechat_cli.command("sync-menu")
    def wechat_sync_menu():
        """Create the official account's menu from WECHAT_OA_MENU (through WeChat, or the
        simulator when WECHAT_API_BASE points at it)."""
        from app.errors import AppError
        from app.staff_wechat.services import sync_menu

        try:
            menu = sync_menu()
        except AppError as exc:
            detail = f" ({exc.details})" if exc.details else ""
            raise click.ClickException(exc.message + detail)
        for button in menu["button"]:
            for leaf in button.get("sub_button") or [button]:
                target = leaf.get("key") or leaf.get("url")
                click.echo(f"{button['name']} / {leaf['name']}: {leaf['type']} {target}"
                           if leaf is not button else f"{leaf['name']}: {leaf['type']} {target}")
        click.echo("menu created")

    app.cli.add_command(wechat_cli)

    from app.backups.cli import backup_cli  # flask backup create | list | restore | prune
    app.cli.add_command(backup_cli)

    @app.cli.command("redis-url")
    def redis_url():
        """Print the Redis URL this configuration uses (starting the embedded server)."""
        click.echo(current_app.config["REDIS_URL"])
