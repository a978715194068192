"""A local stand-in for WeChat's servers, speaking their wire protocol.

Mounted under /_sim only when WECHAT_SIMULATOR is on (never in production config): the
mini-program APIs at /_sim/wechat (WECHAT_API_BASE), WeChat Pay v3 at /_sim/wechatpay
(WECHATPAY_GATEWAY), the payer at /_sim/pay, and at /_sim an index page of all of it and of
its conventions. State lives in Redis so every process of the running product (web, worker,
cron) sees the same simulated WeChat.
"""


def register_simulator(app):
    from app.wechat.simulator.index import bp as index_bp
    from app.wechat.simulator.miniprogram import bp as miniprogram_bp
    from app.wechat.simulator.official import register as register_official
    from app.wechat.simulator.pay import register as register_pay

    app.register_blueprint(miniprogram_bp, url_prefix="/_sim/wechat")
    register_pay(app)  # /_sim/wechatpay (WeChat Pay v3) and /_sim/pay (the payer)
    register_official(app)  # menu and OAuth under /_sim/wechat, the message sender /_sim/official
    app.register_blueprint(index_bp)  # /_sim: what all of the above is and how to steer it
