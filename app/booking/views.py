from flask import request

from app.common.api import Blueprint

from app.booking import order_type, services  # noqa: F401  (order_type registers itself)
from app.booking.schemas import (BookingResultSchema, RegistrationCreateSchema,
                                 RegistrationQuerySchema, RegistrationSchema, StopResultSchema,
                                 StopScheduleSchema)
from app.booking.slots import sold_out_first
from app.booking_limits import services as booking_limits
from app.common.auth import (current_staff, current_user, lazy_current_user, login_required,
                             staff_required)
from app.common.models import InvalidTransition
from app.common.pagination import page_schema
from app.points.services import PointsInsufficient, PointsOverLimit

blp = Blueprint("registrations", __name__, url_prefix="/api/v1", description="预约挂号")


@blp.post("/registrations")
@blp.errors(services.SlotSoldOut, services.ScheduleNotFound, services.ScheduleStopped,
            services.NotReleased, services.BookingClosed, services.AlreadyBooked,
            services.DailyLimitReached, services.RealNameRequired, services.BookingBlocked,
            (404, "patient_not_found"), PointsInsufficient, PointsOverLimit,
            booking_limits.BookingLimitReached, booking_limits.BookingAttemptsTooFrequent)
@blp.doc(parameters=[{"in": "header", "name": "X-Device-Id", "required": False,
                      "schema": {"type": "string", "maxLength": 128},
                      "description": "客户端设备标识(小程序首次启动时生成并保存);用于防黄牛限制,缺省时按来源地址"}])
@sold_out_first
@login_required
@blp.arguments(RegistrationCreateSchema)
@blp.response(201, BookingResultSchema)
def book(body):
    """预约挂号:占用号源并返回支付参数(未支付的订单到期自动关闭,号源退回)"""
    return services.book(lazy_current_user(), body["schedule_id"], body["patient_id"],
                         points=body["points"],
                         client=booking_limits.client_of(request.remote_addr,
                                                         request.headers.get("X-Device-Id")))


@blp.get("/registrations")
@login_required
@blp.arguments(RegistrationQuerySchema, location="query")
@blp.response(200, page_schema(RegistrationSchema))
def list_registrations(query):
    """我的挂号订单(可按状态筛选:?status=booked&status=cancelled 或 ?status=booked,cancelled)"""
    return services.list_registrations(current_user(), statuses=query.get("status"),
                                       page=query["page"], page_size=query["page_size"])


@blp.get("/registrations/<int:registration_id>")
@blp.errors(services.RegistrationNotFound)
@login_required
@blp.response(200, RegistrationSchema)
def get_registration(registration_id):
    """挂号订单详情"""
    return services.registration_of(current_user(), registration_id=registration_id)


@blp.post("/registrations/<int:registration_id>/cancel")
@blp.errors(services.RegistrationNotFound, InvalidTransition, services.CancelDeadlinePassed)
@login_required
@blp.response(200, RegistrationSchema)
def cancel(registration_id):
    """取消预约:未支付的直接取消;已预约的在截止时间前取消并全额退款(退款由后台发起)"""
    return services.cancel(current_user(), registration_id=registration_id)


@blp.post("/staff/schedules/<int:schedule_id>/stop")
@blp.errors(services.ScheduleNotFound, InvalidTransition)
@staff_required("operator")
@blp.arguments(StopScheduleSchema)
@blp.response(200, StopResultSchema)
def stop_schedule(body, schedule_id):
    """停诊:已预约的订单全额退款并通知患者"""
    return services.stop_schedule(current_staff(), schedule_id=schedule_id, reason=body["reason"])


@blp.post("/staff/registrations/<int:registration_id>/visited")
@blp.errors(services.RegistrationNotFound, InvalidTransition, services.VisitDayNotReached)
@staff_required("operator")
@blp.response(200, RegistrationSchema)
def mark_visited(registration_id):
    """标记已就诊"""
    return services.mark_visited(current_staff(), registration_id=registration_id)
