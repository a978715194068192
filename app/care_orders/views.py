from flask import Response

from app.care_orders import core, order_type, services  # noqa: F401  (order_type registers itself)
from app.care_orders.photos import record_photo
from app.care_orders.schemas import (CancelSchema, CareOrderDetailSchema, CareOrderQuerySchema,
                                     CareOrderRequestSchema, CareOrderResultSchema,
                                     CareOrderSchema, CaregiverOrderQuerySchema, QuoteSchema,
                                     RejectSchema, ServiceRecordCreateSchema,
                                     ServiceRecordSchema, StartSchema)
from app.caregivers.ownership import CaregiverNotFound
from app.common.api import Blueprint
from app.common.auth import current_user, login_required
from app.common.models import InvalidTransition
from app.common.pagination import page_schema
from app.patients.services import PatientNotFound

blp = Blueprint("care_orders", __name__, url_prefix="/api/v1", description="陪护订单")

# what quoting or booking can be refused for (besides the schema's per-field 422)
_REQUEST_ERRORS = (PatientNotFound, services.HospitalNotFound, core.CaregiverNotListed,
                   core.CareTypeNotOffered, core.CaregiverBusy, core.OutsideAvailability,
                   core.NightServiceDeclined, core.UrgentDeclined, core.OutsideServiceArea,
                   services.NoCaregiverAvailable,
                   *((422, code) for code in services.REQUEST_VALIDATION_CODES))


# ---- the family --------------------------------------------------------------------------------

@blp.post("/care-orders/quote")
@blp.errors(*_REQUEST_ERRORS)
@login_required
@blp.arguments(CareOrderRequestSchema)
@blp.response(200, QuoteSchema)
def quote(body):
    """陪护报价:单价 × 单位数、夜间与加急加价、长单优惠与总额(下单时按同一规则计价)"""
    return services.quote_order(current_user(), **body)


@blp.post("/care-orders")
@blp.errors(*_REQUEST_ERRORS)
@login_required
@blp.arguments(CareOrderRequestSchema)
@blp.response(201, CareOrderResultSchema)
def create(body):
    """下单:锁定护工时段并返回支付参数(未支付的订单到期自动关闭,时段释放)"""
    return services.create_order(current_user(), **body)


@blp.get("/care-orders")
@login_required
@blp.arguments(CareOrderQuerySchema, location="query")
@blp.response(200, page_schema(CareOrderSchema))
def list_orders(query):
    """我的陪护订单(可按状态筛选:?status=accepted&status=in_service 或逗号分隔)"""
    return services.list_family_orders(current_user(), statuses=query.get("status"),
                                       page=query["page"], page_size=query["page_size"])


@blp.get("/care-orders/<int:order_id>")
@blp.errors(core.CareOrderNotFound)
@login_required
@blp.response(200, CareOrderDetailSchema)
def get_order(order_id):
    """陪护订单详情(含订单进度)"""
    return services.family_order(current_user(), order_id=order_id)


@blp.post("/care-orders/<int:order_id>/cancel")
@blp.errors(core.CareOrderNotFound, services.CancelNotAllowed, InvalidTransition)
@login_required
@blp.arguments(CancelSchema)
@blp.response(200, CareOrderSchema)
def cancel(body, order_id):
    """取消订单:接单前全额退款;接单后、开始前按平台规则部分退款;服务开始后不可取消"""
    return services.cancel_by_family(current_user(), order_id=order_id,
                                     reason=body.get("reason"))


@blp.post("/care-orders/<int:order_id>/confirm")
@blp.errors(core.CareOrderNotFound, InvalidTransition)
@login_required
@blp.response(200, CareOrderSchema)
def confirm(order_id):
    """确认服务完成(护工结束服务后;未确认的将在 24 小时后自动完成)"""
    return services.confirm_completion(current_user(), order_id=order_id)


@blp.get("/care-orders/<int:order_id>/records")
@blp.errors(core.CareOrderNotFound)
@login_required
@blp.response(200, ServiceRecordSchema(many=True))
def family_records(order_id):
    """服务记录(护工填写后即可查看)"""
    return services.service_records(current_user(), order_id=order_id)


# ---- the caregiver -----------------------------------------------------------------------------

@blp.get("/caregiver/care-orders")
@blp.errors(CaregiverNotFound)
@login_required
@blp.arguments(CaregiverOrderQuerySchema, location="query")
@blp.response(200, page_schema(CareOrderSchema))
def caregiver_orders(query):
    """护工的订单:inbox 待接单(含截止时间)、schedule 日程、history 历史"""
    return services.list_caregiver_orders(current_user(), view=query["view"],
                                          page=query["page"], page_size=query["page_size"])


@blp.get("/caregiver/care-orders/<int:order_id>")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound)
@login_required
@blp.response(200, CareOrderSchema)
def caregiver_order(order_id):
    """护工查看订单"""
    return services.caregiver_order(current_user(), order_id=order_id)


@blp.post("/caregiver/care-orders/<int:order_id>/accept")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound, services.OfferExpired,
            InvalidTransition)
@login_required
@blp.response(200, CareOrderSchema)
def accept(order_id):
    """接单"""
    return services.accept(current_user(), order_id=order_id)


@blp.post("/caregiver/care-orders/<int:order_id>/reject")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound, InvalidTransition)
@login_required
@blp.arguments(RejectSchema)
@blp.response(200, CareOrderSchema)
def reject(body, order_id):
    """拒单(需填写原因),订单将改派其他护工或全额退款"""
    return services.reject(current_user(), order_id=order_id, reason=body["reason"])


@blp.post("/caregiver/care-orders/<int:order_id>/start")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound, services.TooEarlyToStart,
            InvalidTransition)
@login_required
@blp.arguments(StartSchema)
@blp.response(200, CareOrderSchema)
def start(body, order_id):
    """签到开始服务(可附位置)"""
    return services.start_service(current_user(), order_id=order_id, **body)


@blp.post("/caregiver/care-orders/<int:order_id>/records")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound, services.PhotoNotFound,
            services.RecordLimitReached, InvalidTransition, (422, "record_empty"),
            (422, "too_many_photos"))
@login_required
@blp.arguments(ServiceRecordCreateSchema)
@blp.response(201, ServiceRecordSchema)
def add_record(body, order_id):
    """填写服务记录(患者情况、护理内容、照片)"""
    return services.add_record(current_user(), order_id=order_id, **body)


@blp.get("/caregiver/care-orders/<int:order_id>/records")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound)
@login_required
@blp.response(200, ServiceRecordSchema(many=True))
def caregiver_records(order_id):
    """本订单的服务记录"""
    return services.service_records(current_user(), order_id=order_id, as_caregiver=True)


@blp.post("/caregiver/care-orders/<int:order_id>/end")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound, InvalidTransition)
@login_required
@blp.response(200, CareOrderSchema)
def end(order_id):
    """结束服务(等待家属确认)"""
    return services.end_service(current_user(), order_id=order_id)


# ---- service-record photos (the caregiver's files, read through the order) --------------------

_PHOTO_DOC = {"responses": {"200": {"description": "照片", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}}
    for content_type in ("image/jpeg", "image/png", "application/pdf")}}}}


def _photo(stored, data):
    return Response(data, mimetype=stored.content_type, headers={
        "Content-Disposition": f'inline; filename="file-{stored.id}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@blp.get("/care-orders/<int:order_id>/records/<int:record_id>/photos/<int:index>")
@blp.errors(core.CareOrderNotFound, services.PhotoNotFound)
@blp.doc(**_PHOTO_DOC)
@login_required
def family_record_photo(order_id, record_id, index):
    """服务记录照片(家属;地址见服务记录的 photo_urls)"""
    return _photo(*record_photo(current_user(), order_id=order_id, record_id=record_id,
                                index=index))


@blp.get("/caregiver/care-orders/<int:order_id>/records/<int:record_id>/photos/<int:index>")
@blp.errors(CaregiverNotFound, core.CareOrderNotFound, services.PhotoNotFound)
@blp.doc(**_PHOTO_DOC)
@login_required
def caregiver_record_photo(order_id, record_id, index):
    """服务记录照片(本订单护工)"""
    return _photo(*record_photo(current_user(), order_id=order_id, record_id=record_id,
                                index=index, as_caregiver=True))
