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
