"""Application factory."""
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from config import resolve_config


class BoundedIntConverter(IntegerConverter):
    """<int:id> that no database rejects: an id beyond 64 bits becomes 0, which names no row,
    so the view answers its own 404. (Refusing the match instead made werkzeug answer 405 on a
    path that has other methods, e.g. DELETE /patients/<huge> next to GET and PATCH.)"""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits, 0 if min is None else min,
                         2**63 - 1 if max is None else max, signed)

    def to_python(self, value):
        number = int(value)
        return number if self.min <= number <= self.max else 0


def create_app(config_name=None, overrides=None):
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object(resolve_config(config_name))
    if overrides:
        app.config.update(overrides)
    app.json.ensure_ascii = False
    hops = int(app.config.get("TRUSTED_PROXY_HOPS") or 0)
    if hops:
        # only then is X-Forwarded-For the client (rate limits, logs); from anyone else it
        # would let a caller pick the address its limits are counted under
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    app.url_map.converters["int"] = BoundedIntConverter
    Path(app.config["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    if not app.config.get("UPLOAD_DIR"):
        app.config["UPLOAD_DIR"] = str(Path(app.config["INSTANCE_DIR"]) / "uploads")

    from app.common.logging import configure_logging, install_request_id
    configure_logging(app)
    install_request_id(app)
    from app.observability import init_observability
    init_observability(app)  # /metrics, request latency by route

    from app.common import replica
    replica.configure(app)  # the read replica's bind, from the engine options before tuning
    if (app.config.get("READ_REPLICA_DATABASE_URL") or "").startswith("sqlite"):
        _install_sqlite_listeners()
    if (app.config["SQLALCHEMY_DATABASE_URI"] or "").startswith("sqlite"):
        _tune_sqlite(app)
    elif (app.config["SQLALCHEMY_DATABASE_URI"] or "").startswith("mysql"):
        # READ COMMITTED: after a service takes a row lock, its next reads see what other
        # transactions committed meanwhile (REPEATABLE READ would show the older snapshot).
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), "isolation_level": "READ COMMITTED"}

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
    import app.marketplace.cache as _search_cache  # noqa: F401  (installs its session listeners)
    from app.common.auth import install_principal_cache
    install_principal_cache(app)
    from app.audit.listeners import install_audit
    install_audit(db)  # every staff action's row changes, in the action's own transaction
    from app.common.openapi import init_openapi
    init_openapi(app, api)  # api.init_app + the API contract's pieces

    _register_blueprints(app, api)
    from app.console import register_console
    register_console(app)  # the staff H5 console at /console
    if app.config.get("WECHAT_SIMULATOR"):
        from app.wechat.simulator import register_simulator
        from app.wechat.simulator.keys import apply_simulator_pay_defaults
        apply_simulator_pay_defaults(app)
        register_simulator(app)

    from app.errors import register_error_handlers
    register_error_handlers(app)

    from app.cli import register_cli
    register_cli(app)
    return app


def _tune_sqlite(app):
    """SQLite (the embedded default): wait for locks instead of failing, enforce foreign keys,
    and start every transaction with BEGIN IMMEDIATE. SQLite ignores SELECT ... FOR UPDATE and
    a read transaction that later writes fails at once if another writer got in between; taking
    the write lock up front serialises transactions, so the row-lock code written for MariaDB
    is correct here too (SQLite has a single writer anyway)."""
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    _install_sqlite_listeners()



_sqlite_listeners_installed = False


def _install_sqlite_listeners():
    global _sqlite_listeners_installed
    if _sqlite_listeners_installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    @event.listens_for(Engine, "connect")
    def _pragmas(dbapi_connection, _record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    @event.listens_for(Engine, "begin")
    def _begin_immediate(connection):
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    _sqlite_listeners_installed = True


def _limiter_storage_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def _register_blueprints(app, api):
    from app.hospitals import models as _catalogue  # noqa: F401  (tables for migrations)
    from app.auth.views import blp as auth_blp
    from app.booking.views import blp as booking_blp
    # every payable order type registers before the payment schemas (their order_type enum)
    # are first documented
    from app.care_orders import order_type as _care_order_type  # noqa: F401
    from app.notifications.views import blp as notifications_blp
    from app.notifications.views import staff_blp as message_templates_blp
    from app.notifications.views import subscriptions_blp
    from app.files.views import blp as files_blp
    from app.health.views import bp as health_bp
    from app.hospitals.views import blp as hospitals_blp
    from app.patients.views import blp as patients_blp
    from app.payments.views import blp as payments_blp, webhooks as pay_webhooks
    from app.staff.views import blp as staff_blp
    from app.users.views import blp as users_blp

    for blueprint in (auth_blp, users_blp, patients_blp, files_blp, staff_blp, payments_blp,
                      booking_blp, notifications_blp, subscriptions_blp, message_templates_blp,
                      hospitals_blp):
        api.register_blueprint(blueprint)
    # caregiver domains: each views module has `blp` (users) and may have `staff_blp`
    from app.availability import views as availability_views
    from app.care_disputes import views as care_dispute_views
    from app.care_orders import staff_views as care_order_staff_views
    from app.care_orders import views as care_order_views
    from app.care_reviews import views as care_review_views
    from app.caregivers import views as caregiver_views
    from app.earnings import views as earnings_views
    from app.marketplace import views as marketplace_views
    from app.qualifications import views as qualification_views
    from app.settings import models as _settings  # noqa: F401  (tables for migrations)
    from app.announcements import models as _announcements  # noqa: F401  (tables for migrations)
    from app.announcements import views as announcement_views
    from app.audit import views as audit_views
    from app.settings import views as settings_views
    for module in (caregiver_views, qualification_views, availability_views, marketplace_views,
                   care_order_views, care_order_staff_views, care_review_views, care_dispute_views,
                   earnings_views, announcement_views, audit_views, settings_views):
        for name in ("blp", "staff_blp"):
            if hasattr(module, name):
                api.register_blueprint(getattr(module, name))
    from app.booking.staff_views import staff_blp as registration_staff_blp
    api.register_blueprint(registration_staff_blp)  # /api/v1/staff/registrations
    from app.waitlist import views as waitlist_views
    api.register_blueprint(waitlist_views.blp)  # /api/v1/waitlist
    api.register_blueprint(waitlist_views.staff_blp)  # /api/v1/staff/schedules/<id>/waitlist
    from app.hospital_onboarding import views as onboarding_views
    api.register_blueprint(onboarding_views.blp)  # /api/v1/hospital-applications
    api.register_blueprint(onboarding_views.staff_blp)  # /api/v1/staff/hospital-applications, keys
    from app.hospital_webhooks.views import staff_blp as hospital_webhooks_blp
    api.register_blueprint(hospital_webhooks_blp)  # /api/v1/staff/hospitals/<id>/webhook
    from app.points import views as points_views
    api.register_blueprint(points_views.blp)  # /api/v1/me/points
    api.register_blueprint(points_views.staff_blp)  # /api/v1/staff/settings/points
    from app.booking_limits.views import staff_blp as booking_limits_blp
    api.register_blueprint(booking_limits_blp)  # /api/v1/staff/settings/booking-limits, flags
    from app.stats import models as _stats  # noqa: F401  (tables for migrations)
    from app.stats.views import staff_blp as stats_blp
    api.register_blueprint(stats_blp)  # /api/v1/staff/stats (statistics, exports)
    from app.dictionary import views as dictionary_views
    api.register_blueprint(dictionary_views.blp)  # /api/v1/dictionary (public pickers)
    api.register_blueprint(dictionary_views.staff_blp)  # /api/v1/staff/dictionary (admin, Excel)
    from app.board import views as board_views
    api.register_blueprint(board_views.blp)  # /api/v1/board (讨论区)
    api.register_blueprint(board_views.staff_blp)  # /api/v1/staff/board (moderation)
    from app.membership import views as membership_views
    api.register_blueprint(membership_views.blp)  # /api/v1/me/membership
    api.register_blueprint(membership_views.staff_blp)  # /api/v1/staff/settings/membership-levels
    from app.open_api.views import register as register_open_api
    register_open_api(app)  # /open/v1 (signed, its own document at /open/openapi.json)
    app.register_blueprint(health_bp)
    app.register_blueprint(pay_webhooks)
    from app.staff_wechat.views import register as register_staff_wechat
    register_staff_wechat(app, api)  # /wechat/official and /api/v1/staff/wechat/...
