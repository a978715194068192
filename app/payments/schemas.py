from marshmallow import fields, validate

from app.common.validation import BaseSchema, LocalDateTime, Text


class PrepayRequestSchema(BaseSchema):
    order_type = Text(32, required=True, min_length=1)
    order_id = fields.Integer(required=True, strict=True,
                              validate=validate.Range(min=1, max=2**31 - 1))


class PaymentSchema(BaseSchema):
    id = fields.Integer()
    out_trade_no = fields.String()
    order_type = fields.String()
    order_id = fields.Integer()
    amount_fen = fields.Integer()
    refunded_fen = fields.Integer()
    status = fields.String()
    expires_at = LocalDateTime()
    paid_at = LocalDateTime()
    closed_at = LocalDateTime()


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
    status = fields.String()
    requested_by = fields.String()
    succeeded_at = LocalDateTime()
    failure_reason = fields.String()
    created_at = LocalDateTime()
