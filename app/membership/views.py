from app.common.api import Blueprint
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.membership import services
from app.membership.schemas import LevelsSchema, MyMembershipSchema

blp = Blueprint("membership", __name__, url_prefix="/api/v1/me", description="会员")
staff_blp = Blueprint("membership_settings", __name__, url_prefix="/api/v1/staff/settings",
                      description="会员等级设置")


@blp.get("/membership")
@login_required
@blp.response(200, MyMembershipSchema)
def my_membership():
    """我的会员等级、升级进度与权益"""
    return services.my_membership(current_user())


@staff_blp.get("/membership-levels")
@staff_required("admin")
@staff_blp.response(200, LevelsSchema)
def get_levels():
    """会员等级与权益"""
    return services.get_levels(current_staff())


@staff_blp.put("/membership-levels")
@staff_blp.errors(services.MembershipSettingsBusy, (422, "invalid_membership_levels"))
@staff_required("admin")
@staff_blp.arguments(LevelsSchema)
@staff_blp.response(200, LevelsSchema)
def update_levels(body):
    """修改会员等级与权益(整体替换;对之后的操作生效)"""
    return services.update_levels(current_staff(), proposed=body["levels"])
