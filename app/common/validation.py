"""Schema base class and Chinese validation messages.

marshmallow's messages are English; clients show `details` to users, so the common ones are
translated here once instead of per field.
"""
import json
import re

from marshmallow import (EXCLUDE, RAISE, Schema, ValidationError, fields,  # noqa: F401
                         validate)  # (re-exported)

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


UNSTORABLE_TEXT = "包含无法识别的字符"


def is_storable(text: str) -> bool:
    """False for text that cannot be encoded as UTF-8: lone surrogates (U+D800..U+DFFF), which
    JSON's backslash-u escapes can produce. No database, log line or HTTP client takes them."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class String(fields.String):
    """The app's string field: refuses text that cannot be stored (see is_storable)."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        if isinstance(result, str) and not is_storable(result):
            raise ValidationError(UNSTORABLE_TEXT)
        return result


class TrimmedString(String):
    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip() if isinstance(result, str) else result


class StatusList(fields.List):
    """Statuses of `names` from a repeated query argument (`?status=a&status=b`), a comma list
    (`?status=a,b`) or both; an unknown one is refused by name."""

    def __init__(self, names: dict, **kwargs):
        super().__init__(fields.String(validate=validate.OneOf(list(names))), **kwargs)
        self.names = names

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, (list, tuple)) else [value]
        if not all(isinstance(item, str) for item in values):
            raise ValidationError("应为订单状态")
        wanted = [part.strip() for item in values for part in item.split(",") if part.strip()]
        unknown = [item for item in wanted if item not in self.names]
        if unknown:
            raise ValidationError(f"未知的订单状态: {', '.join(unknown)[:100]};"
                                  f"可选: {', '.join(self.names)}")
        return list(dict.fromkeys(wanted))  # each once, in the order asked


# JSON request bodies. json.loads alone turns a body nested 100,000 deep into a RecursionError
# and a 5,000-digit integer into a ValueError (both 500s), and passes lone surrogates through
# to the database. load_json_body is the one place that parses a request body: every
# JSON-taking route goes through it (the Blueprint's parser), so new domains inherit it.
JSON_MAX_DEPTH = 32
_MAX_INT = 2**63 - 1  # no column we have holds more; anything larger is never meant
_NUMBER_TOO_LARGE = "数值过大"


class BadJsonBody(Exception):
    """The body is not acceptable JSON at all (a 400, no field to blame)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class _Oversized:
    """A number literal too large to use; reported by field by _check_tree."""


_OVERSIZED = _Oversized()


def _parse_int(literal: str):
    # int() on a 5,000-digit literal raises (Python caps digits); longer than any 64-bit
    # value is never valid here, so it is not even converted
    if len(literal) > 20:
        return _OVERSIZED
    value = int(literal)
    return value if -_MAX_INT - 1 <= value <= _MAX_INT else _OVERSIZED


def _parse_float(literal: str):
    value = float(literal)
    return value if value not in (float("inf"), float("-inf")) else _OVERSIZED


def _parse_constant(name: str):
    raise BadJsonBody("请求体不是合法的 JSON")  # NaN / Infinity are not JSON


def load_json_body(raw: bytes):
    """Parse a request body. Raises BadJsonBody (400) or ValidationError (422, per field)."""
    try:
        text = raw.decode("utf-8")
        data = json.loads(text, parse_int=_parse_int, parse_float=_parse_float,
                          parse_constant=_parse_constant)
    except RecursionError:
        raise BadJsonBody("请求体嵌套层级过深") from None
    except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
        raise BadJsonBody("请求体不是合法的 JSON") from None
    _check_tree(data)
    return data


_SURROGATES = re.compile("[\ud800-\udfff]")


def _safe_key(key: str) -> str:
    """The key as the answer can name it (the answer itself must be encodable)."""
    return key if is_storable(key) else _SURROGATES.sub("\ufffd", key)


def _check_tree(data):
    """Walk the parsed body without recursion: depth, unstorable strings (values and keys) and
    oversized numbers. Field errors are collected in marshmallow's nested shape."""
    errors: dict = {}
    blamed = 0

    def blame(path, message):
        nonlocal blamed
        blamed += 1
        path = path or ("_schema",)
        node = errors
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                return
        messages = node.setdefault(path[-1], [])
        if isinstance(messages, list) and message not in messages:
            messages.append(message)

    stack = [(data, ())]
    while stack and blamed < 20:  # enough to show the client; the answer stays small
        value, path = stack.pop()
        if len(path) > JSON_MAX_DEPTH:
            raise BadJsonBody("请求体嵌套层级过深")
        if isinstance(value, str):
            if not is_storable(value):
                blame(path, UNSTORABLE_TEXT)
        elif value is _OVERSIZED:
            blame(path, _NUMBER_TOO_LARGE)
        elif isinstance(value, dict):
            for key, item in value.items():
                safe = _safe_key(key)
                if safe is not key:
                    blame(path + (safe,), UNSTORABLE_TEXT)
                else:
                    stack.append((item, path + (key,)))
        elif isinstance(value, list):
            stack.extend((item, path + (index,)) for index, item in enumerate(value))
    if errors:
        raise ValidationError(errors)
