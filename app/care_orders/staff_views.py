from app.care_orders import core, staff_services
from app.care_orders.staff_schemas import (CarePolicySchema, CarePolicyUpdateSchema,
                                           StaffCareOrderCancelSchema, StaffCareOrderDetailSchema,
                                           StaffCareOrderQuerySchema,
                                           StaffCareOrderReassignSchema, StaffCareOrderSchema)
from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import page_schema

staff_blp = Blueprint("care_order_staff", __name__, url_prefix="/api/v1/staff",
                      description="陪护订单管理")

# what a reassignment can be refused for (besides the schema's per-field 422)
_REASSIGN_ERRORS = (core.CareOrderNotFound, core.CaregiverNotListed,
                    staff_services.ReassignNotAllowed, staff_services.SameCaregiver,
                    staff_services.CaregiverDeclinedBefore, staff_services.QuoteAboveOrder,
                    staff_services.OrderMoving, core.CareTypeNotOffered,
                    core.OutsideServiceArea, core.NightServiceDeclined,
                    core.UrgentDeclined, core.CaregiverBusy,
                    core.OutsideAvailability, InvalidTransition)


@staff_blp.get("/care-orders")
@staff_required("operator")
@staff_blp.arguments(StaffCareOrderQuerySchema, location="query")
@staff_blp.response(200, page_schema(StaffCareOrderSchema))
def search(query):
    """陪护订单查询(按状态、订单号、护工、用户、城市、服务开始日期、派单方式筛选,新单在前)"""
    return staff_services.search_orders(current_staff(), statuses=query.get("status"),
                                        order_no=query.get("order_no"),
                                        caregiver_id=query.get("caregiver_id"),
                                        user_id=query.get("user_id"),
                                        city_code=query.get("city_code"),
                                        start_from=query.get("start_from"),
                                        start_to=query.get("start_to"),
                                        dispatch_mode=query.get("dispatch_mode"),
                                        page=query["page"], page_size=query["page_size"])


@staff_blp.get("/care-orders/<int:order_id>")
@staff_blp.errors(core.CareOrderNotFound)
@staff_required("operator")
@staff_blp.response(200, StaffCareOrderDetailSchema)
def detail(order_id):
    """陪护订单详情:进度、派单记录、支付与退款、纠纷、服务记录数"""
    return staff_services.order_detail(current_staff(), order_id=order_id)


@staff_blp.post("/care-orders/<int:order_id>/reassign")
@staff_blp.errors(*_REASSIGN_ERRORS)
@staff_required("operator")
@staff_blp.arguments(StaffCareOrderReassignSchema)
@staff_blp.response(200, StaffCareOrderDetailSchema)
def reassign(body, order_id):
    """人工改派:服务开始前改派给其他护工(须重新接单;报价更低时差价退还用户)"""
    return staff_services.reassign(current_staff(), order_id=order_id,
                                   caregiver_id=body["caregiver_id"], reason=body["reason"])


@staff_blp.post("/care-orders/<int:order_id>/cancel")
@staff_blp.errors(core.CareOrderNotFound, InvalidTransition,
                  (422, "refund_exceeds_kept"), (422, "full_refund_required"),
                  (422, "nothing_to_refund"))
@staff_required("operator")
@staff_blp.arguments(StaffCareOrderCancelSchema)
@staff_blp.response(200, StaffCareOrderDetailSchema)
def cancel(body, order_id):
    """平台取消订单:未支付的直接关闭;已支付的按指定金额退款,其余计入护工收入"""
    return staff_services.cancel_order(current_staff(), order_id=order_id,
                                       reason=body["reason"], refund_fen=body.get("refund_fen"))


@staff_blp.get("/care-policy")
@staff_required("operator")
@staff_blp.response(200, CarePolicySchema)
def get_policy():
    """陪护规则:急单、长单优惠、平台派单价、接单时限、取消退款比例、服务费、结算周期"""
    return staff_services.get_policy(current_staff())


@staff_blp.put("/care-policy")
@staff_blp.errors(staff_services.PolicyBusy, (422, "price_out_of_range"),
                  (422, "nothing_to_change"))
@staff_required("admin")
@staff_blp.arguments(CarePolicyUpdateSchema)
@staff_blp.response(200, CarePolicySchema)
def update_policy(body):
    """修改陪护规则(可只改部分项;对之后的报价和订单生效)"""
    return staff_services.update_policy(current_staff(), changes=body)
