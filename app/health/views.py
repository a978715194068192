"""Health checks.

- GET /healthz/live: liveness, the process answers (no database, no Redis): a supervisor
  restarts the process only when this fails.
- GET /healthz/ready: readiness, the database and Redis answer, else 503 naming what failed:
  a load balancer stops sending traffic. A configured read replica that does not answer is
  named too ("degraded", still 200): reads fall back to the primary, and a 503 there would
  take every web host out of the balancer at once over a part that has a fallback.
- GET /healthz: readiness, as before the split (existing probes and scripts).
- GET /ping: liveness too (kept for existing clients).
"""
import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.common import replica
from app.extensions import db, redis_client

bp = Blueprint("health", __name__)
REQUIRED = {"database", "redis"}  # without these no request can be served
log = logging.getLogger("app.health")


def _check(checks: dict, name: str, probe) -> None:
    try:
        probe()
        checks[name] = "ok"
    except Exception:  # noqa: BLE001  (whatever failed, the answer names it)
        log.exception("health: %s", name)
        checks[name] = "error"


def _database():
    try:
        db.session.execute(text("SELECT 1"))
    finally:
        db.session.rollback()


@bp.get("/healthz")
@bp.get("/healthz/ready")
def healthz():
    checks = {}
    _check(checks, "database", _database)
    _check(checks, "redis", lambda: redis_client.conn.ping())
    if replica.configured():
        _check(checks, "replica", replica.check)
    failed = sorted(name for name, value in checks.items() if value != "ok")
    body = {"status": "degraded" if failed else "ok", "checks": checks}
    if failed:
        body["failed"] = failed
    ready = not set(failed) & REQUIRED
    return jsonify(body), 200 if ready else 503


@bp.get("/healthz/live")
@bp.get("/ping")
def ping():
    """Liveness without touching the database or Redis (load balancers, client checks)."""
    return jsonify({"status": "ok"})
