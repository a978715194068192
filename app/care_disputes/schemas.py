from marshmallow import ValidationError, fields, validate, validates_schema

from app.care_disputes.models import DISPUTE_STATUSES, OPENED_BY, OUTCOMES
from app.care_disputes.services import EVIDENCE_MAX
from app.care_orders.models import STATUS_NAMES
from app.care_orders.schemas import EventSchema
from app.caregivers.models import CARE_TYPES
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, String, Text

_ID = {"strict": True, "validate": validate.Range(min=1, max=2**31 - 1)}
REFUND_FEN_MAX = 100_000_000  # 一百万元: more than any order; larger is a typo


class DisputeCreateSchema(BaseSchema):
    text = Text(1000, required=True, min_length=10, metadata={
        "description": "纠纷说明(10–1000 字)"})
    evidence_file_ids = fields.List(fields.Integer(**_ID), load_default=list,
                                    validate=validate.Length(max=EVIDENCE_MAX), metadata={
        "description": "证据文件(本人上传的文件 id,最多 9 个)"})


class DisputeSchema(BaseSchema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_no = fields.String()
    opened_by = fields.String(validate=validate.OneOf(list(OPENED_BY)))
    opened_by_name = fields.String()
    status = fields.String(validate=validate.OneOf(list(DISPUTE_STATUSES)))
    status_name = fields.String()
    text = fields.String()
    evidence_file_ids = fields.List(fields.Integer())
    outcome = fields.String(allow_none=True, validate=validate.OneOf(list(OUTCOMES)))
    outcome_name = fields.String(allow_none=True)
    refund_fen = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class StaffDisputeQuerySchema(PageQuerySchema):
    status = String(validate=validate.OneOf(list(DISPUTE_STATUSES)), metadata={
        "description": "open 待处理(先到先处理);resolved 已处理;不传为全部"})


class StaffDisputeRowSchema(BaseSchema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_no = fields.String()
    order_status = fields.String(validate=validate.OneOf(list(STATUS_NAMES)))
    order_status_name = fields.String()
    status_before_dispute = fields.String(allow_none=True,
                                          validate=validate.OneOf(list(STATUS_NAMES)))
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    care_type_name = fields.String()
    total_fen = fields.Integer()
    refunded_fen = fields.Integer()
    opened_by = fields.String(validate=validate.OneOf(list(OPENED_BY)))
    opened_by_name = fields.String()
    status = fields.String(validate=validate.OneOf(list(DISPUTE_STATUSES)))
    status_name = fields.String()
    outcome = fields.String(allow_none=True, validate=validate.OneOf(list(OUTCOMES)))
    outcome_name = fields.String(allow_none=True)
    refund_fen = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)


class EvidenceSchema(BaseSchema):
    file_id = fields.Integer()
    url = fields.String(metadata={"description": "工作人员下载证据文件的地址"})


class DisputeOrderSchema(BaseSchema):
    start = fields.DateTime()
    end = fields.DateTime()
    patient_name = fields.String(metadata={"description": "就诊人姓名(脱敏)"})
    paid_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    ended_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    disputed_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)


class PartySchema(BaseSchema):
    user_id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True, metadata={"description": "姓名(脱敏)"})
    phone = fields.String(allow_none=True, metadata={"description": "手机号(脱敏)"})


class DisputeCaregiverSchema(PartySchema):
    caregiver_id = fields.Integer()


class StaffDisputeSchema(StaffDisputeRowSchema):
    text = fields.String()
    evidence = fields.List(fields.Nested(EvidenceSchema))
    note = fields.String(allow_none=True)
    resolved_by_staff_id = fields.Integer(allow_none=True)
    kept_fen = fields.Integer(metadata={"description": "订单当前未退的金额(分)"})
    order = fields.Nested(DisputeOrderSchema)
    family = fields.Nested(PartySchema)
    caregiver = fields.Nested(DisputeCaregiverSchema, allow_none=True)
    timeline = fields.List(fields.Nested(EventSchema))


class ResolveSchema(BaseSchema):
    outcome = String(required=True, validate=validate.OneOf(list(OUTCOMES)), metadata={
        "description": "full_refund 全额退款;partial_refund 部分退款;no_refund 不退款"})
    refund_fen = fields.Integer(strict=True, allow_none=True, load_default=None,
                                validate=validate.Range(min=1, max=REFUND_FEN_MAX), metadata={
        "description": "部分退款的金额(分),仅 partial_refund 时填写,且小于订单未退金额"})
    note = Text(500, required=True, min_length=2, metadata={"description": "处理说明(双方可见)"})

    @validates_schema
    def refund_with_partial_only(self, data, **kwargs):
        if data.get("outcome") == "partial_refund" and data.get("refund_fen") is None:
            raise ValidationError("部分退款须填写退款金额", "refund_fen")
        if data.get("outcome") in ("full_refund", "no_refund") \
                and data.get("refund_fen") is not None:
            raise ValidationError("仅部分退款时填写退款金额", "refund_fen")
