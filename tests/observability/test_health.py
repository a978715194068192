"""Liveness and readiness: /healthz/live answers whatever the dependencies do; /healthz/ready
(and /healthz, its old name) answers 503 naming what failed when Redis or the database does
not answer."""
from app import create_app
from app.extensions import redis_client

SHARED = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "INSTANCE_DIR", "UPLOAD_DIR")


def _app(app, **overrides):
    return create_app("testing", {**{key: app.config[key] for key in SHARED}, **overrides})


def test_live_and_ready_when_everything_answers(client):
    assert client.get("/healthz/live").get_json() == {"status": "ok"}
    for path in ("/healthz/ready", "/healthz"):
        ready = client.get(path)
        assert ready.status_code == 200
        assert ready.get_json() == {"status": "ok",
                                    "checks": {"database": "ok", "redis": "ok"}}


def test_redis_unreachable_is_not_ready_but_alive(app):
    # nothing listens on port 1: every Redis call fails at connect
    broken = _app(app, REDIS_URL="redis://127.0.0.1:1/0")
    try:
        client = broken.test_client()
        assert client.get("/healthz/live").status_code == 200
        for path in ("/healthz/ready", "/healthz"):
            ready = client.get(path)
            assert ready.status_code == 503
            assert ready.get_json()["checks"] == {"database": "ok", "redis": "error"}
            assert ready.get_json()["failed"] == ["redis"]
    finally:
        redis_client.init_app(app)  # the client is process-wide: give it back its server


def test_database_unreachable_is_not_ready_but_alive(app, workdir):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        url = f"sqlite:///{workdir / 'no-such-directory' / 'app.db'}"
    else:
        url = "mysql+pymysql://root@127.0.0.1:1/nothing_listens_here"
    broken = _app(app, SQLALCHEMY_DATABASE_URI=url)
    client = broken.test_client()
    assert client.get("/healthz/live").status_code == 200
    ready = client.get("/healthz/ready")
    assert ready.status_code == 503
    assert ready.get_json()["checks"] == {"database": "error", "redis": "ok"}
    assert ready.get_json()["failed"] == ["database"]
