from app.booking_limits import services
from app.booking_limits.schemas import (BookingLimitFlagQuerySchema, BookingLimitFlagSchema,
                                        BookingLimitsSchema, BookingLimitsUpdateSchema,
                                        ResolveFlagSchema)
from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import page_schema

staff_blp = Blueprint("booking_limits", __name__, url_prefix="/api/v1/staff",
                      description="防黄牛预约限制")


@staff_blp.get("/settings/booking-limits")
@staff_required("admin")
@staff_blp.response(200, BookingLimitsSchema)
def get_limits():
    """预约限制:每分钟请求数、每个就诊日与每家医院的有效预约数(按账号、证件、设备)"""
    return services.get_limits(current_staff())


@staff_blp.put("/settings/booking-limits")
@staff_blp.errors(services.BookingLimitsBusy, (422, "nothing_to_change"))
@staff_required("admin")
@staff_blp.arguments(BookingLimitsUpdateSchema)
@staff_blp.response(200, BookingLimitsSchema)
def update_limits(body):
    """修改预约限制(可只改部分项)"""
    return services.update_limits(current_staff(), changes=body)


@staff_blp.get("/booking-limit-flags")
@staff_required("operator")
@staff_blp.arguments(BookingLimitFlagQuerySchema, location="query")
@staff_blp.response(200, page_schema(BookingLimitFlagSchema))
def list_flags(query):
    """反复触发预约限制而被标记的账号"""
    return services.list_flags(current_staff(), status=query.get("status"),
                               page=query["page"], page_size=query["page_size"])


@staff_blp.post("/booking-limit-flags/<int:flag_id>/resolve")
@staff_blp.errors(services.FlagNotFound, InvalidTransition)
@staff_required("operator")
@staff_blp.arguments(ResolveFlagSchema)
@staff_blp.response(200, BookingLimitFlagSchema)
def resolve_flag(body, flag_id):
    """处理标记(填写处理说明)"""
    return services.resolve_flag(current_staff(), flag_id=flag_id, note=body["note"])
