"""A local stand-in for WeChat's servers, speaking their wire protocol.

Mounted at /_sim/wechat only when WECHAT_SIMULATOR is on (never in production config). The
real SDK clients reach it through WECHAT_API_BASE. State lives in Redis so every process of
the running product (web, worker, cron) sees the same simulated WeChat.
"""


def register_simulator(app):
    from app.wechat.simulator.miniprogram import bp as miniprogram_bp
    from app.wechat.simulator.pay import register as register_pay

    app.register_blueprint(miniprogram_bp, url_prefix="/_sim/wechat")
    register_pay(app)  # /_sim/wechatpay (WeChat Pay v3) and /_sim/pay (the payer)
