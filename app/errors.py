"""One AppError tree and the one JSON error handler.

Every error leaves as {"error": {"code", "message", "details", "request_id"}} with a stable
English code and a Chinese message. Nothing escapes as an HTML page or a bare 500.
"""
import logging

from flask import g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("app.errors")


class AppError(Exception):
    status = 400
    code = "bad_request"
    message = "请求有误"

    def __init__(self, message=None, *, code=None, details=None, status=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.code = code or self.code
        self.status = status or self.status
        self.details = details or {}


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"
    message = "请求参数有误"

    @classmethod
    def for_field(cls, field: str, message: str, code: str = "validation_error"):
        """One field refused: the message also under details[field], where a form shows it."""
        return cls(message, code=code, details={field: [message]})


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = "请先登录"


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = "没有权限执行此操作"


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "资源不存在"


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = "当前状态不允许此操作"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    message = "上传内容过大"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    message = "不支持的文件类型"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message = "操作过于频繁,请稍后再试"


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    message = "服务暂时不可用,请稍后再试"


# werkzeug / webargs HTTP errors that reach us without an AppError
HTTP_ERRORS = {
    400: ("bad_request", "请求有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限执行此操作"),
    404: ("not_found", "资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "无法提供请求的格式"),
    409: ("conflict", "当前状态不允许此操作"),
    411: ("length_required", "缺少请求长度"),
    413: ("payload_too_large", "上传内容过大"),
    414: ("uri_too_long", "请求地址过长"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "请求参数有误"),
    429: ("rate_limited", "操作过于频繁,请稍后再试"),
    431: ("headers_too_large", "请求头过大"),
}


def error_response(status, code, message, details=None):
    g.error_code = code
    body = {"error": {"code": code, "message": message, "details": details or {},
                      "request_id": getattr(g, "request_id", None)}}
    return jsonify(body), status


def handle_app_error(error: AppError):
    if error.status >= 500:
        log.error("app error %s: %s", error.code, error.message)
    else:
        # the access log line carries the code; a second line per refusal would double the
        # logging cost of a sold-out flood
        log.debug("rejected %s: %s", error.code, error.message)
    response, status = error_response(error.status, error.code, error.message, error.details)
    response.headers.update(getattr(error, "headers", None) or {})  # e.g. Retry-After
    return response, status


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 400 and messages and "json" in messages and messages["json"] == ["Invalid JSON body."]:
        return error_response(400, "invalid_json", "请求体不是合法的 JSON", {})
    if status == 422 and messages is not None:
        from app.common.validation import localize_messages  # late: avoids an import cycle
        return error_response(422, "validation_error", "请求参数有误", localize_messages(messages))
    if status >= 500:
        log.error("http error %s", status)
        return error_response(status, "internal_error", "服务器开小差了,请稍后再试")
    code, message = HTTP_ERRORS.get(status, ("http_error", "请求无法处理"))
    response, status = error_response(status, code, message)
    # werkzeug's headers belong to the answer too (RFC 9110: a 405 names the allowed methods)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def handle_unexpected(error: Exception):
    log.exception("unhandled error")
    return error_response(500, "internal_error", "服务器开小差了,请稍后再试")


def register_error_handlers(app):
    # Registered after flask-smorest's own HTTPException handler so this one wins.
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
