from flask import Response

from app.care_disputes import models as _models  # noqa: F401  (tables for migrations)
from app.care_disputes import services
from app.care_disputes.schemas import (DisputeCreateSchema, DisputeSchema, ResolveSchema,
                                       StaffDisputeQuerySchema, StaffDisputeRowSchema,
                                       StaffDisputeSchema)
from app.care_orders.core import CareOrderNotFound
from app.caregivers.ownership import CaregiverNotFound
from app.common.api import Blueprint
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.pagination import page_schema

blp = Blueprint("care_disputes", __name__, url_prefix="/api/v1", description="陪护纠纷")
staff_blp = Blueprint("care_dispute_review", __name__, url_prefix="/api/v1/staff",
                      description="陪护纠纷处理")

_OPEN_ERRORS = (CareOrderNotFound, services.EvidenceNotFound, services.DisputeExists,
                services.DisputeNotAllowed, services.DisputeWindowClosed)


@blp.post("/care-orders/<int:order_id>/dispute")
@blp.errors(*_OPEN_ERRORS)
@login_required
@blp.arguments(DisputeCreateSchema)
@blp.response(201, DisputeSchema)
def family_open(body, order_id):
    """申请纠纷处理(已支付的订单;已完成的订单在结算前的纠纷期内),每个订单限一次;
    处理期间订单暂停,平台处理后按结果退款"""
    return services.open_dispute(current_user(), order_id=order_id, side="family", **body)


@blp.post("/caregiver/care-orders/<int:order_id>/dispute")
@blp.errors(CaregiverNotFound, *_OPEN_ERRORS)
@login_required
@blp.arguments(DisputeCreateSchema)
@blp.response(201, DisputeSchema)
def caregiver_open(body, order_id):
    """护工申请纠纷处理(接单后;已完成的订单在结算前),每个订单限一次"""
    return services.open_dispute(current_user(), order_id=order_id, side="caregiver", **body)


@staff_blp.get("/care-disputes")
@staff_required("operator")
@staff_blp.arguments(StaffDisputeQuerySchema, location="query")
@staff_blp.response(200, page_schema(StaffDisputeRowSchema))
def staff_list(query):
    """陪护纠纷列表(status=open 待处理,先到先处理;resolved 已处理)"""
    return services.staff_list_disputes(current_staff(), status=query.get("status"),
                                        page=query["page"], page_size=query["page_size"])


@staff_blp.get("/care-disputes/<int:dispute_id>")
@staff_blp.errors(services.DisputeNotFound)
@staff_required("operator")
@staff_blp.response(200, StaffDisputeSchema)
def staff_get(dispute_id):
    """纠纷详情:订单与金额、双方(脱敏)、纠纷说明、证据文件、订单进度"""
    return services.staff_dispute(current_staff(), dispute_id=dispute_id)


@staff_blp.get("/care-disputes/<int:dispute_id>/evidence/<int:file_id>")
@staff_blp.errors(services.DisputeNotFound, services.EvidenceNotFound)
@staff_blp.doc(responses={"200": {"description": "文件内容", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}}
    for content_type in ("image/jpeg", "image/png", "application/pdf")}}})
@staff_required("operator")
def staff_evidence(dispute_id, file_id):
    """下载纠纷的证据文件"""
    record, data = services.staff_evidence(current_staff(), dispute_id=dispute_id,
                                           file_id=file_id)
    return Response(data, mimetype=record.content_type, headers={
        "Content-Disposition": f'inline; filename="file-{record.id}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@staff_blp.post("/care-orders/<int:order_id>/dispute/resolve")
@staff_blp.errors(CareOrderNotFound, services.DisputeNotFound, services.DisputeResolved,
                  services.OutcomeNotAllowed, services.RefundUnavailable,
                  (422, "invalid_refund_amount"))
@staff_required("operator")
@staff_blp.arguments(ResolveSchema)
@staff_blp.response(200, StaffDisputeSchema)
def resolve(body, order_id):
    """处理纠纷:全额退款、部分退款(金额小于未退金额)或不退款,并填写处理说明;退款原路退回,
    护工收入随之调整"""
    return services.resolve(current_staff(), order_id=order_id, outcome=body["outcome"],
                            refund_fen=body.get("refund_fen"), note=body["note"])
