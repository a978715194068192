"""Schema base class and Chinese validation messages.

marshmallow's messages are English; clients show `details` to users, so the common ones are
translated here once instead of per field.
"""
import re

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate  # noqa: F401  (re-exported)

from app.common.time import to_local

_TRANSLATIONS = [
    (re.compile(r"^Missing data for required field\.$"), "必填"),
    (re.compile(r"^Field may not be null\.$"), "不能为空"),
    (re.compile(r"^Unknown field\.$"), "未知字段"),
    (re.compile(r"^Not a valid string\.$"), "应为字符串"),
    (re.compile(r"^Not a valid integer\.$"), "应为整数"),
    (re.compile(r"^Not a valid number\.$"), "应为数字"),
    (re.compile(r"^Not a valid boolean\.$"), "应为布尔值"),
    (re.compile(r"^Not a valid date\.$"), "日期格式应为 YYYY-MM-DD"),
    (re.compile(r"^Not a valid datetime\.$"), "时间格式不正确"),
    (re.compile(r"^Not a valid list\.$"), "应为列表"),
    (re.compile(r"^Not a valid mapping type\.$"), "应为对象"),
    (re.compile(r"^Invalid input type\.$"), "请求体应为 JSON 对象"),
    (re.compile(r"^Invalid value\.$"), "取值无效"),
    (re.compile(r"^Must be one of: (.*)\.$"), r"取值应为以下之一: \1"),
    (re.compile(r"^Longer than maximum length (\d+)\.$"), r"长度不能超过 \1"),
    (re.compile(r"^Shorter than minimum length (\d+)\.$"), r"长度不能少于 \1"),
    (re.compile(r"^Length must be between (\d+) and (\d+)\.$"), r"长度应在 \1 到 \2 之间"),
    (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
     r"取值应在 \1 到 \2 之间"),
    (re.compile(r"^Must be greater than or equal to (\S+)\.$"), r"不能小于 \1"),
    (re.compile(r"^Must be less than or equal to (\S+)\.$"), r"不能大于 \1"),
    (re.compile(r"^String does not match expected pattern\.$"), "格式不正确"),
    (re.compile(r"^Number too large\.$"), "数值过大"),
]


def _translate(message):
    if not isinstance(message, str):
        return message
    for pattern, replacement in _TRANSLATIONS:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message


def localize_messages(messages):
    if isinstance(messages, dict):
        # webargs nests by location ("json", "query", ...); callers only care about fields
        if set(messages) <= {"json", "query", "form", "files", "view_args", "headers", "cookies"}:
            merged = {}
            for part in messages.values():
                merged.update(localize_messages(part) if isinstance(part, dict) else {"_": part})
            return merged
        return {str(k): localize_messages(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [localize_messages(m) for m in messages]
    return _translate(messages)


class BaseSchema(Schema):
    """Unknown fields are an error (the default, stated for readers)."""

    class Meta:
        unknown = RAISE


class LocalDateTime(fields.DateTime):
    """Naive-UTC datetimes from the database, dumped as ISO 8601 in Asia/Shanghai."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else to_local(value).isoformat(timespec="seconds")


def Text(max_length, *, required=False, min_length=None, **kwargs):
    """A trimmed string with an explicit length limit (every free string has one)."""
    kwargs.setdefault("validate", validate.Length(min=min_length, max=max_length))
    return TrimmedString(required=required, **kwargs)


class TrimmedString(fields.String):
    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip() if isinstance(result, str) else result
