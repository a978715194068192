from marshmallow import fields, validate

from app.common.validation import BaseSchema
from app.settings.booking_rules import BOUNDS

_HELP = {"daily_limit": "每位就诊人同一就诊日最多的有效预约数",
         "no_show_limit": "统计期内爽约达到此次数即暂停预约",
         "no_show_window_days": "爽约统计期(天)",
         "no_show_block_days": "暂停预约的天数(自最近一次爽约的就诊日起)"}


def _rule(name: str):
    """A JSON integer (not a string, float or boolean) within the rule's bounds."""
    low, high = BOUNDS[name]
    return fields.Integer(strict=True, validate=validate.Range(
        min=low, max=high, error=f"应为 {low} 到 {high} 之间的整数"),
        metadata={"description": f"{_HELP[name]},{low}–{high}"})


class RegistrationRulesSchema(BaseSchema):
    daily_limit = fields.Integer(metadata={"description": _HELP["daily_limit"]})
    no_show_limit = fields.Integer(metadata={"description": _HELP["no_show_limit"]})
    no_show_window_days = fields.Integer(metadata={"description": _HELP["no_show_window_days"]})
    no_show_block_days = fields.Integer(metadata={"description": _HELP["no_show_block_days"]})


class RegistrationRulesUpdateSchema(BaseSchema):
    """Any of the rules (the others keep their values); an unknown key is refused."""

    daily_limit = _rule("daily_limit")
    no_show_limit = _rule("no_show_limit")
    no_show_window_days = _rule("no_show_window_days")
    no_show_block_days = _rule("no_show_block_days")
