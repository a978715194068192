"""Platform settings (price standards, commission, booking rules, timeouts, message templates)
and announcements with their progress. Admins only.

Forms show yuan, percent, minutes and hours; they are turned into the API's units (fen, basis
points) and loaded through the API's own schemas, then handed to the same services the staff API
calls. A policy form sends only what changed, so a value nobody touched keeps following the
config's default."""
import re
from decimal import Decimal, InvalidOperation

from flask import current_app, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from app.announcements import services as announcement_services
from app.announcements.models import SEGMENTS
from app.announcements.schemas import AnnouncementCreateSchema
from app.care_orders import staff_services as care_services
from app.care_orders.staff_schemas import CarePolicyUpdateSchema, MAX_DISCOUNT_TIERS
from app.caregivers import services as caregiver_services
from app.caregivers.models import CARE_TYPES, PRICE_UNITS
from app.caregivers.schemas import CarePriceLimitsWriteSchema
from app.common.auth import current_staff
from app.common.validation import localize_messages
from app.console.views import bp, done, fen_from_yuan, page_arg, role_required
from app.errors import ValidationFailed
from app.notifications import services as notification_services
from app.notifications.schemas import MessageTemplateUpdateSchema
from app.notifications.templates import CONTEXT_SOURCES
from app.settings import booking_rules as booking_rule_services
from app.settings.schemas import RegistrationRulesUpdateSchema

MAX_TEMPLATE_FIELDS = 10  # MessageTemplateUpdateSchema's limit
CHANNEL_NAMES = {"subscribe": "小程序订阅消息", "official": "公众号模板消息"}
SOURCE_NAMES = {"title": "标题", "body": "正文", "time": "时间", "subject": "事项", "status": "状态",
                "reason": "原因", "amount_fen": "金额", "order_no": "订单号", "order_id": "订单 ID"}

# form field → (label, unit): "int" as typed, "yuan" → fen, "percent" → basis points
CARE_POLICY_FIELDS = {
    "commission_bp": ("平台服务费(%)", "percent"),
    "settlement_hold_days": ("结算等待天数", "int"),
    "cancel_after_accept_refund_bp": ("接单后取消退款比例(%)", "percent"),
    "urgent_hours": ("急单时限(小时)", "int"),
    "urgent_surcharge_bp": ("急单加价(%)", "percent"),
    "dispatch_night_surcharge_fen": ("派单夜间加价(元/晚)", "yuan"),
    "max_dispatches": ("最多派单次数", "int"),
    "start_early_minutes": ("提前签到(分钟)", "int"),
    **{f"dispatch_prices.{care_type}": (f"派单价·{name}(元/{PRICE_UNITS[unit]})", "yuan")
       for care_type, (name, unit) in CARE_TYPES.items()},
}
TIMEOUT_FIELDS = {"accept_minutes": ("护工接单时限(分钟)", "int"),
                  "auto_complete_hours": ("自动确认完成(小时)", "int")}
BOOKING_FIELDS = {"daily_limit": ("每日预约上限", "int"),
                  "no_show_limit": ("爽约次数", "int"),
                  "no_show_window_days": ("爽约统计期(天)", "int"),
                  "no_show_block_days": ("暂停预约(天)", "int")}
PRICE_FIELDS = {f"limits.{care_type}.{bound}_fen": (
    f"{name}{'最低' if bound == 'min' else '最高'}价(元/{PRICE_UNITS[unit]})", "yuan")
    for care_type, (name, unit) in CARE_TYPES.items() for bound in ("min", "max")}
TEMPLATE_LABELS = {"template_id": "模板 ID", "title": "模板名称", "fields": "字段", "page": "页面"}
ANNOUNCEMENT_LABELS = {"title": "标题", "body": "正文", "page": "页面", "segment": "发送范围",
                       "city_code": "城市代码", "date_from": "开始日期", "date_to": "结束日期"}


# ---- form values in the API's units ------------------------------------------------------------

def _refuse(field: str, label: str, message: str):
    raise ValidationFailed.for_field(field, f"{label}:{message}")


def _form_int(field: str, label: str) -> int | None:
    text = request.form.get(field, "").strip()
    if not text:
        return None  # the schema says whether the field may be left out
    if not re.fullmatch(r"-?[0-9]{1,9}", text):
        _refuse(field, label, "请输入整数")
    return int(text)


def _form_percent(field: str, label: str) -> int | None:
    """12.5 (%) → 1250 basis points."""
    text = request.form.get(field, "").strip().rstrip("%").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
        valid = abs(amount) <= 1_000_000 and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        valid = False
    if not valid:
        _refuse(field, label, "请输入百分比(最多两位小数)")
    return int(amount * 100)


def _form_yuan(field: str, label: str) -> int | None:
    try:
        return fen_from_yuan(request.form.get(field))
    except ValidationFailed:
        _refuse(field, label, "请输入正确的金额(元,最多两位小数)")


def _form_value(field: str, spec: tuple) -> int | None:
    label, unit = spec
    return {"int": _form_int, "percent": _form_percent, "yuan": _form_yuan}[unit](field, label)


def _human_units(message: str, unit: str) -> str:
    """A range message in fen or basis points ("取值应在 0 到 10000 之间") in yuan or percent."""
    if not isinstance(message, str):
        return message
    if "万分比" in message:  # the discount tiers' own check names its unit
        unit, message = "percent", message.replace("万分比", "比例(%)")
    if unit == "int":
        return message
    return re.sub(r"-?\d+", lambda match: _hundredths(int(match.group())), message)


def _flatten(messages, path=""):
    if isinstance(messages, dict):
        for key, value in messages.items():
            if key == "value" and path:  # a Dict field's values: the entry's own path
                yield from _flatten(value, path)
                continue
            yield from _flatten(value, f"{path}.{key}" if path else str(key))
    elif isinstance(messages, list):
        for message in messages:
            yield from _flatten(message, path)
    else:
        yield path, messages


def _load(schema, data: dict, labels: dict):
    """`data` through the API's schema; a refusal names the form's field in its units."""
    try:
        return schema().load(data)
    except ValidationError as error:
        parts, details = [], {}
        for path, message in _flatten(localize_messages(error.normalized_messages())):
            spec = labels.get(path) or labels.get(path.split(".")[0]) or (path, "int")
            label, unit = spec if isinstance(spec, tuple) else (spec, "int")
            text = _human_units(message, unit)
            parts.append(f"{label}:{text}" if path and path != "_schema" else str(text))
            details.setdefault(path or "_schema", []).append(text)
        raise ValidationFailed("；".join(parts), details=details) from None


def _spelled_out(error: ValidationFailed, labels: dict) -> ValidationFailed:
    """A service's refusal with its per-field details in the message (the page shows only the
    message), e.g. which dispatch price lies outside the price standards."""
    parts = []
    for path, message in _flatten(error.details):
        spec = labels.get(path) or labels.get(path.split(".")[0]) or (path, "int")
        parts.append(f"{spec[0] if isinstance(spec, tuple) else spec}:{message}")
    if not parts:
        return error
    return ValidationFailed(f"{error.message}:{'；'.join(parts)}", code=error.code,
                            details=error.details)


def _unchanged(endpoint: str, **values):
    flash("没有修改任何内容", "warn")
    return redirect(url_for(endpoint, **values), code=303)


def _yuan_text(fen) -> str:
    return "" if fen is None else f"{Decimal(fen) / 100:.2f}"


def _hundredths(number: int) -> str:
    """2000 → "20", 1250 → "12.5", 1 → "0.01" (basis points as percent, fen as yuan)."""
    text = f"{Decimal(number) / 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent_text(basis_points) -> str:
    return "" if basis_points is None else _hundredths(basis_points)


@bp.app_template_filter("console_percent")
def _percent_filter(basis_points):
    return _percent_text(basis_points)


@bp.app_template_filter("console_yuan_input")
def _yuan_filter(fen):
    return _yuan_text(fen)


# ---- the index ---------------------------------------------------------------------------------

@bp.get("/settings")
@role_required("admin")
def settings():
    staff = current_staff()
    templates = notification_services.list_templates(staff)["items"]
    return render_template(
        "console/settings.html", prices=caregiver_services.get_price_standards(staff),
        policy=care_services.get_policy(staff),
        booking=booking_rule_services.get_booking_rules(staff),
        payment_ttl_minutes=current_app.config["PAYMENT_TTL_SECONDS"] // 60,
        template_count=len(templates),
        templates_off=sum(1 for template in templates if not template["enabled"]),
        templates_customized=sum(1 for template in templates if template["customized"]),
        care_types=CARE_TYPES, price_units=PRICE_UNITS)


# ---- price standards ---------------------------------------------------------------------------

@bp.get("/settings/prices")
@role_required("admin")
def settings_prices():
    return render_template("console/settings_prices.html", care_types=CARE_TYPES,
                           price_units=PRICE_UNITS,
                           standards=caregiver_services.get_price_standards(current_staff()))


@bp.post("/settings/prices")
@role_required("admin")
def settings_prices_save():
    limits = {care_type: {f"{bound}_fen": _form_value(field, PRICE_FIELDS[field])
                          for bound in ("min", "max")
                          for field in [f"limits.{care_type}.{bound}_fen"]}
              for care_type in CARE_TYPES}
    body = _load(CarePriceLimitsWriteSchema, {"limits": limits}, PRICE_FIELDS)
    saved = caregiver_services.set_price_standards(current_staff(), limits=body["limits"])
    outside = saved["prices_outside"]
    return done("已保存服务价格标准" + (f",现有 {outside} 个护工报价超出新标准(保留不变,下次修改时须符合)"
                                    if outside else ""), "console.settings_prices")


# ---- the care policy: commission, surcharges, discounts, dispatch prices -----------------------

def _policy_changes(loaded: dict, current: dict) -> dict:
    """Only what differs from the effective policy (dispatch prices per type)."""
    changes = {}
    for key, value in loaded.items():
        if key == "dispatch_prices":
            prices = {care_type: price for care_type, price in value.items()
                      if current[key].get(care_type) != price}
            if prices:
                changes[key] = prices
        elif key == "long_order_discounts":
            if sorted(map(list, value)) != sorted(map(list, current[key])):
                changes[key] = value
        elif current.get(key) != value:
            changes[key] = value
    return changes


def _discount_rows() -> list[list[int]]:
    """The tier rows typed (units, percent off); a row left blank is no tier."""
    tiers = []
    for index in range(MAX_DISCOUNT_TIERS):
        units_field, percent_field = f"tier_units.{index}", f"tier_percent.{index}"
        if not request.form.get(units_field, "").strip() \
                and not request.form.get(percent_field, "").strip():
            continue
        units = _form_int(units_field, f"长单优惠第 {index + 1} 档起始单位数")
        off = _form_percent(percent_field, f"长单优惠第 {index + 1} 档优惠(%)")
        if units is None or off is None:
            _refuse(units_field if units is None else percent_field,
                    f"长单优惠第 {index + 1} 档", "请同时填写起始单位数和优惠比例")
        tiers.append([units, off])
    return tiers


@bp.get("/settings/care-policy")
@role_required("admin")
def settings_care_policy():
    policy = care_services.get_policy(current_staff())
    tiers = sorted(policy["long_order_discounts"])
    return render_template("console/settings_care_policy.html", policy=policy,
                           care_types=CARE_TYPES, price_units=PRICE_UNITS,
                           tiers=tiers + [None] * (MAX_DISCOUNT_TIERS - len(tiers)))


@bp.post("/settings/care-policy")
@role_required("admin")
def settings_care_policy_save():
    data = {"dispatch_prices": {}}
    for field, spec in CARE_POLICY_FIELDS.items():
        value = _form_value(field, spec)
        if field.startswith("dispatch_prices."):
            data["dispatch_prices"][field.split(".", 1)[1]] = value
        else:
            data[field] = value
    data["long_order_discounts"] = _discount_rows()
    loaded = _load(CarePolicyUpdateSchema, data,
                   {**CARE_POLICY_FIELDS, "long_order_discounts": "长单优惠"})
    staff = current_staff()
    changes = _policy_changes(loaded, care_services.get_policy(staff))
    if not changes:
        return _unchanged("console.settings_care_policy")
    try:
        care_services.update_policy(staff, changes=changes)
    except ValidationFailed as error:
        raise _spelled_out(error, CARE_POLICY_FIELDS) from None
    return done("已保存陪护规则,对之后的报价和订单生效", "console.settings_care_policy")


# ---- timeouts ----------------------------------------------------------------------------------

@bp.get("/settings/timeouts")
@role_required("admin")
def settings_timeouts():
    return render_template("console/settings_timeouts.html",
                           policy=care_services.get_policy(current_staff()),
                           payment_ttl_seconds=current_app.config["PAYMENT_TTL_SECONDS"])


@bp.post("/settings/timeouts")
@role_required("admin")
def settings_timeouts_save():
    data = {field: _form_value(field, spec) for field, spec in TIMEOUT_FIELDS.items()}
    loaded = _load(CarePolicyUpdateSchema, data, TIMEOUT_FIELDS)
    staff = current_staff()
    changes = _policy_changes(loaded, care_services.get_policy(staff))
    if not changes:
        return _unchanged("console.settings_timeouts")
    care_services.update_policy(staff, changes=changes)
    return done("已保存超时设置,对之后的订单生效", "console.settings_timeouts")


# ---- booking rules (挂号) ------------------------------------------------------------------------

@bp.get("/settings/booking")
@role_required("admin")
def settings_booking():
    return render_template("console/settings_booking.html",
                           rules=booking_rule_services.get_booking_rules(current_staff()),
                           bounds=booking_rule_services.BOUNDS)


@bp.post("/settings/booking")
@role_required("admin")
def settings_booking_save():
    data = {field: _form_value(field, spec) for field, spec in BOOKING_FIELDS.items()}
    loaded = _load(RegistrationRulesUpdateSchema, data, BOOKING_FIELDS)
    staff = current_staff()
    current = booking_rule_services.get_booking_rules(staff)
    changes = {key: value for key, value in loaded.items() if current.get(key) != value}
    if not changes:
        return _unchanged("console.settings_booking")
    booking_rule_services.update_booking_rules(staff, changes=changes)
    return done("已保存挂号规则,对之后的预约生效", "console.settings_booking")


# ---- message templates -------------------------------------------------------------------------

def _template(event: str) -> dict:
    for template in notification_services.list_templates(current_staff())["items"]:
        if template["event"] == event:
            return template
    raise notification_services.TemplateEventNotFound()


@bp.get("/settings/templates")
@role_required("admin")
def settings_templates():
    return render_template("console/settings_templates.html", channels=CHANNEL_NAMES,
                           templates=notification_services.list_templates(current_staff())["items"])


@bp.get("/settings/templates/<string:event>")
@role_required("admin")
def settings_template(event):
    template = _template(event)
    rows = list(template["fields"])
    return render_template("console/settings_template.html", t=template, channels=CHANNEL_NAMES,
                           sources=SOURCE_NAMES, source_keys=CONTEXT_SOURCES,
                           rows=rows + [None] * max(0, MAX_TEMPLATE_FIELDS - len(rows)))


@bp.post("/settings/templates/<string:event>")
@role_required("admin")
def settings_template_save(event):
    current = _template(event)
    fields_ = []
    for index in range(MAX_TEMPLATE_FIELDS):
        key = request.form.get(f"field_key.{index}", "").strip()
        source = request.form.get(f"field_source.{index}", "").strip()
        if key or source:
            fields_.append({"key": key, "source": source})
    body = {"template_id": request.form.get("template_id", "").strip(),
            "title": request.form.get("title", ""),
            "page": request.form.get("page", "").strip() or None,
            "enabled": request.form.get("enabled") == "on", "fields": fields_}
    loaded = _load(MessageTemplateUpdateSchema, body, TEMPLATE_LABELS)
    changes = {key: value for key, value in loaded.items()
               if value != current["fields" if key == "fields_" else key]}
    if not changes:
        return _unchanged("console.settings_template", event=event)
    notification_services.update_template(current_staff(), event=event, changes=changes)
    return done(f"已保存消息模板 {event}", "console.settings_template", event=event)


# ---- announcements -----------------------------------------------------------------------------

@bp.get("/announcements")
@role_required("admin")
def announcements():
    result = announcement_services.list_announcements(current_staff(), page=page_arg(),
                                                      page_size=20)
    return render_template("console/announcements.html", result=result, segments=SEGMENTS)


@bp.post("/announcements")
@role_required("admin")
def announcement_create():
    form = request.form
    body = {"title": form.get("title", ""), "body": form.get("body", ""),
            "segment": form.get("segment", "")}
    for optional in ("page", "city_code", "date_from", "date_to"):
        body[optional] = form.get(optional, "").strip() or None
    loaded = _load(AnnouncementCreateSchema, body, ANNOUNCEMENT_LABELS)
    created = announcement_services.create_announcement(current_staff(), **loaded)
    return done(f"公告已开始发送,共 {created['total']} 位收件人", "console.announcement_detail",
                announcement_id=created["id"])


@bp.get("/announcements/<int:announcement_id>")
@role_required("admin")
def announcement_detail(announcement_id):
    announcement = announcement_services.get_announcement(current_staff(),
                                                          announcement_id=announcement_id)
    return render_template("console/announcement.html", a=announcement, segments=SEGMENTS)
