from app.errors import AppError


class WeChatApiError(AppError):
    """WeChat answered with a non-zero errcode."""

    status = 502
    code = "wechat_error"
    message = "微信服务返回错误,请稍后再试"

    def __init__(self, errcode, errmsg, **kwargs):
        super().__init__(details={"errcode": errcode, "errmsg": errmsg}, **kwargs)
        self.errcode = errcode
        self.errmsg = errmsg


class WeChatUnavailable(AppError):
    """WeChat did not answer in time or the connection failed."""

    status = 503
    code = "wechat_unavailable"
    message = "微信服务暂时无法访问,请稍后再试"


class PayApiError(AppError):
    """WeChat Pay answered a request with an error (a 4xx and its {"code", "message"}).

    ``code`` stays "wechatpay_error" (the code our own API answers with); WeChat's status and
    code are in ``http_status`` / ``wechat_code`` (and ``details``). ``message`` is WeChat's
    message when it sent one.
    """

    status = 502
    code = "wechatpay_error"
    message = "微信支付返回错误,请稍后再试"

    def __init__(self, http_status, code, message=None, **kwargs):
        super().__init__(message or None, details={
            "http_status": http_status, "code": code, "message": message}, **kwargs)
        self.http_status = http_status
        self.wechat_code = code
        self.wechat_message = message

    def __str__(self):
        return f"WeChat Pay {self.http_status} {self.wechat_code}: {self.wechat_message}"


class PayOrderNotFound(PayApiError):
    """WeChat Pay does not know the order or refund (404 ORDER_NOT_EXIST / RESOURCE_NOT_EXISTS)."""

    code = "wechatpay_order_not_found"
    message = "微信支付订单不存在"


class PayOrderPaid(PayApiError):
    """Closing (or ordering again) an order that has been paid: WeChat's ORDERPAID."""

    code = "wechatpay_order_paid"
    message = "订单已支付"


class PayUnavailable(AppError):
    """WeChat Pay could not be reached, timed out, answered 5xx/429, or sent an answer whose
    signature does not verify. The outcome of the request is unknown: retry with the same
    parameters (out_trade_no / out_refund_no make that safe) or query."""

    status = 503
    code = "wechatpay_unavailable"
    message = "微信支付暂时无法访问,请稍后再试"


class NotificationRejected(AppError):
    """A pay/refund notification we do not accept. ``reason`` is one of stale_timestamp,
    bad_signature, bad_appid, bad_mchid, malformed."""

    status = 400
    code = "notification_rejected"
    message = "通知验证失败"

    def __init__(self, reason, **kwargs):
        super().__init__(details={"reason": reason}, **kwargs)
        self.reason = reason

    def __str__(self):
        return f"notification rejected: {self.reason}"
