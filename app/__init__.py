"""Application factory."""
from pathlib import Path

from flask import Flask

from config import resolve_config


def create_app(config_name=None, overrides=None):
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(resolve_config(config_name))
    if overrides:
        app.config.update(overrides)
    app.json.ensure_ascii = False
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(Path(app.config["INSTANCE_DIR"]) / "uploads")

    from app.common.logging import configure_logging, install_request_id
    configure_logging(app)
    install_request_id(app)

    from app.common.crypto import init_pii
    from app.extensions import api, db, jobs, limiter, migrate, redis_client
    init_pii(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"),
                     render_as_batch=True, compare_type=True)
    redis_client.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", _limiter_storage_uri(app.config["REDIS_URL"]))
    limiter.init_app(app)
    jobs.install(db)
    api.init_app(app)

    _register_blueprints(app, api)
    if app.config.get("WECHAT_SIMULATOR"):
        from app.wechat.simulator import register_simulator
        register_simulator(app)

    from app.errors import register_error_handlers
    register_error_handlers(app)

    from app.cli import register_cli
    register_cli(app)
    return app


def _limiter_storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def _register_blueprints(app, api):
    from app.auth.views import blp as auth_blp
    from app.files.views import blp as files_blp
    from app.health.views import bp as health_bp
    from app.patients.views import blp as patients_blp
    from app.staff.views import blp as staff_blp
    from app.users.views import blp as users_blp

    for blueprint in (auth_blp, users_blp, patients_blp, files_blp, staff_blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(health_bp)
