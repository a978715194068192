"""Settings in the console (admins only): each form changes the effective setting through its
service, bad input is a 422 page with the error code and changes nothing, and every save is in
the audit log as a console action by that admin."""
import re

import pytest
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.care_orders.pricing import care_policy
from app.caregivers.services import price_limits
from app.extensions import db
from app.notifications.delivery import template_for
from app.settings.booking_rules import booking_rules
from app.settings.models import PlatformSetting
from tests.console.conftest import post, text

INPUT = re.compile(r'<input[^>]*\bname="([^"]+)"[^>]*\bvalue="([^"]*)"')
PAGES = ["/console/settings", "/console/settings/prices", "/console/settings/care-policy",
         "/console/settings/timeouts", "/console/settings/booking",
         "/console/settings/templates", "/console/settings/templates/announcement"]


def form(client, page) -> dict:
    """The form's fields as the page fills them in (what a browser would send unchanged)."""
    html = text(client.get(page))
    return {name: value for name, value in INPUT.findall(html) if name != "csrf_token"}


def effective(app, read):
    with app.app_context():
        value = read()
        db.session.remove()
    return value


def stored(app, key):
    with app.app_context():
        row = db.session.get(PlatformSetting, key)
        value = None if row is None else row.value
        db.session.remove()
    return value


def audited(app, staff_id) -> list[str]:
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).where(
            AuditEntry.staff_id == staff_id, AuditEntry.source == "console")).all()
        db.session.remove()
    return actions


def refused(response, code="validation_error"):
    assert response.status_code == 422, text(response)[:500]
    assert f'data-error-code="{code}"' in text(response), text(response)[:800]
    return text(response)


@pytest.fixture
def admin(console):
    return console("admin")


def test_every_page_renders_for_an_admin(admin):
    client, _ = admin
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, (page, text(response)[:300])
    index = text(client.get("/console/settings"))
    assert 'href="/console/settings"' in index  # the nav links the page now it exists
    for section in ("prices", "care-policy", "booking", "timeouts", "templates"):
        assert f'id="section-{section}"' in index
    assert client.get("/console/settings/templates/no_such_event").status_code == 404


@pytest.mark.parametrize("role", ["operator", "reviewer"])
def test_operators_and_reviewers_get_the_403_page(app, console, role):
    client, _ = console(role)
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 403 and 'data-error-code="forbidden"' in text(response)
    for page, data in (("/console/settings/prices", {}),
                       ("/console/settings/care-policy", {"commission_bp": "1"}),
                       ("/console/settings/timeouts", {"accept_minutes": "45"}),
                       ("/console/settings/booking", {"daily_limit": "1"}),
                       ("/console/settings/templates/announcement", {"enabled": ""})):
        assert post(client, page, data).status_code == 403
    assert 'href="/console/settings"' not in text(client.get("/console/"))
    assert stored(app, "booking_rules") is None and stored(app, "care_policy") is None


def test_price_standards(app, admin):
    client, staff_id = admin
    page = "/console/settings/prices"
    data = form(client, page)
    assert data["limits.full_day.min_fen"] == "150.00"  # the config's 15000 fen, in yuan
    for bad, code in (({"limits.full_day.min_fen": "abc"}, "validation_error"),
                      ({"limits.full_day.min_fen": "1.234"}, "validation_error"),
                      ({"limits.full_day.min_fen": ""}, "validation_error"),
                      ({"limits.full_day.min_fen": "0"}, "validation_error"),
                      ({"limits.hourly.min_fen": "900", "limits.hourly.max_fen": "800"},
                       "validation_error")):
        html = refused(post(client, page, {**data, **bad}, page=page), code)
        assert "最" in html  # the field is named (最低价 / 最高价)
    assert stored(app, "care_price_limits") is None

    saved = post(client, page, {**data, "limits.full_day.min_fen": "120",
                                "limits.full_day.max_fen": "888.88"}, page=page)
    assert saved.status_code == 303, text(saved)[:500]
    assert effective(app, price_limits)["full_day"] == (12000, 88888)
    assert "已保存服务价格标准" in text(client.get(saved.headers["Location"]))
    assert form(client, page)["limits.full_day.max_fen"] == "888.88"
    assert page in audited(app, staff_id)


def test_commission_and_the_care_policy(app, admin):
    client, staff_id = admin
    page = "/console/settings/care-policy"
    data = form(client, page)
    assert data["commission_bp"] == "20" and data["dispatch_prices.full_day"] == "300.00"
    assert (data["tier_units.0"], data["tier_percent.0"]) == ("7", "5")
    assert data["tier_units.2"] == ""
    for bad, code, shown in (
            ({"commission_bp": "120"}, "validation_error", "0 到 100"),  # percent, not bp
            ({"commission_bp": "abc"}, "validation_error", "平台服务费"),
            ({"commission_bp": "12.345"}, "validation_error", "平台服务费"),
            ({"settlement_hold_days": "0"}, "validation_error", "结算等待天数"),
            ({"settlement_hold_days": ""}, "validation_error", "结算等待天数"),
            ({"tier_units.2": "60"}, "validation_error", "第 3 档"),
            ({"tier_units.1": "7"}, "validation_error", "不能重复"),
            ({"dispatch_prices.full_day": "99999"}, "price_out_of_range", "派单价")):
        html = refused(post(client, page, {**data, **bad}, page=page), code)
        assert shown in html, (bad, html[:1500])
    assert stored(app, "care_policy") is None

    unchanged = post(client, page, data, page=page)
    assert unchanged.status_code == 303 and stored(app, "care_policy") is None
    assert "没有修改任何内容" in text(client.get(unchanged.headers["Location"]))

    saved = post(client, page, {**data, "commission_bp": "15.5", "dispatch_prices.hourly": "65",
                                "tier_units.1": "", "tier_percent.1": "",
                                "tier_units.2": "14", "tier_percent.2": "7.5"}, page=page)
    assert saved.status_code == 303, text(saved)[:500]
    policy = effective(app, care_policy)
    assert policy["commission_bp"] == 1550
    assert policy["dispatch_prices"]["hourly"] == 6500
    assert policy["dispatch_prices"]["full_day"] == 30000
    assert policy["long_order_discounts"] == [[7, 500], [14, 750]]
    # only what changed is saved: the rest keeps following the config's defaults
    assert set(stored(app, "care_policy")) == {"commission_bp", "dispatch_prices",
                                               "long_order_discounts"}
    assert form(client, page)["commission_bp"] == "15.5"
    assert page in audited(app, staff_id)


def test_timeouts(app, admin):
    client, staff_id = admin
    page = "/console/settings/timeouts"
    html = text(client.get(page))
    assert 'id="payment-ttl">15 分钟<' in html  # config, read-only: no input for it
    assert "PAYMENT_TTL" not in "".join(form(client, page))
    data = form(client, page)
    assert data == {"accept_minutes": "30", "auto_complete_hours": "24"}
    for bad in ({"accept_minutes": "4"}, {"accept_minutes": "1441"},
                {"auto_complete_hours": "1.5"}, {"auto_complete_hours": "9" * 12}):
        refused(post(client, page, {**data, **bad}, page=page))
    assert stored(app, "care_policy") is None

    saved = post(client, page, {"accept_minutes": "45", "auto_complete_hours": "12"}, page=page)
    assert saved.status_code == 303, text(saved)[:500]
    policy = effective(app, care_policy)
    assert (policy["accept_minutes"], policy["auto_complete_hours"]) == (45, 12)
    assert page in audited(app, staff_id)


def test_booking_rules(app, admin):
    client, staff_id = admin
    page = "/console/settings/booking"
    data = form(client, page)
    assert data == {"daily_limit": "3", "no_show_window_days": "90", "no_show_limit": "3",
                    "no_show_block_days": "30"}
    for bad, shown in (({"daily_limit": "0"}, "应为 1 到 20 之间的整数"),
                       ({"daily_limit": "x"}, "请输入整数"),
                       ({"no_show_window_days": "400"}, "爽约统计期"),
                       ({"no_show_block_days": ""}, "暂停预约")):
        assert shown in refused(post(client, page, {**data, **bad}, page=page))
    assert stored(app, "booking_rules") is None

    saved = post(client, page, {**data, "daily_limit": "5", "no_show_block_days": "14"},
                 page=page)
    assert saved.status_code == 303, text(saved)[:500]
    assert effective(app, booking_rules) == {"daily_limit": 5, "no_show_limit": 3,
                                             "no_show_window_days": 90,
                                             "no_show_block_days": 14}
    assert stored(app, "booking_rules") == {"daily_limit": 5, "no_show_block_days": 14}
    assert "每人每日 5 个号" in text(client.get("/console/settings"))
    assert page in audited(app, staff_id)


def test_message_templates(app, admin):
    client, staff_id = admin
    listing = text(client.get("/console/settings/templates"))
    assert 'id="template-announcement"' in listing
    page = "/console/settings/templates/announcement"
    data = form(client, page)
    assert data["template_id"] == "TMPL_ANNOUNCEMENT" and data["field_key.0"] == "thing1"
    fields = {"field_source.0": "title", "field_source.1": "body", "field_source.2": "time"}
    base = {**data, **fields, "enabled": "on"}
    for bad in ({"template_id": "含空格 的id"}, {"title": ""}, {"page": "https://evil.example"},
                {"field_key.1": "thing1"}, {"field_key.3": "bogus4", "field_source.3": "title"},
                {"field_key.3": "thing4"}):
        refused(post(client, page, {**base, **bad}, page=page))
    assert effective(app, lambda: template_for("announcement"))["customized"] is False

    changed = {**base, "template_id": "REAL-TMPL-001", "title": "平台通知",
               "field_key.3": "thing4", "field_source.3": "subject"}
    del changed["enabled"]  # the switch turned off: a browser sends no value for it
    saved = post(client, page, changed, page=page)
    assert saved.status_code == 303, text(saved)[:500]
    template = effective(app, lambda: template_for("announcement"))
    assert template["template_id"] == "REAL-TMPL-001" and template["title"] == "平台通知"
    assert template["enabled"] is False and template["customized"] is True
    assert template["fields"][-1] == {"key": "thing4", "source": "subject"}
    assert "已关闭" in text(client.get("/console/settings/templates"))
    assert page in audited(app, staff_id)
