"""The staff H5 console (/console): server-rendered pages with WeUI's CSS, signed in with a
session cookie, CSRF-checked, calling the same services as the staff API."""


def register_console(app):
    from app.console.views import bp
    # each page module adds its routes to the one blueprint when imported
    from app.console import account_views, audit_views, orders_views, settings_views  # noqa: F401
    from app.console import board_views  # noqa: F401  (讨论区 moderation)
    from app.console import stats_views  # noqa: F401  (statistics dashboard)
    from app.console import dictionary_views  # noqa: F401  (数据字典, Excel import/export)
    from app.backups import views as backup_views  # noqa: F401  (/console/backups)

    # the session cookie carries the console sign-in: not readable by scripts, and not sent on
    # cross-site subrequests (a top-level GET, such as the WeChat OAuth redirect, still has it)
    if app.config.get("SESSION_COOKIE_SAMESITE") is None:
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault("CONSOLE_SESSION_SECONDS", 12 * 3600)
    app.register_blueprint(bp)
