"""Points (积分) rules staff may change: what a completed visit or care order earns, what a
point is worth, the share of a price points may pay, and how long points last.

The config's values are the defaults; what admins save is stored under one platform setting
and applies from the next earn or spend (app.points.services reads `points_rules()` each time).
Points already earned keep the expiry they were given.
"""
import logging

from app.errors import Conflict
from app.settings.services import rules_with_overrides, save_overrides
from app.staff.services import require_role

log = logging.getLogger("app.settings")

POINTS_RULES_KEY = "points_rules"
# rule → the config key holding its default
CONFIG_KEYS = {"points_per_visit": "POINTS_PER_VISIT", "points_per_yuan": "POINTS_PER_YUAN",
               "fen_per_point": "POINTS_FEN_PER_POINT",
               "max_share_percent": "POINTS_MAX_SHARE_PERCENT",
               "expire_months": "POINTS_EXPIRE_MONTHS"}
# rule → (lowest, highest) an admin may set. A payment is never 0 fen (WeChat Pay refuses
# it), so whatever the share, points leave at least 1 fen to pay (app.points.services).
BOUNDS = {"points_per_visit": (0, 10_000), "points_per_yuan": (0, 100),
          "fen_per_point": (1, 100), "max_share_percent": (0, 100), "expire_months": (1, 60)}


class PointsRulesBusy(Conflict):
    code = "settings_busy"
    message = "积分规则正在被其他人修改,请稍后重试"


def points_rules() -> dict:
    """{points_per_visit, points_per_yuan, fen_per_point, max_share_percent, expire_months}:
    the config's values with what staff saved over them."""
    return rules_with_overrides(POINTS_RULES_KEY, CONFIG_KEYS)


def get_points_rules(actor) -> dict:
    require_role(actor, "admin")
    return points_rules()


def update_points_rules(actor, *, changes: dict) -> dict:
    """Save the rules given over what is saved (the others keep their values)."""
    require_role(actor, "admin")
    save_overrides(actor, POINTS_RULES_KEY, changes, CONFIG_KEYS, PointsRulesBusy)
    log.info("staff %s changed the points rules: %s", actor.id, sorted(changes))
    return points_rules()
