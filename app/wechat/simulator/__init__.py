"""A local stand-in for WeChat's servers, speaking their wire protocol.

Mounted at /_sim/wechat only when WECHAT_SIMULATOR is on (never in production config). The
real SDK clients reach it through WECHAT_API_BASE. State lives in Redis so every process of
the running product (web, worker, cron) sees the same simulated WeChat.
"""


def register_simulator(app):
    from app.wechat.simulator.miniprogram import bp as miniprogram_bp

    app.register_blueprint(miniprogram_bp, url_prefix="/_sim/wechat")
