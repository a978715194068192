"""GET/POST /wechat/official (the official account's webhook) and the staff binding and OAuth
endpoints under /api/v1/staff/wechat."""
import logging
import time

from flask import Blueprint as FlaskBlueprint
from flask import Response, abort, current_app, redirect, request, url_for
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from app.common.api import Blueprint
from app.common.auth import AccountBanned, current_staff, staff_required
from app.extensions import limiter
from app.staff.models import STAFF_ROLES
from app.staff_wechat import services
from app.staff_wechat.schemas import (BindCodeSchema, BindingSchema, OAuthCallbackQuerySchema,
                                      OAuthResultSchema, UnbindResultSchema, UnbindSchema)
from app.wechat.errors import WeChatApiError, WeChatUnavailable

log = logging.getLogger("app.staff_wechat")

blp = Blueprint("staff_wechat", __name__, url_prefix="/api/v1/staff/wechat",
                description="工作人员微信绑定与登录")
# the webhook and the OAuth entry: answered to WeChat and to browsers, outside the API document
browser = FlaskBlueprint("staff_wechat_browser", __name__)
MAX_MESSAGE_BYTES = 64 * 1024  # WeChat's messages are a few hundred bytes
# the signed timestamp may differ from our clock by this much (dedup covers retries within it)
MAX_CLOCK_SKEW_SECONDS = 300
# every staff role may bind its own WeChat (named, so a role added later is refused until
# it is added here)
ANY_STAFF = tuple(STAFF_ROLES)


@blp.post("/bind-code")
@staff_required(*ANY_STAFF)
@blp.response(200, BindCodeSchema)
def bind_code():
    """获取一次性微信绑定码(10 分钟内向公众号发送「绑定 绑定码」)"""
    return services.issue_bind_code(current_staff())


@blp.get("/binding")
@staff_required(*ANY_STAFF)
@blp.response(200, BindingSchema)
def binding():
    """本人是否已绑定微信"""
    return services.binding_of(current_staff())


@blp.post("/unbind")
@blp.errors((404, "staff_not_found"))
@staff_required(*ANY_STAFF)
@blp.arguments(UnbindSchema)
@blp.response(200, UnbindResultSchema)
def unbind(body):
    """解除微信绑定(立即生效,旧登录凭证全部失效);管理员可解除他人的绑定"""
    return services.unbind(current_staff(), body.get("staff_id"))


def _callback_url():
    return url_for("staff_wechat.oauth_callback", _external=True)


def redirect_to_wechat_sign_in(next_path: str | None, callback_endpoint: str) -> Response:
    """To WeChat's snsapi_base page with a fresh state, which WeChat sends back to
    `callback_endpoint`; the API's and the console's sign-in both start here."""
    from app.wechat.official_account import oauth_authorize_url

    state = services.start_oauth(next_path)
    response = redirect(oauth_authorize_url(url_for(callback_endpoint, _external=True), state))
    # the state must come back to this browser, not one a link was forwarded to
    response.set_cookie(services.OAUTH_STATE_COOKIE, state,
                        max_age=services.OAUTH_STATE_TTL_SECONDS, httponly=True,
                        samesite="Lax", secure=request.is_secure,
                        path=url_for(callback_endpoint))
    return response


@browser.get("/api/v1/staff/wechat/oauth/authorize")
@limiter.limit("30 per minute")
def oauth_authorize():
    """The H5 console sends the browser here (?next=/console/...): a redirect to WeChat's
    snsapi_base page, which comes back to the callback below. A browser redirect, not an API
    operation: not in the OpenAPI document, like /wechat/official."""
    return redirect_to_wechat_sign_in(request.args.get("next"), "staff_wechat.oauth_callback")


@blp.get("/oauth/callback")
@blp.errors(services.OAuthStateInvalid, services.WeChatNotBound, AccountBanned,
            WeChatApiError, WeChatUnavailable)
@limiter.limit("30 per minute")
@blp.arguments(OAuthCallbackQuerySchema, location="query")
@blp.response(200, OAuthResultSchema)
def oauth_callback(query):
    """微信网页授权回调:校验 state,换取 openid,签发工作人员登录凭证"""
    return services.finish_oauth(query["code"], query.get("state"),
                                 request.cookies.get(services.OAUTH_STATE_COOKIE),
                                 _callback_url())


# -- the webhook --------------------------------------------------------------------------------

def _crypto():
    config = current_app.config
    return WeChatCrypto(config["WECHAT_OA_TOKEN"], config["WECHAT_OA_AES_KEY"],
                        config["WECHAT_OA_APP_ID"])


def _fresh(timestamp: str) -> bool:
    """WeChat signs its current time: more than MAX_CLOCK_SKEW_SECONDS off is a replay (or a
    clock badly wrong, which the logs should show)."""
    try:
        skew = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    if skew > MAX_CLOCK_SKEW_SECONDS:
        log.warning("official-account message %d s off our clock: refused", skew)
        return False
    return True


def _base_url():
    return current_app.config.get("WECHAT_OA_H5_BASE_URL") or request.host_url


@browser.route("/wechat/official", methods=["GET", "POST"])
@limiter.exempt
def official():
    """WeChat's server configuration check (GET, echostr) and its messages (POST, plain or
    安全模式). Everything here answers in milliseconds: a few COUNT queries, no WeChat
    call; anything slow a future menu needs belongs in a job."""
    token = current_app.config.get("WECHAT_OA_TOKEN")
    if not token:
        abort(404)
    args = request.args
    try:
        check_signature(token, args.get("signature", ""), args.get("timestamp", ""),
                        args.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    if not _fresh(args.get("timestamp", "")):
        abort(403)  # a captured, correctly signed request replayed later
    if request.method == "GET":
        return Response(args.get("echostr", ""), content_type="text/plain")
    raw = request.get_data(cache=False)
    if len(raw) > MAX_MESSAGE_BYTES:
        abort(413)
    encrypted = args.get("encrypt_type") == "aes"
    if encrypted:
        if not current_app.config.get("WECHAT_OA_AES_KEY"):
            abort(403)
        try:
            raw = _crypto().decrypt_message(raw, args.get("msg_signature", ""),
                                            args["timestamp"], args["nonce"])
        except (InvalidSignatureException, InvalidAppIdException):
            abort(403)
        except Exception:  # not XML, no Encrypt element, bad padding: not from WeChat
            abort(400)
    try:
        message = parse_message(raw)
    except Exception:
        abort(400)
    if not getattr(message, "source", None):
        abort(400)

    def produce():
        text = services.answer(message, _base_url())
        return None if text is None else TextReply(message=message, content=text).render()

    xml = services.answer_once(message, produce)
    if xml is None:
        return Response("success", content_type="text/plain")
    if encrypted:
        xml = _crypto().encrypt_message(xml, args["nonce"], args["timestamp"])
    return Response(xml, content_type="application/xml")


def register(app, api):
    api.register_blueprint(blp)
    app.register_blueprint(browser)
