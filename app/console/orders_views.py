"""Registrations (挂号) and care orders (陪护订单): search, filter, detail, and the staff actions
on them (cancel with refund, mark visited, reassign). Filters and forms go through the staff
API's own schemas; every rule lives in the services the API calls."""
from flask import render_template, request
from marshmallow import ValidationError

from app.booking import services as booking_services
from app.booking import staff_services as registration_services
from app.booking.models import STATUS_NAMES as REGISTRATION_STATUSES
from app.booking.staff_schemas import StaffRegistrationCancelSchema, StaffRegistrationQuerySchema
from app.care_orders import staff_services as care_order_services
from app.care_orders.models import (ASSIGNMENT_STATUSES, DISPATCH_MODES,
                                    STATUS_NAMES as CARE_ORDER_STATUSES)
from app.care_orders.staff_schemas import (StaffCareOrderCancelSchema, StaffCareOrderQuerySchema,
                                           StaffCareOrderReassignSchema)
from app.common.auth import current_staff
from app.common.identity import MOBILE
from app.common.validation import localize_messages
from app.console.views import bp, done, fen_from_yuan, int_arg, page_arg, role_required
from app.errors import ValidationFailed
from app.hospitals import services as hospital_services
from app.payments.models import PAYMENT_STATUSES

# what a form's field is called on the page, for the error message
FIELD_NAMES = {"status": "状态", "order_no": "订单号", "hospital_id": "医院", "user_id": "用户",
               "patient_phone": "手机号", "visit_from": "开始日期", "visit_to": "结束日期",
               "start_from": "开始日期", "start_to": "结束日期", "caregiver_id": "护工",
               "dispatch_mode": "派单方式", "reason": "原因", "refund_fen": "退款金额"}
PAYMENT_STATUS_NAMES = dict(zip(PAYMENT_STATUSES, ("待支付", "已支付", "退款中", "已全额退款",
                                                   "已部分退款", "已关闭")))
ASSIGNED_BY = {"family": "用户指定", "match": "平台匹配", "staff": "人工改派"}


def _load(schema, data: dict) -> dict:
    """Form or query input through the API's schema; its refusals as one Chinese message."""
    try:
        return schema().load(data)
    except ValidationError as error:
        details = localize_messages(error.normalized_messages())
        text = "；".join(f"{FIELD_NAMES.get(field, field)}:{'、'.join(map(str, messages))}"
                        if isinstance(messages, list) else f"{FIELD_NAMES.get(field, field)}有误"
                        for field, messages in details.items())
        raise ValidationFailed(text or None, details=details) from None


def _filters(names) -> dict:
    """The query's non-empty filters of `names` (a blank form field means "any")."""
    return {name: request.args[name].strip() for name in names
            if request.args.get(name, "").strip()}


def _order_no_or_phone(text: str) -> dict:
    """One search box: a full mobile number finds the patient's orders, anything else is an
    order number."""
    text = text.strip()
    if not text:
        return {}
    return {"patient_phone": text} if MOBILE.match(text) else {"order_no": text}


# ---- registrations ---------------------------------------------------------------------------

@bp.get("/registrations")
@role_required("operator")
def registrations():
    args = _filters(("status", "hospital_id", "user_id", "visit_from", "visit_to"))
    query = _load(StaffRegistrationQuerySchema,
                  {**args, **_order_no_or_phone(request.args.get("q", ""))})
    query.pop("page", None), query.pop("page_size", None)
    result = registration_services.search_registrations(
        current_staff(), statuses=query.pop("status", None), page=page_arg(), **query)
    hospitals = [(hospital["id"], hospital["name"])
                 for hospital in hospital_services.list_hospitals(page_size=100)["items"]]
    return render_template("console/registrations.html", result=result, args=args,
                           q=request.args.get("q", "").strip()[:32], hospitals=hospitals,
                           statuses=REGISTRATION_STATUSES)


@bp.get("/registrations/<int:registration_id>")
@role_required("operator")
def registration_detail(registration_id):
    registration = registration_services.registration_detail(current_staff(),
                                                             registration_id=registration_id)
    return render_template("console/registration.html", r=registration,
                           payment_statuses=PAYMENT_STATUS_NAMES)


@bp.post("/registrations/<int:registration_id>/cancel")
@role_required("operator")
def registration_cancel(registration_id):
    body = _load(StaffRegistrationCancelSchema, {"reason": request.form.get("reason", "")})
    registration = registration_services.cancel_registration(
        current_staff(), registration_id=registration_id, reason=body["reason"])
    refunding = any(refund["status"] == "processing" for refund in registration["refunds"])
    return done(f"挂号 {registration['order_no']} 已取消" + (",退款已发起" if refunding else ""),
                "console.registration_detail", registration_id=registration_id)


@bp.post("/registrations/<int:registration_id>/visited")
@role_required("operator")
def registration_visited(registration_id):
    registration = booking_services.mark_visited(current_staff(), registration_id=registration_id)
    return done(f"挂号 {registration.order_no} 已标记为已就诊", "console.registration_detail",
                registration_id=registration_id)


# ---- care orders -----------------------------------------------------------------------------

@bp.get("/care-orders")
@role_required("operator")
def care_orders():
    args = _filters(("status", "caregiver_id", "user_id", "start_from", "start_to",
                     "dispatch_mode"))
    order_no = request.args.get("q", "").strip()[:32]
    query = _load(StaffCareOrderQuerySchema, {**args, **({"order_no": order_no} if order_no
                                                          else {})})
    query.pop("page", None), query.pop("page_size", None)
    result = care_order_services.search_orders(
        current_staff(), statuses=query.pop("status", None), page=page_arg(), **query)
    return render_template("console/care_orders.html", result=result, args=args, q=order_no,
                           statuses=CARE_ORDER_STATUSES, dispatch_modes=DISPATCH_MODES)


@bp.get("/care-orders/<int:order_id>")
@role_required("operator")
def care_order_detail(order_id):
    order = care_order_services.order_detail(current_staff(), order_id=order_id)
    return render_template("console/care_order.html", o=order,
                           payment_statuses=PAYMENT_STATUS_NAMES,
                           assignment_statuses=ASSIGNMENT_STATUSES, assigned_by=ASSIGNED_BY,
                           reassignable=order["status"] in care_order_services.REASSIGNABLE,
                           cancellable=order["status"] in care_order_services.STAFF_CANCELLABLE)


@bp.post("/care-orders/<int:order_id>/cancel")
@role_required("operator")
def care_order_cancel(order_id):
    refund_fen = fen_from_yuan(request.form.get("refund_yuan"))
    body = _load(StaffCareOrderCancelSchema, {
        "reason": request.form.get("reason", ""),
        **({"refund_fen": refund_fen} if refund_fen is not None else {})})
    order = care_order_services.cancel_order(current_staff(), order_id=order_id,
                                             reason=body["reason"],
                                             refund_fen=body.get("refund_fen"))
    return done(f"陪护订单 {order['order_no']} 已取消", "console.care_order_detail",
                order_id=order_id)


@bp.post("/care-orders/<int:order_id>/reassign")
@role_required("operator")
def care_order_reassign(order_id):
    caregiver_id = int_arg("caregiver_id")
    body = _load(StaffCareOrderReassignSchema, {
        "caregiver_id": caregiver_id if caregiver_id is not None
        else request.form.get("caregiver_id", ""),
        "reason": request.form.get("reason", "")})
    order = care_order_services.reassign(current_staff(), order_id=order_id,
                                         caregiver_id=body["caregiver_id"], reason=body["reason"])
    return done(f"陪护订单 {order['order_no']} 已改派,等待新护工接单", "console.care_order_detail",
                order_id=order_id)
