"""flask CLI: staff accounts, demo data, the RQ worker."""
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
        queues = current_app.config["RQ_QUEUES"]
        Worker(queues, connection=redis_client.conn, serializer=JSONSerializer).work(
            with_scheduler=True, burst=burst)

    @app.cli.command("redis-url")
    def redis_url():
        """Print the Redis URL this configuration uses (starting the embedded server)."""
        click.echo(current_app.config["REDIS_URL"])
