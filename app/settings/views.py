from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.settings import booking_rules as services
from app.settings.schemas import RegistrationRulesSchema, RegistrationRulesUpdateSchema

staff_blp = Blueprint("platform_settings", __name__, url_prefix="/api/v1/staff/settings",
                      description="平台设置")


@staff_blp.get("/booking-rules")
@staff_required("admin")
@staff_blp.response(200, RegistrationRulesSchema)
def get_booking_rules():
    """挂号规则:每位就诊人每日预约上限、爽约暂停预约的次数、统计期和暂停天数"""
    return services.get_booking_rules(current_staff())


@staff_blp.put("/booking-rules")
@staff_blp.errors(services.BookingRulesBusy, (422, "nothing_to_change"))
@staff_required("admin")
@staff_blp.arguments(RegistrationRulesUpdateSchema)
@staff_blp.response(200, RegistrationRulesSchema)
def update_booking_rules(body):
    """修改挂号规则(可只改部分项;对之后的预约生效,已有预约不变)"""
    return services.update_booking_rules(current_staff(), changes=body)
