"""The console's sign-in session and its user search; the dashboard's figures are the official
account's (app/staff_wechat/services.py). Every decision (reviews, bans, refunds) is made by
the domain services the staff API calls; this module only reads."""
import time

from flask import current_app, session
from sqlalchemy import or_, select

from app.common.auth import _principal  # the guards' own check of a staff member
from app.common.pagination import paginate
from app.console.csrf import rotate_csrf
from app.errors import AppError
from app.staff import services as staff_services
from app.staff.models import StaffUser

SESSION_KEY = "console"


class SignedOut(AppError):
    """The console session is missing or no longer valid; the page sends the browser to sign-in
    with this message."""
    status = 401
    code = "console_signed_out"
    message = "请先登录"


def sign_in_staff(staff: StaffUser):
    """Puts `staff` into the console session (after a password or WeChat OAuth sign-in). The
    session remembers the token version: bumping it, or disabling the account, ends it at once."""
    if not staff.is_active:
        raise SignedOut("员工账号已停用", code="staff_disabled")
    session.clear()
    session[SESSION_KEY] = {"id": staff.id, "ver": staff.token_version, "at": int(time.time())}
    rotate_csrf()


def sign_in_with_password(username: str, password: str) -> StaffUser:
    """The staff API's login (lockout and all), then the console session."""
    staff = staff_services.login(username, password)["staff"]
    sign_in_staff(staff)
    return staff


def sign_out():
    session.clear()
    rotate_csrf()


def signed_in_staff() -> dict:
    """{id, role} of the signed-in staff member, checked on every request the way the API
    guards check a bearer token (app/common/auth.py): the account exists, is active and still
    has the token version the session was opened with. Anything else ends the session."""
    held = session.get(SESSION_KEY)
    if not isinstance(held, dict) or not isinstance(held.get("id"), int):
        raise SignedOut()
    if time.time() - held.get("at", 0) > current_app.config["CONSOLE_SESSION_SECONDS"]:
        sign_out()
        raise SignedOut("登录已过期,请重新登录", code="console_session_expired")
    principal = _principal("staff", held["id"])
    if principal is None or principal["ver"] != held.get("ver"):
        sign_out()
        raise SignedOut("登录状态已失效,请重新登录", code="token_invalid")
    if not principal["active"]:
        sign_out()
        raise SignedOut("员工账号已停用", code="staff_disabled")
    return {"id": held["id"], "role": principal["role"]}


# ---- users -----------------------------------------------------------------------------------

def search_users(actor: StaffUser, query: str, page: int = 1, page_size: int = 20) -> dict:
    """Users by id, by full phone number (its blind index) or by nickname; operators only."""
    from app.common.crypto import cipher
    from app.users.models import User

    staff_services.require_role(actor, "operator")
    statement = select(User)
    query = (query or "").strip()[:32]
    if query:
        conditions = [User.nickname.contains(query, autoescape=True)]
        if query.isascii() and query.isdigit():
            if len(query) < 19:
                conditions.append(User.id == int(query))
            conditions.append(User.phone_index == cipher().blind_index(query, "phone"))
        statement = statement.where(or_(*conditions))
    return paginate(statement.order_by(User.id.desc()), page, page_size)
