"""Payment endpoints for users and staff, and the two WeChat Pay webhooks."""
import logging

from flask import Blueprint as FlaskBlueprint, jsonify, request
from app.common.api import Blueprint

from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.pagination import page_schema
from app.errors import AppError
from app.observability.metrics import PAYMENT_NOTIFICATIONS, count
from app.payments import services
from app.payments.schemas import (PaymentSchema, PrepayRequestSchema, PrepayResultSchema,
                                  RefundQuerySchema, RefundRequestSchema, RefundSchema,
                                  StaffRefundSchema)
from app.payments.protocol import OrderNotPayable
from app.wechat import pay as wxpay
from app.wechat.errors import PayApiError, PayOrderNotFound, PayOrderPaid, PayUnavailable

blp = Blueprint("payments", __name__, url_prefix="/api/v1", description="支付")
webhooks = FlaskBlueprint("wechat_pay_webhooks", __name__, url_prefix="/wechat/pay")
log = logging.getLogger("app.payments.webhooks")


@blp.post("/payments/prepay")
@blp.errors(services.UnknownOrderType, (404, "registration_not_found"),
            (404, "care_order_not_found"), OrderNotPayable,
            (OrderNotPayable, "payment_expired"), (OrderNotPayable, "amount_changed"),
            services.OrderAlreadyPaid, PayApiError, PayOrderNotFound, PayOrderPaid,
            PayUnavailable)
@login_required
@blp.arguments(PrepayRequestSchema)
@blp.response(200, PrepayResultSchema)
def prepay(body):
    """为本人未支付的订单下单,返回 wx.requestPayment 参数(未过期前重复请求复用同一预支付单)"""
    return services.prepay(current_user(), order_type=body["order_type"],
                           order_id=body["order_id"])


@blp.get("/payments/<int:payment_id>")
@blp.errors(services.PaymentNotFound)
@login_required
@blp.response(200, PaymentSchema)
def get_payment(payment_id):
    """支付单状态(以微信支付通知或主动查询为准,不信任客户端回调)"""
    return services.payment_of(current_user(), payment_id=payment_id)


@blp.post("/staff/payments/<int:payment_id>/refunds")
@blp.errors(services.PaymentNotFound, services.PaymentNotRefundable, services.RefundExceedsPaid,
            services.RefundThroughOrder,
            (422, "invalid_amount"))
@staff_required("operator")
@blp.arguments(RefundRequestSchema)
@blp.response(201, RefundSchema)
def refund(body, payment_id):
    """工作人员发起全额或部分退款(提交后由后台向微信支付发起,状态 processing)"""
    return services.request_refund(current_staff(), payment_id=payment_id,
                                   amount_fen=body["amount_fen"], reason=body["reason"])


@blp.get("/staff/refunds")
@staff_required("operator")
@blp.arguments(RefundQuerySchema, location="query")
@blp.response(200, page_schema(StaffRefundSchema))
def list_refunds(query):
    """退款单列表(status=failed:微信多次拒绝、需人工处理的退款)"""
    return services.list_refunds(current_staff(), status=query.get("status"),
                                 page=query["page"], page_size=query["page_size"])


@blp.post("/staff/refunds/<int:refund_id>/retry")
@blp.errors(services.RefundNotFound, services.RefundNotRetryable)
@staff_required("operator")
@blp.response(200, StaffRefundSchema)
def retry_refund(refund_id):
    """重试失败的退款(沿用原退款单号)"""
    return services.retry_refund(current_staff(), refund_id=refund_id)


@webhooks.post("/notify")
def payment_notification():
    """TRANSACTION.SUCCESS: 204 once applied or already applied; 4xx FAIL when unverifiable."""
    try:
        notification = wxpay.parse_notification(request.headers, request.get_data(as_text=True))
        if notification["event_type"] != "TRANSACTION.SUCCESS":
            log.info("ignored payment event %s", notification["event_type"])
            count(PAYMENT_NOTIFICATIONS, "ignored", "")
            return "", 204
        outcome = services.apply_transaction(notification["resource"], source="notify")
    except AppError as error:  # /metrics: refused, by code (answered by webhook_error)
        count(PAYMENT_NOTIFICATIONS, "refused", str(error.code))
        raise
    except Exception:  # a failure of ours (500): WeChat delivers it again later
        count(PAYMENT_NOTIFICATIONS, "refused", "error")
        raise
    log.info("payment notification %s: %s", notification.get("id"), outcome)
    count(PAYMENT_NOTIFICATIONS, str(outcome), "")  # applied / duplicate / refunding / ignored
    return "", 204


@webhooks.post("/refund-notify")
def refund_notification():
    notification = wxpay.parse_notification(request.headers, request.get_data(as_text=True))
    if not str(notification["event_type"]).startswith("REFUND."):
        log.info("ignored refund event %s", notification["event_type"])
        return "", 204
    outcome = services.apply_refund_notification(notification["resource"],
                                                 source="refund-notify")
    log.info("refund notification %s: %s", notification.get("id"), outcome)
    return "", 204


@webhooks.errorhandler(AppError)
def webhook_error(error: AppError):
    """WeChat reads {"code": "FAIL"}; any non-2xx makes it deliver again later."""
    status = error.status if 400 <= error.status < 600 else 400
    log.warning("webhook refused (%s): %s %s", status, error.code,
                getattr(error, "reason", "") or error.message)
    return jsonify({"code": "FAIL", "message": error.message}), status
