"""Payment endpoints for users and staff, and the two WeChat Pay webhooks."""
import logging

from flask import Blueprint as FlaskBlueprint, jsonify, request
from app.common.api import Blueprint

from app.common.auth import current_staff, current_user, login_required, staff_required
from app.errors import AppError
from app.payments import services
from app.payments.schemas import (PaymentSchema, PrepayRequestSchema, PrepayResultSchema,
                                  RefundRequestSchema, RefundSchema)
from app.wechat import pay as wxpay

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="支付")
webhooks = FlaskBlueprint("wechat_pay_webhooks", __name__, url_prefix="/wechat/pay")
log = logging.getLogger("app.payments.webhooks")


@blp.post("/payments/prepay")
@login_required
@blp.arguments(PrepayRequestSchema)
@blp.response(200, PrepayResultSchema)
def prepay(body):
    """为本人未支付的订单下单,返回 wx.requestPayment 参数(未过期前重复请求复用同一预支付单)"""
    return services.prepay(current_user(), body["order_type"], body["order_id"])


@blp.get("/payments/<int:payment_id>")
@login_required
@blp.response(200, PaymentSchema)
def get_payment(payment_id):
    """支付单状态(以微信支付通知或主动查询为准,不信任客户端回调)"""
    return services.payment_of(current_user(), payment_id)


@blp.post("/staff/payments/<int:payment_id>/refunds")
@staff_required("operator")
@blp.arguments(RefundRequestSchema)
@blp.response(201, RefundSchema)
def refund(body, payment_id):
    """工作人员发起全额或部分退款"""
    return services.request_refund(payment_id, body["amount_fen"], body["reason"],
                                   f"staff:{current_staff().id}")


@webhooks.post("/notify")
def payment_notification():
    """TRANSACTION.SUCCESS: 204 once applied or already applied; 4xx FAIL when unverifiable."""
    notification = wxpay.parse_notification(request.headers, request.get_data(as_text=True))
    if notification["event_type"] != "TRANSACTION.SUCCESS":
        log.info("ignored payment event %s", notification["event_type"])
        return "", 204
    outcome = services.apply_transaction(notification["resource"], "notify")
    log.info("payment notification %s: %s", notification.get("id"), outcome)
    return "", 204


@webhooks.post("/refund-notify")
def refund_notification():
    notification = wxpay.parse_notification(request.headers, request.get_data(as_text=True))
    if not str(notification["event_type"]).startswith("REFUND."):
        log.info("ignored refund event %s", notification["event_type"])
        return "", 204
    outcome = services.apply_refund_notification(notification["resource"], "refund-notify")
    log.info("refund notification %s: %s", notification.get("id"), outcome)
    return "", 204


@webhooks.errorhandler(AppError)
def webhook_error(error: AppError):
    """WeChat reads {"code": "FAIL"}; any non-2xx makes it deliver again later."""
    status = error.status if 400 <= error.status < 600 else 400
    log.warning("webhook refused (%s): %s %s", status, error.code,
                getattr(error, "reason", "") or error.message)
    return jsonify({"code": "FAIL", "message": error.message}), status
