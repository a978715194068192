from app.availability import models as _models  # noqa: F401  (tables for migrations)
from app.availability import services
from app.availability.schemas import (AvailabilityExceptionCreateSchema,
                                      AvailabilityExceptionSchema, AvailabilityFreeQuerySchema,
                                      AvailabilityFreeWindowsSchema, AvailabilitySchema,
                                      AvailabilityWeeklyPutSchema)
from app.common.api import Blueprint
from app.common.auth import current_user, login_required
from app.errors import ValidationFailed

blp = Blueprint("availability", __name__, url_prefix="/api/v1/caregiver/me/availability",
                description="护工排班")


def _codes(*codes):
    return tuple((ValidationFailed, code) for code in codes)


@blp.get("")
@blp.errors(services.CaregiverNotFound)
@login_required
@blp.response(200, AvailabilitySchema)
def get_availability():
    """我的排班:每周固定时间与今天起的例外"""
    return services.get_availability(current_user())


@blp.put("/weekly")
@blp.errors(services.CaregiverNotFound,
            *_codes(services.INVALID_WINDOW, services.OVERLAPPING_WINDOWS))
@login_required
@blp.arguments(AvailabilityWeeklyPutSchema)
@blp.response(200, AvailabilitySchema)
def replace_weekly(body):
    """设置每周固定可接单时间(整体替换)"""
    return services.replace_weekly_windows(current_user(), windows=body["windows"])


@blp.post("/exceptions")
@blp.errors(services.CaregiverNotFound, services.ExceptionLimitReached,
            *_codes(services.INVALID_WINDOW, services.OVERLAPPING_WINDOWS,
                    services.DAY_OUTSIDE_HORIZON))
@login_required
@blp.arguments(AvailabilityExceptionCreateSchema)
@blp.response(201, AvailabilityExceptionSchema)
def add_exception(body):
    """添加某天的休息或加班"""
    return services.add_exception(current_user(), **body)


@blp.delete("/exceptions/<int:exception_id>")
@blp.errors(services.CaregiverNotFound, services.AvailabilityExceptionNotFound)
@login_required
@blp.response(204)
def delete_exception(exception_id):
    """删除一条例外"""
    services.delete_exception(current_user(), exception_id=exception_id)


@blp.get("/free")
@blp.errors(services.CaregiverNotFound,
            *_codes(services.TIMEZONE_REQUIRED, services.INVALID_TIME_RANGE,
                    services.TIME_RANGE_TOO_LONG, services.TIME_RANGE_OUTSIDE_HORIZON))
@login_required
@blp.arguments(AvailabilityFreeQuerySchema, location="query")
@blp.response(200, AvailabilityFreeWindowsSchema)
def free(query):
    """我在某时段内的空闲时间(排班减去已接的单)"""
    return services.own_free_windows(current_user(), start=query["start"], end=query["end"])
