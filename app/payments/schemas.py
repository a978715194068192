from marshmallow import fields, validate

from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.payments.models import PAYMENT_STATUSES, REFUND_STATUSES
from app.payments.protocol import registered_order_types


class PrepayRequestSchema(BaseSchema):
    order_type = Text(32, required=True, min_length=1,
                      metadata={"enum_of": registered_order_types})
    order_id = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1, max=2**31 - 1))


class PaymentSchema(BaseSchema):
    id = fields.Integer()
    out_trade_no = fields.String()
    order_type = fields.String(metadata={"enum_of": registered_order_types})
    order_id = fields.Integer()
    amount_fen = fields.Integer()
    refunded_fen = fields.Integer()
    status = fields.String(validate=validate.OneOf(PAYMENT_STATUSES))
    expires_at = LocalDateTime()
    paid_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)


class PayParamsSchema(BaseSchema):
    timeStamp = fields.String()
    nonceStr = fields.String()
    package = fields.String()
    signType = fields.String()
    paySign = fields.String()


class PrepayResultSchema(BaseSchema):
    payment = fields.Nested(PaymentSchema)
    pay_params = fields.Nested(PayParamsSchema)


class RefundRequestSchema(BaseSchema):
    amount_fen = fields.Integer(required=True, strict=True,
                                validate=validate.Range(min=1, max=10**9))
    reason = Text(80, required=True, min_length=2)


class RefundSchema(BaseSchema):
    id = fields.Integer()
    out_refund_no = fields.String()
    payment_id = fields.Integer()
    amount_fen = fields.Integer()
    reason = fields.String()
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))
    requested_by = fields.String()
    succeeded_at = LocalDateTime(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    created_at = LocalDateTime()


class RefundQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(REFUND_STATUSES))


class StaffRefundSchema(RefundSchema):
    """What staff need to act on a refund: how often WeChat refused it, when it is sent next,
    and which order it belongs to."""

    attempts = fields.Integer()
    next_attempt_at = LocalDateTime(allow_none=True)
    out_trade_no = fields.Function(lambda r: r.payment.out_trade_no, metadata={"type": "string"})
    order_type = fields.Function(lambda r: r.payment.order_type, metadata={
        "type": "string", "enum_of": registered_order_types})
    order_id = fields.Function(lambda r: r.payment.order_id, metadata={"type": "integer"})
