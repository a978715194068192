"""Staff registrations (挂号) API: search, detail, cancel with a full refund. 停诊 and marking a
visit are in app/booking/views.py."""
from app.booking import staff_services
from app.booking.services import RegistrationNotFound
from app.booking.staff_schemas import (StaffRegistrationCancelSchema,
                                       StaffRegistrationDetailSchema,
                                       StaffRegistrationQuerySchema, StaffRegistrationSchema)
from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import page_schema

staff_blp = Blueprint("registration_staff", __name__, url_prefix="/api/v1/staff",
                      description="挂号订单管理")


@staff_blp.get("/registrations")
@staff_required("operator")
@staff_blp.arguments(StaffRegistrationQuerySchema, location="query")
@staff_blp.response(200, page_schema(StaffRegistrationSchema))
def search(query):
    """挂号订单查询(按状态、订单号、医院、用户、就诊人手机号、就诊日期筛选,新单在前)"""
    return staff_services.search_registrations(
        current_staff(), statuses=query.get("status"), order_no=query.get("order_no"),
        hospital_id=query.get("hospital_id"), user_id=query.get("user_id"),
        patient_phone=query.get("patient_phone"), visit_from=query.get("visit_from"),
        visit_to=query.get("visit_to"), page=query["page"], page_size=query["page_size"])


@staff_blp.get("/registrations/<int:registration_id>")
@staff_blp.errors(RegistrationNotFound)
@staff_required("operator")
@staff_blp.response(200, StaffRegistrationDetailSchema)
def detail(registration_id):
    """挂号订单详情:就诊人(脱敏)、支付与退款、订单记录"""
    return staff_services.registration_detail(current_staff(), registration_id=registration_id)


@staff_blp.post("/registrations/<int:registration_id>/cancel")
@staff_blp.errors(RegistrationNotFound, InvalidTransition)
@staff_required("operator")
@staff_blp.arguments(StaffRegistrationCancelSchema)
@staff_blp.response(200, StaffRegistrationDetailSchema)
def cancel(body, registration_id):
    """平台取消挂号:号源退回;已支付的全额退款(由后台发起),未支付的关闭支付;通知用户"""
    return staff_services.cancel_registration(current_staff(), registration_id=registration_id,
                                              reason=body["reason"])
