"""Staff on the official account: binding with a one-time code, OAuth sign-in for the H5
console, and what the menu clicks answer.

Who sees what (待办): a reviewer sees the review queues (real-name, caregiver applications and
changes, qualifications); an operator sees open disputes and failed refunds; an admin sees all.
今日 (today's orders and money) is for admins and operators. 看板 is a link for everyone bound.
The console checks roles again on every page; these answers only decide what is worth showing.
"""
import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, time, timedelta, timezone

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete, func, select

from app.audit.listeners import acting_as
from app.booking.models import Registration
from app.care_disputes.models import CareDispute
from app.care_orders.models import CareOrder
from app.caregivers.models import Caregiver, CaregiverRevision
from app.common.auth import AccountBanned, issue_token
from app.common.time import LOCAL_TZ, local_today, utcnow
from app.errors import AppError, Forbidden, NotFound, ServiceUnavailable
from app.extensions import db, redis_client
from app.payments.models import Payment, Refund
from app.qualifications.models import Qualification
from app.staff.models import STAFF_ROLES, StaffUser
from app.staff_wechat.models import StaffBindCode
from app.users.models import RealNameVerification

log = logging.getLogger("app.staff_wechat")

BIND_CODE_TTL = timedelta(minutes=10)
# no 0/O, 1/I: the code is read off a screen and typed into WeChat
BIND_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
BIND_CODE_LENGTH = 8  # 32^8 ≈ 10^12, and guesses are limited per openid below
BIND_ATTEMPTS_PER_OPENID = 5
BIND_ATTEMPT_WINDOW_SECONDS = 600
OAUTH_STATE_TTL_SECONDS = 600
OAUTH_STATE_COOKIE = "staff_oauth_state"
# a duplicate delivery (WeChat retries after 5 s, three times) gets the first answer
DEDUP_TTL_SECONDS = 300

# H5 console routes the links in replies point at (app/console/views.py; a test GETs each).
# Caregiver revisions have no console page yet: their line has a count and no link, rather
# than a link to the applications queue, which does not list them.
CONSOLE_PATHS = {
    "home": "/console/",
    "login": "/console/login",
    "real_name_reviews": "/console/real-name",
    "caregiver_reviews": "/console/caregivers",
    "caregiver_revisions": None,
    "qualification_reviews": "/console/qualifications",
    "disputes": "/console/disputes",
    "failed_refunds": "/console/refunds",
    "dashboard": "/console/",
}

MENU_TODO, MENU_TODAY, MENU_DASHBOARD = "STAFF_TODO", "STAFF_TODAY", "STAFF_DASHBOARD"
BIND_TEXT = re.compile(r"^\s*绑定\s*([A-Za-z0-9]{1,32})\s*$")


class BindCodeInvalid(AppError):
    status = 400
    code = "bind_code_invalid"
    message = "绑定码无效或已过期"


class WeChatNotBound(AppError):
    status = 403
    code = "wechat_not_bound"
    message = "该微信未绑定工作人员账号,请先用账号密码登录并绑定微信"


class OAuthStateInvalid(AppError):
    status = 403
    code = "oauth_state_invalid"
    message = "登录请求已失效,请重新打开工作台"


class StaffNotFound(NotFound):
    code = "staff_not_found"
    message = "工作人员账号不存在"


def _hash_code(code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"staff-bind:" + code.strip().upper().encode(),
                    hashlib.sha256).hexdigest()


def issue_bind_code(actor: StaffUser) -> dict:
    """A new one-time code for `actor`; any earlier unused one stops working."""
    now = utcnow()
    code = "".join(secrets.choice(BIND_CODE_ALPHABET) for _ in range(BIND_CODE_LENGTH))
    db.session.execute(delete(StaffBindCode).where(StaffBindCode.staff_id == actor.id,
                                                   StaffBindCode.used_at.is_(None)))
    row = StaffBindCode(staff_id=actor.id, code_hash=_hash_code(code),
                        expires_at=now + BIND_CODE_TTL)
    db.session.add(row)
    db.session.commit()
    return {"code": code, "expires_at": row.expires_at,
            "instruction": f"请在 10 分钟内用微信向公众号发送「绑定 {code}」"}


def binding_of(actor: StaffUser) -> dict:
    return {"bound": actor.official_openid is not None}


def unbind(actor: StaffUser, staff_id: int | None = None) -> dict:
    """Forget the staff member's openid and revoke their tokens (a session signed in through
    WeChat must not outlive the binding). Someone else's binding: admins only. Unbinding
    oneself answers a fresh token so this device stays signed in."""
    target_id = staff_id or actor.id
    if target_id != actor.id and actor.role != "admin":
        raise Forbidden()
    staff = db.session.scalar(select(StaffUser).where(StaffUser.id == target_id)
                              .with_for_update())
    if staff is None:
        raise StaffNotFound()
    was_bound = staff.official_openid is not None
    if was_bound:
        staff.official_openid = None
        staff.token_version += 1  # purges every process's principal copy after the commit
    db.session.commit()
    log.info("staff %s unbound the WeChat of staff %s", actor.id, staff.id)
    token = issue_token("staff", staff.id, staff.token_version) if staff.id == actor.id else None
    return {"bound": False, "was_bound": was_bound, "token": token}


def staff_for_openid(openid: str) -> StaffUser | None:
    return db.session.scalar(select(StaffUser).where(StaffUser.official_openid == openid))


def _bind_attempt_allowed(openid: str) -> bool:
    key = f"staff_wechat:bind_attempts:{hashlib.sha256(openid.encode()).hexdigest()}"
    try:
        conn = redis_client.conn
        attempts = conn.incr(key)
        if attempts == 1:
            conn.expire(key, BIND_ATTEMPT_WINDOW_SECONDS)
    except RedisError:
        return False  # cannot count guesses: refuse rather than allow unlimited ones
    return attempts <= BIND_ATTEMPTS_PER_OPENID


def bind_openid(openid: str, code: str) -> str:
    """「绑定 <code>」 from `openid`: the answer to send back."""
    if not _bind_attempt_allowed(openid):
        return "尝试次数过多,请 10 分钟后再试。"
    now = utcnow()
    row = db.session.scalar(select(StaffBindCode).where(
        StaffBindCode.code_hash == _hash_code(code)).with_for_update())
    if row is None or not row.usable(now):
        db.session.rollback()
        return "绑定码无效或已过期,请在工作台重新获取绑定码。"
    staff = db.session.scalar(select(StaffUser).where(StaffUser.id == row.staff_id)
                              .with_for_update())
    if not staff.is_active:
        db.session.rollback()
        return "该工作人员账号已停用,无法绑定。"
    holder = staff_for_openid(openid)
    if holder is not None and holder.id != staff.id:
        db.session.rollback()
        return f"该微信已绑定工作人员账号 {holder.username},请先在工作台解除绑定。"
    # not a staff request (WeChat's server calls us): name the actor for the audit log
    with acting_as(staff.id, "绑定微信", source="wechat", role=staff.role):
        row.used_at, row.used_by_openid = now, openid
        staff.official_openid = openid
        db.session.commit()
    log.info("staff %s bound a WeChat openid", staff.id)
    return (f"绑定成功:{staff.display_name}({STAFF_ROLES.get(staff.role, staff.role)})。"
            "点击菜单「待办」「今日」「看板」即可开始工作。")


# -- OAuth sign-in -----------------------------------------------------------------------------

def safe_next(path: str | None) -> str:
    """Only a console path: never an absolute or protocol-relative URL (no open redirect)."""
    if (path and len(path) <= 200 and path.startswith("/console") and not path.startswith("//")
            and "\\" not in path and all(ord(ch) > 31 for ch in path)):
        return path
    return CONSOLE_PATHS["home"]


def start_oauth(next_path: str | None) -> str:
    """A fresh state, kept in Redis (single use, 10 minutes) with where to go afterwards."""
    state = secrets.token_urlsafe(24)
    try:
        redis_client.conn.set(f"staff_wechat:oauth_state:{state}", safe_next(next_path),
                              ex=OAUTH_STATE_TTL_SECONDS)
    except RedisError:  # no state kept, no sign-in: the password still works
        raise ServiceUnavailable() from None
    return state


def _take_state(state: str | None, cookie_state: str | None) -> str:
    # the state must come back to the browser that started (login CSRF) and work once
    if not state or not cookie_state or not hmac.compare_digest(state, cookie_state) \
            or len(state) > 64:
        raise OAuthStateInvalid()
    key = f"staff_wechat:oauth_state:{state}"
    pipe = redis_client.conn.pipeline()
    pipe.get(key)
    pipe.delete(key)
    try:
        next_path, deleted = pipe.execute()
    except RedisError:
        raise ServiceUnavailable() from None
    if not next_path or not deleted:
        raise OAuthStateInvalid()
    return next_path.decode()


def oauth_staff(code: str, state: str | None, cookie_state: str | None,
                redirect_uri: str) -> dict:
    """A callback's {staff, next}: state checked, code exchanged for the openid, the bound
    active staff member found. The API answers a token for it, the console a session."""
    from app.wechat.official_account import oauth_openid

    next_path = _take_state(state, cookie_state)
    openid = oauth_openid(code, redirect_uri)
    staff = staff_for_openid(openid)
    if staff is None:
        raise WeChatNotBound()
    if not staff.is_active:
        raise AccountBanned(message="员工账号已停用")
    staff.last_login_at = utcnow()
    db.session.commit()
    return {"staff": staff, "next": next_path}


def finish_oauth(code: str, state: str | None, cookie_state: str | None,
                 redirect_uri: str) -> dict:
    """The API's callback: oauth_staff and a staff token like the password login's."""
    result = oauth_staff(code, state, cookie_state, redirect_uri)
    staff = result["staff"]
    return {**result, "token": issue_token("staff", staff.id, staff.token_version)}


# -- menu answers -------------------------------------------------------------------------------

def _today_utc_range():
    """[start, end) of today in Asia/Shanghai as naive UTC, as the database stores times."""
    start = datetime.combine(local_today(), time(0), LOCAL_TZ)
    to_utc = lambda moment: moment.astimezone(timezone.utc).replace(tzinfo=None)  # noqa: E731
    return to_utc(start), to_utc(start + timedelta(days=1))


def _count(statement) -> int:
    return db.session.scalar(statement) or 0


def todo_counts(staff: StaffUser) -> dict:
    """What waits for this staff member's role (see the module docstring)."""
    counts = {}
    if staff.has_role("reviewer"):
        counts["real_name_reviews"] = _count(select(func.count(RealNameVerification.id)).where(
            RealNameVerification.status == "pending"))
        counts["caregiver_reviews"] = _count(select(func.count(Caregiver.id)).where(
            Caregiver.status == "pending_review"))
        counts["caregiver_revisions"] = _count(select(func.count(CaregiverRevision.id)).where(
            CaregiverRevision.status == "pending"))
        counts["qualification_reviews"] = _count(select(func.count(Qualification.id)).where(
            Qualification.status == "pending"))
    if staff.has_role("operator"):
        counts["disputes"] = _count(select(func.count(CareDispute.id)).where(
            CareDispute.status == "open"))
        counts["failed_refunds"] = _count(select(func.count(Refund.id)).where(
            Refund.status == "failed"))
    return counts


def today_figures() -> dict:
    """Orders placed today (local day) and the money paid today, in fen."""
    start, end = _today_utc_range()
    paid = db.session.execute(select(func.count(Payment.id), func.sum(Payment.amount_fen)).where(
        Payment.paid_at >= start, Payment.paid_at < end)).one()
    return {
        "registrations": _count(select(func.count(Registration.id)).where(
            Registration.created_at >= start, Registration.created_at < end)),
        "care_orders": _count(select(func.count(CareOrder.id)).where(
            CareOrder.created_at >= start, CareOrder.created_at < end)),
        "payments": paid[0] or 0,
        "revenue_fen": int(paid[1] or 0),
    }


def yuan(fen: int) -> str:
    return f"¥{fen // 100:,}.{fen % 100:02d}"


TODO_LINES = (
    ("real_name_reviews", "实名认证待审核"),
    ("caregiver_reviews", "护工入驻待审核"),
    ("caregiver_revisions", "护工资料变更待审核"),
    ("qualification_reviews", "资质证书待审核"),
    ("disputes", "纠纷待处理"),
    ("failed_refunds", "退款失败待处理"),
)


def _link(base_url: str, name: str) -> str | None:
    path = CONSOLE_PATHS[name]
    return None if path is None else base_url.rstrip("/") + path


def todo_text(staff: StaffUser, base_url: str) -> str:
    counts = todo_counts(staff)
    lines = ["【待办】"]
    for name, label in TODO_LINES:
        if name in counts:
            link = _link(base_url, name)
            lines.append(f"{label}:{counts[name]} 件" + (f"\n{link}" if link else ""))
    if len(lines) == 1:
        lines.append("当前角色没有需要处理的队列。")
    return "\n".join(lines)


def today_text(staff: StaffUser, base_url: str) -> str:
    if not staff.has_role("operator"):
        return "今日数据仅对管理员和运营开放。"
    figures = today_figures()
    return "\n".join([
        f"【今日 {local_today().isoformat()}】",
        f"挂号订单:{figures['registrations']} 单",
        f"陪护订单:{figures['care_orders']} 单",
        f"收款:{yuan(figures['revenue_fen'])}({figures['payments']} 笔)",
        f"详情:{_link(base_url, 'dashboard')}",
    ])


def dashboard_text(base_url: str) -> str:
    return f"【看板】\n{_link(base_url, 'dashboard')}"


def how_to_bind(base_url: str) -> str:
    return ("您的微信尚未绑定工作人员账号。请先在工作台用账号密码登录:\n"
            f"{_link(base_url, 'login')}\n"
            "获取绑定码后,向本公众号发送「绑定 绑定码」(例如:绑定 ABCD2345)。")


def answer(message, base_url: str) -> str | None:
    """The text to reply to one message or event from WeChat; None for no reply."""
    kind, openid = message.type, message.source
    if kind == "text":
        matched = BIND_TEXT.match(message.content or "")
        if matched:
            return bind_openid(openid, matched.group(1))
    if kind == "event" and message.event == "subscribe":
        staff = staff_for_openid(openid)
        return how_to_bind(base_url) if staff is None else "欢迎回来,点击菜单开始工作。"
    if kind == "event" and message.event != "click":
        return None  # view, unsubscribe, template-send reports …: nothing to say
    staff = staff_for_openid(openid)
    if staff is None:
        return how_to_bind(base_url)
    if not staff.is_active:
        return "该工作人员账号已停用。"
    if kind == "event":
        if message.key == MENU_TODO:
            return todo_text(staff, base_url)
        if message.key == MENU_TODAY:
            return today_text(staff, base_url)
        if message.key == MENU_DASHBOARD:
            return dashboard_text(base_url)
        return None
    return "请使用下方菜单:「待办」查看待处理事项,「今日」查看今日数据,「看板」打开工作台。"


# -- dedup --------------------------------------------------------------------------------------

def dedup_key(message) -> str:
    """MsgId for messages; FromUserName + CreateTime for events (they carry no MsgId)."""
    if getattr(message, "id", None):
        return f"msg:{message.id}"
    return f"evt:{message.source}:{int(message.create_time.timestamp())}"


PENDING = b"\x00pending"


def answer_once(message, produce):
    """produce() for the first delivery of a message; a duplicate gets the first one's reply
    (plain XML), or "success" while the first is still being answered. Without Redis every
    delivery is answered (binding stays single-use in the database)."""
    key = "staff_wechat:seen:" + hashlib.sha256(dedup_key(message).encode()).hexdigest()
    conn = redis_client.conn
    try:
        first = conn.set(key, PENDING, nx=True, ex=DEDUP_TTL_SECONDS)
        if not first:
            stored = conn.get(key)
            return None if stored in (None, PENDING, b"") else stored.decode()
    except RedisError:
        log.warning("official-account dedup unavailable; answering without it")
        return produce()
    reply = produce()
    try:
        conn.set(key, reply or "", ex=DEDUP_TTL_SECONDS)
    except RedisError:
        pass
    return reply


# -- menu ---------------------------------------------------------------------------------------

class MenuConfigInvalid(AppError):
    status = 400
    code = "menu_config_invalid"
    message = "公众号菜单配置有误"


def menu_from_config() -> dict:
    """WECHAT_OA_MENU with view URLs made absolute (WeChat accepts only those)."""
    config = current_app.config
    base = (config.get("WECHAT_OA_H5_BASE_URL") or "").rstrip("/")

    def resolve(button):
        button = dict(button)
        if "sub_button" in button:
            button["sub_button"] = [resolve(sub) for sub in button["sub_button"]]
        url = button.get("url")
        if isinstance(url, str) and url.startswith("/"):
            if not base:
                raise MenuConfigInvalid("菜单含相对链接,请先配置 WECHAT_OA_H5_BASE_URL(工作台的公网地址)")
            button["url"] = base + url
        return button

    menu = config.get("WECHAT_OA_MENU") or {}
    if not menu.get("button"):
        raise MenuConfigInvalid("未配置 WECHAT_OA_MENU")
    return {"button": [resolve(button) for button in menu["button"]]}


def sync_menu() -> dict:
    """Create the configured menu on the official account (WeChat or the simulator)."""
    from app.wechat.official_account import create_menu

    menu = menu_from_config()
    create_menu(menu)
    return menu
