"""Mini-program login and phone binding through the WeChat gateway."""
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.common.auth import AccountBanned, issue_token
from app.common.time import utcnow
from app.errors import AppError, Conflict
from app.stats.events import record_event
from app.extensions import db
from app.users.models import User
from app.wechat import miniprogram
from app.wechat.errors import WeChatApiError

log = logging.getLogger("app.auth")
INVALID_CODE_ERRCODES = {40029, 40163, 40226, 45011}


class InvalidWeChatCode(AppError):
    status = 400
    code = "invalid_wechat_code"
    message = "微信登录凭证无效或已过期,请重新登录"


class PhoneTaken(Conflict):
    code = "phone_taken"
    message = "该手机号已绑定其他账号"


def _translate_code_error(exc: WeChatApiError):
    if exc.errcode in INVALID_CODE_ERRCODES:
        raise InvalidWeChatCode() from exc
    raise exc


def login_with_wechat(js_code: str):
    """Exchange a wx.login() code for our token; the first login creates the account."""
    try:
        session = miniprogram.code_to_session(js_code)
    except WeChatApiError as exc:
        _translate_code_error(exc)
    openid = session["openid"]
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is None:
        user = User(openid=openid, unionid=session.get("unionid"))
        db.session.add(user)
        try:
            db.session.flush()
        except IntegrityError:  # the same person logging in twice at once
            db.session.rollback()
            user = db.session.scalar(select(User).where(User.openid == openid))
    if user.is_banned:
        db.session.rollback()
        raise AccountBanned(details={"reason": user.ban_reason} if user.ban_reason else None)
    user.last_login_at = utcnow()
    db.session.commit()
    log.info("user %s logged in", user.id)
    record_event("login", user.id)  # after the commit; never raises (app/stats/events.py)
    return {"token": issue_token("user", user.id, user.token_version), "user": user}


def bind_phone(actor: User, *, phone_code: str) -> User:
    """WeChat first, with no transaction open (loading the caller opened one: it ends here),
    then one short transaction that checks and stores the number."""
    user_id = actor.id
    db.session.rollback()
    try:
        phone = miniprogram.phone_number(phone_code)
    except WeChatApiError as exc:
        _translate_code_error(exc)
    from app.common.crypto import cipher

    index = cipher().blind_index(phone, "phone")
    holder = db.session.scalar(select(User).where(User.phone_index == index, User.id != user_id))
    if holder is not None:
        db.session.rollback()
        raise PhoneTaken()
    user = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
    user.phone = phone
    db.session.commit()
    return user


def logout(actor: User):
    """Revoke every token of this account (all devices)."""
    actor.revoke_tokens()
    db.session.commit()
