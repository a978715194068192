from app.common.api import Blueprint

from app.common.auth import current_staff, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import page_schema
from app.extensions import limiter
from app.staff import services
from app.staff.schemas import (BanUserSchema, RealNameDecisionSchema, RealNameReviewQuerySchema,
                               RealNameReviewSchema, StaffLoginResultSchema, StaffLoginSchema,
                               UnbanUserSchema, UserWarningSchema, WarnUserSchema)
from app.users.schemas import UserSchema

blp = Blueprint("staff", __name__, url_prefix="/api/v1/staff", description="工作人员")


@blp.post("/login")
@blp.errors(services.BadCredentials, services.AccountLocked)
@limiter.limit("10 per minute")
@blp.arguments(StaffLoginSchema)
@blp.response(200, StaffLoginResultSchema)
def login(body):
    """工作人员账号密码登录"""
    return services.login(body["username"], body["password"])


@blp.get("/real-name-reviews")
@staff_required("reviewer")
@blp.arguments(RealNameReviewQuerySchema, location="query")
@blp.response(200, page_schema(RealNameReviewSchema))
def real_name_reviews(query):
    """实名认证审核列表"""
    return services.list_real_name_reviews(current_staff(), query["status"], query["page"],
                                           query["page_size"])


@blp.post("/real-name-reviews/<int:verification_id>/decision")
@blp.errors((404, "real_name_not_found"), (422, "reason_required"), InvalidTransition)
@staff_required("reviewer")
@blp.arguments(RealNameDecisionSchema)
@blp.response(200, RealNameReviewSchema)
def decide_real_name(body, verification_id):
    """通过或驳回实名认证"""
    return services.review_real_name(current_staff(), verification_id, body["approve"],
                                     body.get("reason"))


@blp.post("/users/<int:user_id>/ban")
@blp.errors((404, "user_not_found"), InvalidTransition)
@staff_required("operator")
@blp.arguments(BanUserSchema)
@blp.response(200, UserSchema)
def ban_user(body, user_id):
    """封禁用户(立即使其所有登录凭证失效)"""
    return services.ban_user(current_staff(), user_id, body["reason"])


@blp.post("/users/<int:user_id>/unban")
@blp.errors((404, "user_not_found"), InvalidTransition)
@staff_required("operator")
@blp.arguments(UnbanUserSchema)
@blp.response(200, UserSchema)
def unban_user(body, user_id):
    """解除封禁(可附解封原因)"""
    return services.unban_user(current_staff(), user_id, body.get("reason"))


@blp.post("/users/<int:user_id>/warn")
@blp.errors((404, "user_not_found"))
@staff_required("operator")
@blp.arguments(WarnUserSchema)
@blp.response(201, UserWarningSchema)
def warn_user(body, user_id):
    """警告用户:记录警告并通过消息通知用户"""
    return services.warn_user(current_staff(), user_id, body["reason"])
