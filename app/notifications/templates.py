"""Events → WeChat templates: the defaults, and how a message's context fills a template.

Template ids come from the WeChat console (公众平台 → 订阅消息 / 模板消息). The defaults below
are placeholders the simulator accepts; staff replace them through
/api/v1/staff/message-templates. Several events share a template (one 订单状态通知 for every
step of an order), so a user's one 允许 covers the next step, whichever it is.

Context keys every message has: title, body (the inbox text) and time (when it happened).
Call sites add subject (what it is about: a hospital and department, a care order), status
(a short phrase), amount_fen, order_no, reason, and others; a field whose source is missing
shows "-".
"""
import re
from datetime import date, datetime, timezone
from urllib.parse import quote

from app.common.time import LOCAL_TZ

# WeChat's limits per value type (subscribe messages; official-account templates since 2023 use
# the same typed keys): characters, or None where the type has a format instead
FIELD_LIMITS = {"thing": 20, "phrase": 5, "name": 10, "character_string": 32, "number": 32,
                "letter": 32, "symbol": 5, "phone_number": 17, "car_number": 8, "amount": 12,
                "time": None, "date": None, "keyword": 20, "first": 20, "remark": 20}
FIELD_TYPES = tuple(sorted(FIELD_LIMITS, key=len, reverse=True))  # longest first for matching
CHANNELS = ("subscribe", "official")
# what a template field can show: the keys call sites put in a message's context
CONTEXT_SOURCES = ("title", "body", "time", "subject", "status", "reason", "amount_fen",
                   "order_no", "order_id")

ORDER_FIELDS = [{"key": "thing1", "source": "subject"}, {"key": "phrase2", "source": "status"},
                {"key": "time3", "source": "time"}, {"key": "thing4", "source": "body"}]
REVIEW_FIELDS = [{"key": "thing1", "source": "subject"}, {"key": "phrase2", "source": "status"},
                 {"key": "thing3", "source": "reason"}, {"key": "time4", "source": "time"}]
REFUND_FIELDS = [{"key": "thing1", "source": "subject"}, {"key": "amount2", "source": "amount_fen"},
                 {"key": "phrase3", "source": "status"}, {"key": "time4", "source": "time"}]
NOTICE_FIELDS = [{"key": "thing1", "source": "title"}, {"key": "thing2", "source": "body"},
                 {"key": "time3", "source": "time"}]
STAFF_FIELDS = [{"key": "thing1", "source": "title"}, {"key": "thing2", "source": "subject"},
                {"key": "character_string3", "source": "order_no"},
                {"key": "time4", "source": "time"}]

# The pages a message opens (WeChat's `page`): real mini-program pages, as declared in
# miniprogram/app.json, with the query each page reads in onLoad (miniprogram/utils/routes.js
# names them; tests/notifications/test_template_pages.py checks them against app.json).
REGISTRATION_PAGE = "packages/booking/registration/index?id={ref_id}"
CARE_ORDER_PAGE = "packages/care/order/index?id={order_id}"  # the family's order
CAREGIVER_ORDER_PAGE = "packages/caregiver/service/index?id={order_id}"  # the caregiver's
CAREGIVER_INBOX_PAGE = "packages/caregiver/inbox/index"
CAREGIVER_PROFILE_PAGE = "packages/caregiver/profile/index"
QUALIFICATIONS_PAGE = "packages/caregiver/qualifications/index"
REAL_NAME_PAGE = "packages/patients/real-name/index"
WAITLIST_PAGE = "packages/booking/waitlist/index"
INBOX_PAGE = "pages/inbox/index"  # a tab page: 消息

# template id → (title, fields, page with {ref_id} or a {context key}); then event → template id
_TEMPLATES = {
    "TMPL_REGISTRATION_STATUS": ("挂号状态通知", ORDER_FIELDS, REGISTRATION_PAGE),
    "TMPL_VISIT_REMINDER": ("就诊提醒", ORDER_FIELDS, REGISTRATION_PAGE),
    # a refund's ref is the refund, of a registration or a care order: the orders tab
    "TMPL_REFUND": ("退款通知", REFUND_FIELDS, "pages/orders/index"),
    "TMPL_CARE_ORDER_STATUS": ("陪护订单状态通知", ORDER_FIELDS, CARE_ORDER_PAGE),
    "TMPL_CARE_NEW_ORDER": ("新订单提醒", ORDER_FIELDS, CAREGIVER_INBOX_PAGE),
    "TMPL_REVIEW": ("评价通知", ORDER_FIELDS, CARE_ORDER_PAGE),
    "TMPL_DISPUTE": ("纠纷处理通知", ORDER_FIELDS, CARE_ORDER_PAGE),
    "TMPL_AUDIT_RESULT": ("审核结果通知", REVIEW_FIELDS, "pages/me/index"),
    "TMPL_CERT_EXPIRING": ("证件到期提醒", REVIEW_FIELDS, QUALIFICATIONS_PAGE),
    "TMPL_INCOME": ("收入到账通知", REFUND_FIELDS, "packages/caregiver/income/index"),
    "TMPL_ANNOUNCEMENT": ("平台公告", NOTICE_FIELDS, INBOX_PAGE),
    "TMPL_STAFF_TODO": ("待办事项提醒", STAFF_FIELDS, None),
    "TMPL_ACCOUNT_NOTICE": ("账号提醒", REVIEW_FIELDS, INBOX_PAGE),
    "TMPL_WAITLIST": ("候补结果通知", ORDER_FIELDS, WAITLIST_PAGE),
}

# events whose page is not their template's: the ones only a caregiver receives open the
# caregiver's pages, and an audit result opens what was audited (as the inbox does,
# miniprogram/utils/routes.js KIND_TARGETS)
_EVENT_PAGES = {
    "care_order_completed": CAREGIVER_ORDER_PAGE,
    "care_order_reviewed": CAREGIVER_ORDER_PAGE,
    "real_name_approved": REAL_NAME_PAGE,
    "real_name_rejected": REAL_NAME_PAGE,
    "caregiver_approved": CAREGIVER_PROFILE_PAGE,
    "caregiver_rejected": CAREGIVER_PROFILE_PAGE,
    "caregiver_revision_approved": CAREGIVER_PROFILE_PAGE,
    "caregiver_revision_rejected": CAREGIVER_PROFILE_PAGE,
    "caregiver_suspended": CAREGIVER_PROFILE_PAGE,
    "caregiver_reinstated": CAREGIVER_PROFILE_PAGE,
    "qualification_approved": QUALIFICATIONS_PAGE,
    "qualification_rejected": QUALIFICATIONS_PAGE,
}

_EVENTS = {
    "TMPL_REGISTRATION_STATUS": ["registration_booked", "registration_cancelled",
                                 "registration_closed", "schedule_stopped",
                                 "registration_no_show", "waitlist_offered"],
    "TMPL_VISIT_REMINDER": ["visit_reminder"],
    "TMPL_REFUND": ["refund_succeeded"],
    "TMPL_CARE_ORDER_STATUS": ["care_order_paid", "care_order_accepted",
                               "care_order_redispatched", "care_order_unmatched",
                               "care_order_reassigned", "care_service_started",
                               "care_service_record_added", "care_service_ended",
                               "care_order_completed", "care_order_cancelled",
                               "care_order_closed"],
    "TMPL_CARE_NEW_ORDER": ["care_order_offered"],
    "TMPL_REVIEW": ["care_order_reviewed", "care_review_replied"],
    "TMPL_DISPUTE": ["care_dispute_opened", "care_dispute_resolved"],
    "TMPL_AUDIT_RESULT": ["real_name_approved", "real_name_rejected", "caregiver_approved",
                          "caregiver_rejected", "caregiver_revision_approved",
                          "caregiver_revision_rejected", "qualification_approved",
                          "qualification_rejected", "caregiver_suspended",
                          "caregiver_reinstated"],
    "TMPL_CERT_EXPIRING": ["qualification_expiring"],
    "TMPL_INCOME": ["earnings_settled"],
    "TMPL_ANNOUNCEMENT": ["announcement"],
    "TMPL_ACCOUNT_NOTICE": ["user_warned"],
    "TMPL_WAITLIST": ["waitlist_ended"],
    "TMPL_STAFF_TODO": ["refund_failed", "care_dispute_opened_staff",
                        "caregiver_application_submitted", "hospital_webhook_disabled"],
}

STAFF_EVENTS = frozenset(_EVENTS["TMPL_STAFF_TODO"])


def default_templates() -> dict[str, dict]:
    """event → {channel, template_id, title, fields, page, enabled}: what the migration seeds and
    what applies to an event without a row."""
    defaults = {}
    for template_id, events in _EVENTS.items():
        title, fields, page = _TEMPLATES[template_id]
        for event in events:
            defaults[event] = {
                "event": event, "template_id": template_id, "title": title,
                "channel": "official" if event in STAFF_EVENTS else "subscribe",
                "fields": [dict(field) for field in fields],
                "page": _EVENT_PAGES.get(event, page), "enabled": True}
    return defaults


def field_type(key: str) -> str:
    """thing1 → thing, character_string12 → character_string."""
    return key.rstrip("0123456789")


def _local(moment) -> datetime:
    if isinstance(moment, datetime) and moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # stored times are naive UTC
    return moment.astimezone(LOCAL_TZ)


def format_value(kind: str, value) -> str:
    """A context value as WeChat accepts it for a field of type `kind`, cut to its limit."""
    if value is None or value == "":
        return "-"
    if kind == "time":
        if isinstance(value, datetime):
            return _local(value).strftime("%Y年%m月%d日 %H:%M")
        if isinstance(value, date):
            return value.strftime("%Y年%m月%d日")
    elif kind == "date":
        if isinstance(value, datetime):
            return _local(value).strftime("%Y年%m月%d日")
        if isinstance(value, date):
            return value.strftime("%Y年%m月%d日")
    elif kind == "amount" and isinstance(value, int) and not isinstance(value, bool):
        return f"¥{value // 100}.{value % 100:02d}"  # context amounts are integer fen
    text = " ".join(str(value).split())  # WeChat shows one line; no newlines in values
    limit = FIELD_LIMITS.get(kind, 20)
    if limit and len(text) > limit:
        text = text[:limit - 1] + "…" if kind in ("thing", "keyword", "first", "remark") \
            else text[:limit]
    return text or "-"


def render(fields: list, context: dict) -> dict:
    """{"thing1": {"value": "..."}, ...} for a template's field list and a message's context."""
    return {field["key"]: {"value": format_value(field_type(field["key"]),
                                                 context.get(field["source"]))}
            for field in fields}


def render_page(page: str | None, ref_type: str, ref_id: int, context: dict | None = None):
    """The page with {ref_id}, {ref_type} and any {context key} filled in (a care review's
    message opens its order: {order_id}); a placeholder with no value falls back to ref_id."""
    if not page:
        return None
    values = {"ref_type": ref_type, "ref_id": ref_id, **(context or {})}
    return re.sub(r"\{(\w+)\}", lambda match: quote(str(values.get(match.group(1), ref_id)),
                                                    safe=""), page)
