"""The staff member's own account: WeChat binding (a one-time code), unbinding, and sign-in
through official-account OAuth."""
from flask import current_app, redirect, render_template, request, url_for
from marshmallow import ValidationError

from app.common.auth import current_staff
from app.console import services
from app.console.views import PUBLIC_ENDPOINTS, _safe_next, bp, done, role_required
from app.errors import AppError
from app.extensions import db, limiter
from app.staff.models import STAFF_ROLES
from app.staff_wechat import services as wechat_services
from app.staff_wechat.schemas import OAuthCallbackQuerySchema
from app.staff_wechat.views import redirect_to_wechat_sign_in

# the OAuth entry and its callback are reached before there is a session
PUBLIC_ENDPOINTS.update({"console.wechat_sign_in", "console.wechat_callback"})
ANY_STAFF = tuple(STAFF_ROLES)


# ---- binding ---------------------------------------------------------------------------------

@bp.get("/wechat")
@role_required(*ANY_STAFF)
def wechat_binding():
    return render_template("console/wechat.html", staff=current_staff(),
                           binding=wechat_services.binding_of(current_staff()), issued=None)


@bp.post("/wechat/bind-code")
@role_required(*ANY_STAFF)
def wechat_bind_code():
    issued = wechat_services.issue_bind_code(current_staff())
    # shown on this answer, not flashed: the code must not travel in the session cookie
    return render_template("console/wechat.html", staff=current_staff(),
                           binding=wechat_services.binding_of(current_staff()), issued=issued)


@bp.post("/wechat/unbind")
@role_required(*ANY_STAFF)
def wechat_unbind():
    staff = current_staff()
    result = wechat_services.unbind(staff)
    if not result["was_bound"]:
        return done("当前账号未绑定微信", "console.wechat_binding")
    # unbinding bumped token_version, which ends every session of this account (one opened
    # through WeChat must not outlive the binding): this browser signs in again at once
    services.sign_in_staff(staff)  # reads the new token_version (the commit expired it)
    return done("已解除微信绑定。其他设备上的登录已失效,本浏览器保持登录。",
                "console.wechat_binding")


# ---- sign-in through official-account OAuth --------------------------------------------------

def _callback_url() -> str:
    return url_for("console.wechat_callback", _external=True)


@bp.get("/login/wechat")
@limiter.limit("30 per minute")
def wechat_sign_in():
    """To WeChat's snsapi_base page; it sends the browser back to wechat_callback."""
    return redirect_to_wechat_sign_in(_safe_next(request.args.get("next")),
                                      "console.wechat_callback")


@bp.get("/login/wechat/callback")
@limiter.limit("30 per minute")
def wechat_callback():
    """Back from WeChat with ?code&state: the bound, active staff member gets a console
    session (the same as a password sign-in's) and goes to the `next` page."""
    try:
        query = OAuthCallbackQuerySchema().load(request.args.to_dict())
    except ValidationError:  # no code (or a mangled one): not a callback WeChat made
        return _oauth_failed(wechat_services.OAuthStateInvalid())
    try:
        result = wechat_services.oauth_staff(
            query["code"], query.get("state"),
            request.cookies.get(wechat_services.OAUTH_STATE_COOKIE), _callback_url())
        services.sign_in_staff(result["staff"])
    except AppError as error:  # state, not bound, disabled, WeChat's errors
        return _oauth_failed(error)
    response = redirect(_safe_next(result["next"]), code=303)
    response.delete_cookie(wechat_services.OAUTH_STATE_COOKIE,
                           path=url_for("console.wechat_callback"))
    return response


def _oauth_failed(error: AppError):
    """The error page, with the way out that does not loop back into WeChat's sign-in (the
    password form: inside WeChat the sign-in page would otherwise send the browser here)."""
    db.session.rollback()
    current_app.logger.info("console WeChat sign-in refused: %s", error.code)
    return render_template("console/wechat_sign_in_error.html", error=error), error.status
