from app.common.api import Blueprint

from app.common.auth import current_user, login_required
from app.users import services
from app.users.schemas import RealNameSchema, RealNameSubmitSchema, UserSchema, UserUpdateSchema

blp = Blueprint("users", __name__, url_prefix="/api/v1/me", description="我的账号")


@blp.get("")
@login_required
@blp.response(200, UserSchema)
def me():
    """当前用户"""
    return current_user()


@blp.patch("")
@login_required
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_me(body):
    """修改昵称、头像、性别"""
    return services.update_profile(current_user(), **body)


@blp.post("/real-name")
@blp.errors(services.RealNameAlreadyVerified, services.RealNamePending,
            (422, "invalid_id_number"), (404, "file_not_found"))
@login_required
@blp.arguments(RealNameSubmitSchema)
@blp.response(201, RealNameSchema)
def submit_real_name(body):
    """提交实名认证(等待人工审核)"""
    return services.submit_real_name(current_user(), **body)


@blp.get("/real-name")
@blp.errors(services.RealNameNotSubmitted)
@login_required
@blp.response(200, RealNameSchema)
def real_name():
    """最近一次实名认证及其审核状态"""
    return services.latest_real_name(current_user())
