from marshmallow import fields, validate

from app.common.validation import BaseSchema, Text
from app.membership.services import MAX_LEVELS, PRIVILEGES


def _privilege(name: str):
    label, unit, (low, high) = PRIVILEGES[name]
    return fields.Integer(required=True, strict=True, validate=validate.Range(
        min=low, max=high, error=f"应为 {low} 到 {high} 之间的整数"),
        metadata={"description": f"{label}({unit}){low}–{high}" if unit
                  else f"{label} {low}–{high}(越大越优先)"})


class PrivilegesSchema(BaseSchema):
    early_access_minutes = _privilege("early_access_minutes")
    late_cancel_hours = _privilege("late_cancel_hours")
    late_cancels_per_month = _privilege("late_cancels_per_month")
    care_discount_percent = _privilege("care_discount_percent")
    dispatch_priority = _privilege("dispatch_priority")
    waitlist_priority = _privilege("waitlist_priority")


class LevelSchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{1,31}$", error="等级编码为小写字母开头的字母、数字或下划线,2–32 位"))
    name = Text(16, required=True, min_length=1)
    min_points = fields.Integer(required=True, strict=True,
                                validate=validate.Range(min=0, max=100_000_000),
                                metadata={"description": "近一年获得积分达到此数即可升到该等级"})
    min_spend_fen = fields.Integer(required=True, strict=True,
                                   validate=validate.Range(min=0, max=10_000_000_000),
                                   metadata={"description": "或近一年实付金额(分)达到此数"})
    privileges = fields.Nested(PrivilegesSchema, required=True)


class LevelsSchema(BaseSchema):
    levels = fields.List(fields.Nested(LevelSchema), required=True,
                         validate=validate.Length(min=1, max=MAX_LEVELS,
                                                  error=f"会员等级应为 1–{MAX_LEVELS} 个"),
                         metadata={"description": "由低到高"})


class ProgressSchema(BaseSchema):
    level = fields.String(required=True, metadata={"description": "下一等级名称"})
    points_needed = fields.Integer(required=True)
    spend_fen_needed = fields.Integer(required=True)


class MyMembershipSchema(BaseSchema):
    level = fields.String(required=True)
    level_name = fields.String(required=True)
    points = fields.Integer(required=True, metadata={"description": "统计期内获得的积分"})
    spend_fen = fields.Integer(required=True, metadata={"description": "统计期内实付金额(分)"})
    window_days = fields.Integer(required=True)
    privileges = fields.Nested(PrivilegesSchema, required=True)
    next = fields.Nested(ProgressSchema, required=True, allow_none=True,
                         metadata={"description": "距下一等级还差多少(任一达到即可);最高等级为 null"})
    late_cancels_used = fields.Integer(required=True, metadata={"description": "本月已用超时免费取消次数"})
    levels = fields.List(fields.Nested(LevelSchema), required=True)
