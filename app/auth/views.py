from flask import current_app
from app.common.api import Blueprint

from app.auth import services
from app.auth.schemas import LoginResultSchema, PhoneBindSchema, WeChatLoginSchema
from app.common.auth import AccountBanned, current_user, login_required
from app.extensions import limiter
from app.users.schemas import UserSchema
from app.wechat.errors import WeChatApiError, WeChatUnavailable

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录与认证")


def _login_limit():
    return current_app.config["LOGIN_RATE_LIMIT"]


@blp.post("/wechat-login")
@blp.errors(services.InvalidWeChatCode, AccountBanned, WeChatApiError, WeChatUnavailable)
@limiter.limit(_login_limit)
@blp.arguments(WeChatLoginSchema)
@blp.response(200, LoginResultSchema)
def wechat_login(body):
    """用 wx.login() 的 code 登录,首次登录自动注册"""
    return services.login_with_wechat(body["code"])


@blp.post("/phone")
@blp.errors(services.InvalidWeChatCode, services.PhoneTaken, WeChatApiError,
            WeChatUnavailable)
@login_required
@blp.arguments(PhoneBindSchema)
@blp.response(200, UserSchema)
def bind_phone(body):
    """用 getPhoneNumber 的 code 绑定手机号"""
    return services.bind_phone(current_user(), phone_code=body["code"])


@blp.post("/logout")
@login_required
@blp.response(204)
def logout():
    """退出登录:该账号的所有登录凭证失效"""
    services.logout(current_user())
