"""Registration (挂号) rules staff may change: the per-day cap and the no-show block.

The config's values are the defaults; what admins save is stored under one platform setting
and applies to the next booking (app.booking.services reads `booking_rules()` every time).
"""
import logging

from app.errors import Conflict
from app.settings.services import rules_with_overrides, save_overrides
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


def booking_rules() -> dict:
    """{daily_limit, no_show_limit, no_show_window_days, no_show_block_days}: the config's
    values with what staff saved over them."""
    return rules_with_overrides(BOOKING_RULES_KEY, CONFIG_KEYS)


def get_booking_rules(actor) -> dict:
    require_role(actor, "admin")
    return booking_rules()


def update_booking_rules(actor, *, changes: dict) -> dict:
    """Save the rules given over what is saved (the others keep their values)."""
    require_role(actor, "admin")
    save_overrides(actor, BOOKING_RULES_KEY, changes, CONFIG_KEYS, BookingRulesBusy)
    log.info("staff %s changed the booking rules: %s", actor.id, sorted(changes))
    return booking_rules()
