"""Subscriptions as the mini-program reports them, the staff template table, and how a
message's values are cut and formatted to WeChat's limits."""
import threading
from datetime import date, datetime

from app.extensions import db
from app.notifications.models import MessageTemplate
from app.notifications.services import notify
from app.notifications.templates import format_value, render
from tests.conftest import row_counts
from tests.notifications.conftest import messages, pushes, quota, run_worker, subscribe

SUBS = "/api/v1/subscriptions"
TEMPLATES = "/api/v1/staff/message-templates"


def _report(client, user, *results):
    return client.post(SUBS, headers=user["headers"], json={"results": [
        {"template_id": template_id, "result": result} for template_id, result in results]})


def _left(client, user):
    response = client.get(SUBS, headers=user["headers"])
    assert response.status_code == 200
    return {item["template_id"]: item["remaining"] for item in response.get_json()["items"]}


def test_accepts_add_up_ban_clears_reject_changes_nothing(client, alice, bob):
    assert _left(client, alice)["TMPL_REFUND"] == 0
    listed = client.get(SUBS, headers=alice["headers"]).get_json()["items"]
    refund = next(item for item in listed if item["template_id"] == "TMPL_REFUND")
    assert refund["title"] == "退款通知" and refund["events"] == ["refund_succeeded"]
    assert all(item["template_id"] != "TMPL_STAFF_TODO" for item in listed)  # staff only
    for _ in range(3):
        assert _report(client, alice, ("TMPL_REFUND", "accept"),
                       ("TMPL_VISIT_REMINDER", "reject")).status_code == 200
    left = _left(client, alice)
    assert left["TMPL_REFUND"] == 3 and left["TMPL_VISIT_REMINDER"] == 0
    assert _left(client, bob)["TMPL_REFUND"] == 0  # another user's count is theirs
    assert _report(client, alice, ("TMPL_REFUND", "filter")).get_json()["items"]
    assert _left(client, alice)["TMPL_REFUND"] == 3
    _report(client, alice, ("TMPL_REFUND", "ban"))
    assert _left(client, alice)["TMPL_REFUND"] == 0


def test_the_count_is_capped(client, app, alice):
    with app.app_context():
        from app.notifications.models import SubscriptionQuota

        db.session.add(SubscriptionQuota(user_id=alice["id"], template_id="TMPL_REFUND",
                                         remaining=100, accepted_total=100))
        db.session.commit()
        db.session.remove()
    _report(client, alice, ("TMPL_REFUND", "accept"))
    assert _left(client, alice)["TMPL_REFUND"] == 100


def test_concurrent_reports_all_count(app, alice):
    barrier = threading.Barrier(8)
    statuses = []

    def report():
        local = app.test_client()
        barrier.wait()
        for _ in range(5):
            statuses.append(_report(local, alice, ("TMPL_CARE_ORDER_STATUS", "accept"))
                            .status_code)

    threads = [threading.Thread(target=report) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 40
    assert quota(app, alice["id"], "TMPL_CARE_ORDER_STATUS") == 40


def test_bad_reports_are_refused_and_change_nothing(client, app, alice):
    before = row_counts(app)
    cases = [
        ({"results": [{"template_id": "TMPL_NOPE", "result": "accept"}]}, "unknown_template"),
        ({"results": [{"template_id": "TMPL_STAFF_TODO", "result": "accept"}]},
         "unknown_template"),
        ({"results": [{"template_id": "TMPL_REFUND", "result": "maybe"}]}, "validation_error"),
        ({"results": [{"template_id": "TMPL_REFUND", "result": "accept"}] * 2},
         "validation_error"),
        ({"results": []}, "validation_error"),
        ({"results": [{"template_id": "TMPL_REFUND", "result": "accept"}] * 11},
         "validation_error"),
        ({"results": [{"template_id": "x" * 65, "result": "accept"}]}, "validation_error"),
        ('{"results": [{"template_id": "TMPL_REFUND\\ud800", "result": "accept"}]}',
         "validation_error"),
        ({"results": "TMPL_REFUND"}, "validation_error"),
        ({}, "validation_error"),
    ]
    for body, code in cases:
        response = (client.post(SUBS, headers=alice["headers"], data=body,
                                content_type="application/json") if isinstance(body, str)
                    else client.post(SUBS, headers=alice["headers"], json=body))
        assert response.status_code == 422, (body, response.get_json())
        assert response.get_json()["error"]["code"] == code
        assert any("\u4e00" <= ch <= "\u9fff" for ch in response.get_json()["error"]["message"])
    assert client.post(SUBS, json={"results": []}).status_code == 401
    assert row_counts(app) == before


def test_staff_edit_a_template_and_the_next_push_uses_it(client, app, alice, staff_factory):
    operator = staff_factory("operator")
    listed = client.get(TEMPLATES, headers=operator["headers"]).get_json()["items"]
    booked = next(item for item in listed if item["event"] == "registration_booked")
    assert booked["channel"] == "subscribe" and not booked["customized"]
    assert booked["template_id"] == "TMPL_REGISTRATION_STATUS"
    assert next(item for item in listed if item["event"] == "refund_failed")["channel"] == \
        "official"
    response = client.patch(f"{TEMPLATES}/registration_booked", headers=operator["headers"], json={
        "template_id": "Ab3_-realTemplateId", "page": "packages/booking/registration/index?id={ref_id}",
        "fields": [{"key": "thing7", "source": "subject"}, {"key": "character_string2",
                                                             "source": "order_no"}]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["customized"] and response.get_json()["channel"] == "subscribe"
    subscribe(client, app, alice, "Ab3_-realTemplateId")
    with app.app_context():
        notify(alice["id"], "registration_booked", "预约成功", "正文", "registration", 9,
               context={"subject": "协和医院 心内科", "order_no": "R20261124000009"})
        db.session.commit()
        db.session.remove()
    run_worker(app)
    [message] = messages(app)
    assert message["template_id"] == "Ab3_-realTemplateId"
    assert message["page"] == "packages/booking/registration/index?id=9"
    assert message["data"] == {"thing7": {"value": "协和医院 心内科"},
                               "character_string2": {"value": "R20261124000009"}}


def test_a_disabled_template_sends_nothing(client, app, alice, staff_factory):
    operator = staff_factory("operator")
    subscribe(client, app, alice, "TMPL_REFUND")
    assert client.patch(f"{TEMPLATES}/refund_succeeded", headers=operator["headers"],
                        json={"enabled": False}).status_code == 200
    assert "TMPL_REFUND" not in _left(client, alice)  # nothing to ask for any more
    with app.app_context():
        notify(alice["id"], "refund_succeeded", "退款成功", "正文", "refund", 1)
        db.session.commit()
        db.session.remove()
    run_worker(app)
    assert pushes(app) == [] and messages(app) == []


def test_template_edits_are_checked_and_staff_only(client, app, alice, staff_factory):
    operator = staff_factory("operator")
    reviewer = staff_factory("reviewer")
    before = row_counts(app)
    bad = [
        ({"fields": [{"key": "thingy", "source": "subject"}]}, 422),
        ({"fields": [{"key": "thing1", "source": "patient_phone"}]}, 422),
        ({"fields": [{"key": "thing1", "source": "title"}, {"key": "thing1", "source": "body"}]},
         422),
        ({"fields": []}, 422),
        ({"template_id": "has space"}, 422),
        ({"page": "https://evil.example/x"}, 422),
        ({"channel": "official"}, 422),
        ({"title": ""}, 422),
    ]
    for body, status in bad:
        response = client.patch(f"{TEMPLATES}/refund_succeeded", headers=operator["headers"],
                                json=body)
        assert response.status_code == status, (body, response.get_json())
    response = client.patch(f"{TEMPLATES}/no_such_event", headers=operator["headers"],
                            json={"enabled": False})
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "template_event_not_found"
    assert client.get(TEMPLATES, headers=reviewer["headers"]).status_code == 403
    assert client.patch(f"{TEMPLATES}/refund_succeeded", headers=alice["headers"],
                        json={"enabled": False}).status_code in (401, 403)
    assert row_counts(app) == before
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(MessageTemplate)) == 0


def test_values_are_cut_and_formatted_to_wechat_limits():
    assert format_value("thing", "一" * 25) == "一" * 19 + "…"
    assert format_value("thing", "a\nb\tc") == "a b c"
    assert format_value("phrase", "预约成功了吗") == "预约成功了"
    assert format_value("name", "欧阳" * 6) == ("欧阳" * 6)[:10]
    assert format_value("character_string", "R" * 40) == "R" * 32
    assert format_value("amount", 12345) == "¥123.45"
    assert format_value("amount", 5) == "¥0.05"
    # stored times are naive UTC; WeChat shows Beijing time
    assert format_value("time", datetime(2026, 11, 24, 16, 30)) == "2026年11月25日 00:30"
    assert format_value("date", date(2026, 12, 1)) == "2026年12月01日"
    assert format_value("thing", None) == "-" and format_value("thing", "  ") == "-"
    assert render([{"key": "thing1", "source": "subject"}, {"key": "time2", "source": "gone"}],
                  {"subject": "陪诊"}) == {"thing1": {"value": "陪诊"}, "time2": {"value": "-"}}
