"""Membership levels and their privileges.

A user's level is the highest whose threshold they meet over the last MEMBERSHIP_WINDOW_DAYS:
points earned (app/points, net of reversals) or money paid (payments, net of refunds),
whichever reaches further. Nothing about a level is stored: it is computed when asked, so a
refund or an expired year lowers it at once, and there is no job that could fall behind.

Every use case asks one function, `may(user, privilege, ...)`, "may this user do X now, and
why": the answer carries the level, the privilege's value and a Chinese reason the API can
show. The levels and what each grants are data (a platform setting admins edit; config.py's
MEMBERSHIP_LEVELS until they do).
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.common.time import LOCAL_TZ, utcnow
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.membership.models import PrivilegeUse
from app.settings.services import get_setting, set_setting
from app.staff.services import require_role

log = logging.getLogger("app.membership")

LEVELS_KEY = "membership_levels"
PRIVILEGES = {
    "early_access_minutes": ("提前预约", "分钟", (0, 24 * 60)),
    "late_cancel_hours": ("超时免费取消", "小时", (0, 72)),
    "late_cancels_per_month": ("每月超时取消次数", "次", (0, 31)),
    "care_discount_percent": ("陪护订单折扣", "%", (0, 50)),
    "dispatch_priority": ("陪护派单优先级", "", (0, 100)),
    "waitlist_priority": ("候补优先级", "", (0, 100)),
}
MAX_LEVELS = 8


class MembershipSettingsBusy(Conflict):
    code = "settings_busy"
    message = "会员等级正在被其他人修改,请稍后重试"


@dataclass(frozen=True)
class Decision:
    """The answer to "may this user do X now": `allowed`, the privilege's `value` at the
    user's level, the level, and `reason` (Chinese, for the user)."""
    allowed: bool
    reason: str
    level: dict
    value: int = 0
    details: dict = field(default_factory=dict)


# ---- the levels ------------------------------------------------------------------------------

def levels() -> list[dict]:
    """The levels, lowest first (the saved setting, else config.py's defaults)."""
    stored = get_setting(LEVELS_KEY)
    chosen = stored if isinstance(stored, list) and stored else \
        current_app.config["MEMBERSHIP_LEVELS"]
    return [_normalised(level) for level in chosen]


def _normalised(level: dict) -> dict:
    privileges = {name: int((level.get("privileges") or {}).get(name, 0)) for name in PRIVILEGES}
    return {"code": level["code"], "name": level["name"],
            "min_points": int(level["min_points"]), "min_spend_fen": int(level["min_spend_fen"]),
            "privileges": privileges}


def check_levels(proposed: list[dict]):
    """Levels admins may save: 1–8, unique codes and names, the first open to everyone
    (thresholds 0), thresholds rising on both measures, privileges within their bounds."""
    def invalid(message, index=None):
        details = {"levels": {str(index): [message]}} if index is not None else \
            {"levels": [message]}
        raise ValidationFailed(message, code="invalid_membership_levels", details=details)

    if not 1 <= len(proposed) <= MAX_LEVELS:
        invalid(f"会员等级应为 1–{MAX_LEVELS} 个")
    if len({level["code"] for level in proposed}) != len(proposed) or \
            len({level["name"] for level in proposed}) != len(proposed):
        invalid("等级编码和名称不能重复")
    if proposed[0]["min_points"] or proposed[0]["min_spend_fen"]:
        invalid("第一个等级应对所有用户开放(门槛为 0)", 0)
    for index in range(1, len(proposed)):
        previous, level = proposed[index - 1], proposed[index]
        if level["min_points"] <= previous["min_points"] or \
                level["min_spend_fen"] <= previous["min_spend_fen"]:
            invalid("每个等级的积分门槛和消费门槛都应高于上一等级", index)


# ---- a user's standing -----------------------------------------------------------------------

def _window_start(now: datetime) -> datetime:
    return now - timedelta(days=current_app.config["MEMBERSHIP_WINDOW_DAYS"])


def points_earned_since(user_id: int, since: datetime) -> int:
    from app.points.services import earned_since
    return earned_since(user_id, since)


def paid_since(user_id: int, since: datetime) -> int:
    """Money paid since `since` (UTC), net of what was refunded, in fen."""
    from app.payments.models import Payment
    return int(db.session.scalar(select(
        func.coalesce(func.sum(Payment.amount_fen - Payment.refunded_fen), 0)).where(
        Payment.user_id == user_id, Payment.paid_at.is_not(None),
        Payment.paid_at >= since)) or 0)


def standing(user_id: int, now: datetime | None = None) -> dict:
    """{level, next (or None), points, spend_fen} over the rolling window."""
    now = now or utcnow()
    since = _window_start(now)
    points, spend = points_earned_since(user_id, since), paid_since(user_id, since)
    ladder = levels()
    reached = [level for level in ladder
               if points >= level["min_points"] or spend >= level["min_spend_fen"]]
    level = reached[-1] if reached else ladder[0]
    higher = [candidate for candidate in ladder[ladder.index(level) + 1:]]
    return {"level": level, "next": higher[0] if higher else None, "points": points,
            "spend_fen": spend}


def level_of(user_id: int, now: datetime | None = None) -> dict:
    return standing(user_id, now)["level"]


# ---- may this user do X now, and why ---------------------------------------------------------

def _local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _aware(now_utc: datetime) -> datetime:
    return now_utc.replace(tzinfo=timezone.utc)


def _month_start_utc(now_utc: datetime) -> datetime:
    """The start of the local calendar month `now_utc` falls in, as naive UTC."""
    first = _aware(now_utc).astimezone(LOCAL_TZ).replace(day=1, hour=0, minute=0, second=0,
                                                          microsecond=0)
    return first.astimezone(timezone.utc).replace(tzinfo=None)


def late_cancels_this_month(user_id: int, now_utc: datetime) -> int:
    return db.session.scalar(select(func.count(PrivilegeUse.id)).where(
        PrivilegeUse.user_id == user_id, PrivilegeUse.privilege == "late_cancel",
        PrivilegeUse.used_at >= _month_start_utc(now_utc))) or 0


def may(user, privilege: str, *, now: datetime | None = None, **context) -> Decision:
    """The one question every use case asks. `privilege` and its context:

    - "book_early", release_at (aware): may the user book now although the release is later?
    - "cancel_late", deadline and visit_start (aware): may a booked registration be cancelled
      free now although the hospital's deadline has passed?
    - "care_discount", "dispatch_priority", "waitlist_priority": the value at the user's
      level (`allowed` when it is above 0).
    """
    now_utc = utcnow() if now is None else now.astimezone(timezone.utc).replace(tzinfo=None)
    aware_now = now or _aware(now_utc)
    level = level_of(user.id, now_utc)
    values = level["privileges"]
    if privilege == "book_early":
        minutes = values["early_access_minutes"]
        opens = context["release_at"] - timedelta(minutes=minutes)
        if minutes and aware_now >= opens:
            return Decision(True, f"{level['name']}会员可提前 {minutes} 分钟预约", level, minutes,
                            {"opens_at": _local(opens)})
        if minutes:
            return Decision(False, f"{level['name']}会员可于 {_local(opens)} 起预约", level,
                            minutes, {"opens_at": _local(opens)})
        return Decision(False, f"{level['name']}会员无提前预约权益", level, 0,
                        {"opens_at": _local(context["release_at"])})
    if privilege == "cancel_late":
        hours, per_month = values["late_cancel_hours"], values["late_cancels_per_month"]
        until = min(context["deadline"] + timedelta(hours=hours), context["visit_start"])
        if not hours or not per_month:
            return Decision(False, f"{level['name']}会员无超时免费取消权益", level, 0,
                            {"deadline": _local(context["deadline"])})
        if aware_now >= until:
            return Decision(False, f"超时免费取消截止于 {_local(until)}", level, hours,
                            {"deadline": _local(until)})
        used = late_cancels_this_month(user.id, now_utc)
        if used >= per_month:
            return Decision(False, f"本月超时免费取消次数已用完(每月 {per_month} 次)", level,
                            hours, {"used": used, "per_month": per_month})
        return Decision(True, f"{level['name']}会员超时免费取消(本月第 {used + 1} 次,"
                              f"共 {per_month} 次)", level, hours,
                        {"used": used, "per_month": per_month})
    names = {"care_discount": "care_discount_percent", "dispatch_priority": "dispatch_priority",
             "waitlist_priority": "waitlist_priority"}
    if privilege in names:
        value = values[names[privilege]]
        label = PRIVILEGES[names[privilege]][0]
        return Decision(value > 0, f"{level['name']}会员{label}: {value}" if value
                        else f"{level['name']}会员无{label}权益", level, value)
    raise ValueError(f"unknown privilege {privilege!r}")


def waitlist_priority(user) -> int:
    return may(user, "waitlist_priority").value


def dispatch_priority(user) -> int:
    return may(user, "dispatch_priority").value


def record_use(user_id: int, privilege: str, order_type: str, order_id: int):
    """Inside the caller's transaction: a privilege was used for this order (counted against
    monthly limits; one use per order and privilege, whatever retries)."""
    db.session.add(PrivilegeUse(user_id=user_id, privilege=privilege, order_type=order_type,
                                order_id=order_id, used_at=utcnow()))


# ---- what the user sees ----------------------------------------------------------------------

def my_membership(user) -> dict:
    now = utcnow()
    current = standing(user.id, now)
    level, upcoming = current["level"], current["next"]
    progress = None
    if upcoming is not None:
        progress = {
            "level": upcoming["name"],
            "points_needed": max(0, upcoming["min_points"] - current["points"]),
            "spend_fen_needed": max(0, upcoming["min_spend_fen"] - current["spend_fen"]),
        }
    return {"level": level["code"], "level_name": level["name"], "points": current["points"],
            "spend_fen": current["spend_fen"],
            "window_days": current_app.config["MEMBERSHIP_WINDOW_DAYS"],
            "privileges": level["privileges"], "next": progress,
            "late_cancels_used": late_cancels_this_month(user.id, now),
            "levels": [{"code": item["code"], "name": item["name"],
                        "min_points": item["min_points"],
                        "min_spend_fen": item["min_spend_fen"],
                        "privileges": item["privileges"]} for item in levels()]}


# ---- admins ----------------------------------------------------------------------------------

def get_levels(actor) -> dict:
    require_role(actor, "admin")
    return {"levels": levels()}


def update_levels(actor, *, proposed: list[dict]) -> dict:
    require_role(actor, "admin")
    check_levels(proposed)
    set_setting(actor, LEVELS_KEY, [_normalised(level) for level in proposed])
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise MembershipSettingsBusy()
    log.info("staff %s changed the membership levels", actor.id)
    return {"levels": levels()}
