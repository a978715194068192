from marshmallow import fields, validate

from app.caregivers.models import CARE_TYPES
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, String
from app.earnings.models import ENTRY_KINDS, ENTRY_STATUSES

_MONTH = validate.Regexp(r"^(19|20|21)\d{2}-(0[1-9]|1[0-2])$", error="格式应为 YYYY-MM")


class IncomeQuerySchema(PageQuerySchema):
    month = String(validate=_MONTH, metadata={
        "description": "只看这个月(北京时间,按入账时间)的明细,YYYY-MM;不传为全部"})
    status = String(validate=validate.OneOf(list(ENTRY_STATUSES)), metadata={
        "description": "pending 待结算;settled 已结算;不传为全部"})


class EarningEntrySchema(BaseSchema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_no = fields.String()
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    care_type_name = fields.String()
    kind = fields.String(validate=validate.OneOf(list(ENTRY_KINDS)), metadata={
        "description": "completion 服务完成;cancellation 取消补偿;dispute 纠纷处理(可为负,"
                       "退款后的更正);staff_cancellation 平台取消"})
    kind_name = fields.String()
    amount_fen = fields.Integer(metadata={"description": "订单留下的金额(分),可为负"})
    commission_fen = fields.Integer(metadata={"description": "平台服务费(分)"})
    net_fen = fields.Integer(metadata={"description": "护工所得 = 金额 − 服务费(分)"})
    status = fields.String(validate=validate.OneOf(list(ENTRY_STATUSES)))
    status_name = fields.String()
    due_at = fields.DateTime(metadata={"description": "可结算时间(纠纷期结束)"})
    settled_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class IncomeMonthSchema(BaseSchema):
    month = fields.String(metadata={"description": "YYYY-MM(北京时间)"})
    orders = fields.Integer(metadata={"description": "当月有入账的订单数"})
    net_fen = fields.Integer()
    commission_fen = fields.Integer()
    settled_net_fen = fields.Integer(metadata={"description": "当月入账中已结算的部分"})


class IncomeSummarySchema(BaseSchema):
    pending_net_fen = fields.Integer(metadata={"description": "待结算合计(分)"})
    settled_net_fen = fields.Integer(metadata={"description": "已结算合计(分)"})
    months = fields.List(fields.Nested(IncomeMonthSchema), metadata={
        "description": "最近 12 个月(由早到晚,最后一项为本月)"})


class IncomeSchema(BaseSchema):
    items = fields.List(fields.Nested(EarningEntrySchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    summary = fields.Nested(IncomeSummarySchema)
