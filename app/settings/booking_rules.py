"""Registration (挂号) rules staff may change: the per-day cap and the no-show block.

The config's values are the defaults; what admins save is stored under one platform setting
and applies to the next booking (app.booking.services reads `booking_rules()` every time).
"""
import logging

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.settings.models import PlatformSetting
from app.settings.services import get_setting, set_setting
from app.staff.services import require_role

log = logging.getLogger("app.settings")

BOOKING_RULES_KEY = "booking_rules"
# rule → the config key holding its default
CONFIG_KEYS = {"daily_limit": "REGISTRATION_DAILY_LIMIT", "no_show_limit": "NO_SHOW_LIMIT",
               "no_show_window_days": "NO_SHOW_WINDOW_DAYS",
               "no_show_block_days": "NO_SHOW_BLOCK_DAYS"}
# rule → (lowest, highest) an admin may set; the schema and the console show these
BOUNDS = {"daily_limit": (1, 20), "no_show_limit": (1, 50), "no_show_window_days": (1, 365),
          "no_show_block_days": (1, 365)}


class BookingRulesBusy(Conflict):
    code = "settings_busy"
    message = "挂号规则正在被其他人修改,请稍后重试"


def _usable(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def booking_rules() -> dict:
    """{daily_limit, no_show_limit, no_show_window_days, no_show_block_days}: the config's
    values with what staff saved over them."""
    rules = {name: int(current_app.config[key]) for name, key in CONFIG_KEYS.items()}
    stored = get_setting(BOOKING_RULES_KEY) or {}
    if isinstance(stored, dict):
        rules.update({name: value for name, value in stored.items()
                      if name in rules and _usable(value)})
    return rules


def get_booking_rules(actor) -> dict:
    require_role(actor, "admin")
    return booking_rules()


def update_booking_rules(actor, *, changes: dict) -> dict:
    """Save the rules given (the schema checked each) over what is saved; the others keep
    their values. The stored row is locked before it is read, so two admins changing
    different rules at once both keep their change."""
    require_role(actor, "admin")
    if not changes:
        raise ValidationFailed("请至少修改一项规则", code="nothing_to_change")
    row = db.session.scalar(select(PlatformSetting).where(
        PlatformSetting.key == BOOKING_RULES_KEY).with_for_update()
        .execution_options(populate_existing=True))
    stored = row.value if row is not None and isinstance(row.value, dict) else {}
    value = {name: item for name, item in stored.items() if name in CONFIG_KEYS}
    value.update(changes)
    set_setting(actor, BOOKING_RULES_KEY, value)
    try:
        db.session.commit()
    except IntegrityError:  # another admin's first-ever save won the insert
        db.session.rollback()
        raise BookingRulesBusy()
    log.info("staff %s changed the booking rules: %s", actor.id, sorted(changes))
    return booking_rules()
