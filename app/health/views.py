"""GET /healthz: the database and Redis both answer, or 503 naming what failed."""
import logging

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db, redis_client

bp = Blueprint("health", __name__)
log = logging.getLogger("app.health")


@bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        log.exception("health: database")
        checks["database"] = "error"
    finally:
        db.session.rollback()
    try:
        redis_client.conn.ping()
        checks["redis"] = "ok"
    except Exception:
        log.exception("health: redis")
        checks["redis"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify({"status": "ok" if healthy else "degraded", "checks": checks}), (
        200 if healthy else 503)


@bp.get("/ping")
def ping():
    """Liveness without touching the database or Redis (load balancers, client checks)."""
    return jsonify({"status": "ok"})
