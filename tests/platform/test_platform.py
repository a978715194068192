"""The skeleton itself: health, config, request ids, logs, OpenAPI, migrations, jobs."""
import json
import logging

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.extensions import db, jobs, redis_client
from config import ProductionConfig

# a complete production environment (each test changes what it is about)
PRODUCTION_ENVIRONMENT = {
    "SECRET_KEY": "s" * 40, "DATABASE_URL": "mysql+pymysql://u:p@db/app",
    "REDIS_URL": "redis://r:6379/0", "PII_KEY": "k" * 40, "WECHAT_APP_ID": "wx1",
    "WECHAT_APP_SECRET": "sec", "WECHATPAY_MCHID": "1900000001",
    "WECHATPAY_MERCHANT_SERIAL": "ABC123", "WECHATPAY_MERCHANT_PRIVATE_KEY": "-----PEM-----",
    "WECHATPAY_APIV3_KEY": "a" * 32, "WECHATPAY_PUBLIC_KEY": "-----PEM-----",
    "WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0114", "WECHATPAY_NOTIFY_URL": "https://x/n",
    "WECHATPAY_REFUND_NOTIFY_URL": "https://x/r"}


def test_healthz_checks_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_healthz_reports_a_redis_outage_as_503(client, app):
    import redis

    saved = redis_client._conn
    redis_client._conn = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5)
    try:
        response = client.get("/healthz")
    finally:
        redis_client._conn = saved
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "redis": "error"}


def test_production_refuses_to_start_naming_every_missing_setting():
    with pytest.raises(RuntimeError) as excinfo:
        ProductionConfig.from_environment({"SECRET_KEY": "s", "REDIS_URL": "redis://x"})
    message = str(excinfo.value)
    for name in ("DATABASE_URL", "PII_KEY", "WECHAT_APP_ID", "WECHAT_APP_SECRET",
                 "WECHATPAY_MCHID", "WECHATPAY_APIV3_KEY", "WECHATPAY_NOTIFY_URL"):
        assert name in message
    assert "REDIS_URL" not in message and "SECRET_KEY" not in message
    resolved = ProductionConfig.from_environment(PRODUCTION_ENVIRONMENT)
    assert resolved.SQLALCHEMY_DATABASE_URI == "mysql+pymysql://u:p@db/app"
    assert resolved.WECHAT_SIMULATOR is False


def test_every_response_has_a_request_id_and_a_sane_one_is_echoed(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    echoed = client.get("/healthz", headers={"X-Request-ID": "trace-abc-12345"})
    assert echoed.headers["X-Request-ID"] == "trace-abc-12345"
    hostile = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert hostile.headers["X-Request-ID"] != "<script>alert(1)</script>"
    error = client.get("/api/v1/me", headers={"X-Request-ID": "trace-err-12345"})
    assert error.get_json()["error"]["request_id"] == "trace-err-12345"


def test_logs_are_json_with_the_request_id(client, capsys):
    logger = logging.getLogger("app.access")
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        client.get("/healthz", headers={"X-Request-ID": "trace-log-12345"})
    finally:
        logger.setLevel(previous)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if line.startswith("{")]
    access = [entry for entry in lines if entry.get("logger") == "app.access"]
    assert access and access[-1]["request_id"] == "trace-log-12345"
    assert access[-1]["path"] == "/healthz" and access[-1]["status"] == 200


def test_openapi_lists_the_api_and_the_docs_page_is_served(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["info"]["title"] == "医疗预约平台 API"
    for path in ("/api/v1/auth/wechat-login", "/api/v1/patients", "/api/v1/patients/{patient_id}",
                 "/api/v1/me/real-name", "/api/v1/files"):
        assert path in spec["paths"], path
    assert not any(path.startswith("/_sim") for path in spec["paths"])
    assert client.get("/api/docs").status_code == 200


def test_migrations_match_the_models(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    # tables the test suite itself creates (its own metadata, e.g. the demo order type)
    diff = [d for d in diff if not (d[0] == "remove_table" and d[1].name.startswith("test_"))]
    assert diff == []


def test_jobs_are_enqueued_only_after_commit(app):
    with app.app_context():
        queue = jobs.queue()
        queue.empty()
        jobs.enqueue_after_commit(db.session, "app.tasks.maintenance.record_heartbeat", "test")
        db.session.rollback()
        assert queue.count == 0
        jobs.enqueue_after_commit(db.session, "app.tasks.maintenance.record_heartbeat", "test")
        assert queue.count == 0  # not before the commit
        db.session.commit()
        assert queue.count == 1
        job = queue.jobs[0]
        assert job.func_name == "app.tasks.maintenance.record_heartbeat" and job.args == ["test"]
        queue.empty()


def test_cron_table_feeds_the_json_worker(app):
    """The `rq cron` table enqueues in the workers' JSON format, and a worker runs the job."""
    from rq import SimpleWorker
    from rq.cron import CronScheduler
    from rq.serializers import JSONSerializer

    with app.app_context():
        conn = redis_client.conn
        scheduler = CronScheduler(connection=conn)
        scheduler.load_config_from_file("app.tasks.cron")
        enqueued = scheduler.enqueue_jobs()
        # interval jobs run at once; the daily ones (reminders, no-shows) wait for their hour
        assert sorted(job.func_name for job in enqueued) == [
            "app.tasks.announcements.resume_announcements",
            "app.tasks.booking.rebuild_booking_gates", "app.tasks.booking.sweep_unpaid_registrations",
            "app.tasks.care_orders.sweep_care_orders",
            "app.tasks.hospital_webhooks.sweep_hospital_webhooks",
            "app.tasks.maintenance.record_heartbeat",
            "app.tasks.notifications.sweep_pushes", "app.tasks.payments.reconcile_payments",
            "app.tasks.payments.sweep_expired_payments", "app.tasks.stats.flush_user_events",
            "app.tasks.waitlist.sweep_waitlist"]
        worker = SimpleWorker(["default"], connection=conn, serializer=JSONSerializer)
        worker.work(burst=True)
        assert conn.get("heartbeat:cron") is not None
        from rq.registry import FailedJobRegistry
        assert FailedJobRegistry("default", connection=conn).count == 0


def test_demo_seed_is_idempotent(app):
    from app.seed import seed_demo_data
    from tests.conftest import row_counts

    with app.app_context():
        app.config["DEMO_ADMIN_PASSWORD"] = "admin-demo-2026"
        first = seed_demo_data()
        db.session.remove()
    after_first = row_counts(app)
    with app.app_context():
        second = seed_demo_data()
        db.session.remove()
    assert any("created" in line for line in first)
    assert second == ["demo data already present; nothing added"]
    assert row_counts(app) == after_first
    assert after_first["patients"] == 2 and after_first["staff_users"] == 3


def test_staff_cli_creates_an_argon2_account(app):
    from app.staff.models import StaffUser

    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "create", "--username", "ops1", "--role", "operator",
                                 "--password", "long-enough-pass"])
    assert result.exit_code == 0, result.output
    weak = runner.invoke(args=["staff", "create", "--username", "ops2", "--role", "operator",
                               "--password", "short"])
    assert weak.exit_code != 0 and "密码" in weak.output
    with app.app_context():
        staff = db.session.query(StaffUser).filter_by(username="ops1").one()
        assert staff.password_hash.startswith("$argon2id$")
        db.session.remove()
    client = app.test_client()
    ok = client.post("/api/v1/staff/login", json={"username": "ops1", "password": "long-enough-pass"})
    assert ok.status_code == 200 and ok.get_json()["staff"]["role"] == "operator"
    bad = client.post("/api/v1/staff/login", json={"username": "ops1", "password": "wrong-pass"})
    nobody = client.post("/api/v1/staff/login", json={"username": "nobody", "password": "x"})
    assert bad.status_code == nobody.status_code == 401
    assert bad.get_json()["error"]["code"] == nobody.get_json()["error"]["code"] == "bad_credentials"


def test_staff_cli_links_a_staff_member_to_their_own_user(app, client, alice, bob):
    """`flask staff link-user` is how a reviewer's own account becomes known; unknown staff,
    unknown users and a user already linked to someone else are refused."""
    from app.staff.models import StaffUser

    runner = app.test_cli_runner()
    for username in ("rev1", "rev2"):
        assert runner.invoke(args=["staff", "create", "--username", username, "--role",
                                   "reviewer", "--password", "long-enough-pass"]).exit_code == 0
    linked = runner.invoke(args=["staff", "link-user", "--username", "rev1",
                                 "--user-id", str(alice["id"])])
    assert linked.exit_code == 0 and f"#{alice['id']}" in linked.output
    taken = runner.invoke(args=["staff", "link-user", "--username", "rev2",
                                "--user-id", str(alice["id"])])
    assert taken.exit_code != 0 and "已关联" in taken.output
    assert runner.invoke(args=["staff", "link-user", "--username", "nobody",
                               "--user-id", str(bob["id"])]).exit_code != 0
    assert runner.invoke(args=["staff", "link-user", "--username", "rev2",
                               "--user-id", "999999"]).exit_code != 0
    with app.app_context():
        links = dict(db.session.query(StaffUser.username, StaffUser.user_id).filter(
            StaffUser.username.in_(["rev1", "rev2"])).all())
        db.session.remove()
    assert links == {"rev1": alice["id"], "rev2": None}
