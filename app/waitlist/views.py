"""Waitlist (候补) API: join a sold-out schedule's waitlist, my waits, leave; staff read a
schedule's queue."""
from flask import request

from app.booking import services as booking
from app.booking_limits import services as booking_limits
from app.common.api import Blueprint
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.pagination import page_schema
from app.hospitals.services import ScheduleNotFound, ScheduleStopped
from app.waitlist import services
from app.waitlist.schemas import (StaffWaitlistEntrySchema, StaffWaitlistQuerySchema,
                                  WaitlistCreateSchema, WaitlistEntrySchema, WaitlistQuerySchema)

blp = Blueprint("waitlist", __name__, url_prefix="/api/v1", description="候补")


@blp.post("/waitlist")
@blp.errors(services.ScheduleHasSeats, services.AlreadyWaiting,
            booking_limits.BookingLimitReached, ScheduleNotFound, ScheduleStopped, booking.NotReleased, booking.BookingClosed,
            booking.AlreadyBooked, booking.DailyLimitReached, booking.RealNameRequired,
            booking.BookingBlocked, (404, "patient_not_found"))
@login_required
@blp.arguments(WaitlistCreateSchema)
@blp.response(201, WaitlistEntrySchema)
def join(body):
    """加入候补:号源约满时为就诊人排队,有号退回时按会员优先级、再按加入顺序为其保留并通知支付
    (加入不收费;保留的号源须在截止时间前支付,逾期转给下一位)"""
    return services.join(current_user(), schedule_id=body["schedule_id"],
                         patient_id=body["patient_id"],
                         client=booking_limits.client_of(request.remote_addr,
                                                         request.headers.get("X-Device-Id")))


@blp.get("/waitlist")
@login_required
@blp.arguments(WaitlistQuerySchema, location="query")
@blp.response(200, page_schema(WaitlistEntrySchema))
def list_entries(query):
    """我的候补(含排队位置;保留中的含待支付订单与支付截止时间)"""
    return services.list_entries(current_user(), statuses=query.get("status"),
                                 page=query["page"], page_size=query["page_size"])


@blp.delete("/waitlist/<int:entry_id>")
@blp.errors(services.WaitlistEntryNotFound, services.NotWaiting)
@login_required
@blp.response(200, WaitlistEntrySchema)
def leave(entry_id):
    """退出候补(仅候补中可退出;已保留号源的请取消对应订单)"""
    return services.leave(current_user(), entry_id=entry_id)


staff_blp = Blueprint("waitlist_staff", __name__, url_prefix="/api/v1/staff",
                      description="候补管理")


@staff_blp.get("/schedules/<int:schedule_id>/waitlist")
@staff_blp.errors(ScheduleNotFound)
@staff_required("operator")
@staff_blp.arguments(StaffWaitlistQuerySchema, location="query")
@staff_blp.response(200, page_schema(StaffWaitlistEntrySchema))
def schedule_waitlist(query, schedule_id):
    """排班的候补队列(按优先级与加入顺序,姓名脱敏)"""
    return services.schedule_waitlist(current_staff(), schedule_id=schedule_id,
                                      statuses=query.get("status"), page=query["page"],
                                      page_size=query["page_size"])
