"""Orders say what happened (issue 8, item 15): status and its Chinese name, a pending order's
pay deadline, the reason of a 停诊, the refunds with amount and times; the status filter takes
several values; a page of orders costs the same number of queries whatever its size."""
import re
from datetime import datetime

from sqlalchemy import event

from app.extensions import db
from app.payments.models import Payment
from tests.booking.conftest import book, pay
from tests.payments.conftest import run_jobs, wait_for

API = "/api/v1/registrations"
LOCAL_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


def _detail(client, person, registration_id):
    response = client.get(f"{API}/{registration_id}", headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _listed(client, person, query=""):
    response = client.get(f"{API}{query}", headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _refunded(client, person, registration_id):
    """Let the worker send the refund, then wait for WeChat's answer to settle it."""
    run_jobs(client.application)
    assert wait_for(lambda: _detail(client, person, registration_id)["status"] == "refunded")
    return _detail(client, person, registration_id)


def test_pending_order_shows_its_pay_deadline(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"](fee_fen=2500)
    person, = verified(1)
    booked = book(client, person, schedule_id)
    assert booked.status_code == 201, booked.get_json()
    body = booked.get_json()
    with app.app_context():
        expires_at = db.session.get(Payment, body["payment"]["id"]).expires_at
        db.session.remove()
    registration = body["registration"]
    assert registration["status"] == "pending_payment" and registration["status_name"] == "待支付"
    assert LOCAL_ISO.match(registration["pay_deadline"]), registration["pay_deadline"]
    deadline = datetime.fromisoformat(registration["pay_deadline"])
    assert deadline.utcoffset().total_seconds() == 8 * 3600
    assert deadline.replace(tzinfo=None) - deadline.utcoffset() == expires_at.replace(
        microsecond=0)
    assert registration["pay_deadline"] == body["payment"]["expires_at"]
    detail = _detail(client, person, registration["id"])
    assert detail["pay_deadline"] == registration["pay_deadline"]
    assert (detail["refunds"], detail["refunded_fen"], detail["stop_reason"]) == ([], 0, None)
    [listed] = _listed(client, person)["items"]
    assert listed["pay_deadline"] == registration["pay_deadline"]
    # once paid there is no deadline any more
    pay(app, body)
    paid = _detail(client, person, registration["id"])
    assert paid["status"] == "booked" and paid["status_name"] == "已预约"
    assert paid["pay_deadline"] is None and LOCAL_ISO.match(paid["paid_at"])


def test_cancelled_unpaid_order_says_cancelled(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"]()
    person, = verified(1)
    registration_id = book(client, person, schedule_id).get_json()["registration"]["id"]
    response = client.post(f"{API}/{registration_id}/cancel", headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    for shown in (response.get_json(), _detail(client, person, registration_id)):
        assert (shown["status"], shown["status_name"]) == ("cancelled", "已取消")
        assert shown["pay_deadline"] is None and LOCAL_ISO.match(shown["cancelled_at"])
        assert (shown["refunds"], shown["refunded_fen"], shown["closed_at"]) == ([], 0, None)


def test_refunded_order_shows_amount_and_times(client, app, catalogue, verified):
    schedule_id = catalogue["schedule"](fee_fen=3200)
    person, = verified(1)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    registration_id = body["registration"]["id"]
    cancelled = client.post(f"{API}/{registration_id}/cancel", headers=person["headers"])
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"
    detail = _refunded(client, person, registration_id)
    assert detail["status_name"] == "已退款" and LOCAL_ISO.match(detail["refunded_at"])
    assert detail["refunded_fen"] == 3200 and detail["pay_deadline"] is None
    [refund] = detail["refunds"]
    assert (refund["amount_fen"], refund["status"], refund["status_name"]) == (
        3200, "succeeded", "已退款")
    assert LOCAL_ISO.match(refund["requested_at"]) and LOCAL_ISO.match(refund["succeeded_at"])
    assert refund["requested_at"] <= refund["succeeded_at"]
    [listed] = _listed(client, person, "?status=refunded")["items"]
    assert listed["refunds"] == detail["refunds"] and listed["refunded_fen"] == 3200


def test_stopped_order_carries_its_reason_then_its_refund(client, app, catalogue, verified,
                                                          staff_factory):
    schedule_id = catalogue["schedule"](fee_fen=1800)
    person, unpaid = verified(2)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    registration_id = body["registration"]["id"]
    unpaid_id = book(client, unpaid, schedule_id).get_json()["registration"]["id"]
    operator = staff_factory("operator")
    stopped = client.post(f"/api/v1/staff/schedules/{schedule_id}/stop",
                          json={"reason": "医生临时出诊任务"}, headers=operator["headers"])
    assert stopped.status_code == 200, stopped.get_json()
    detail = _detail(client, person, registration_id)
    assert (detail["status"], detail["status_name"]) == ("stopped", "已停诊")
    assert detail["stop_reason"] == "医生临时出诊任务" and LOCAL_ISO.match(detail["stopped_at"])
    # the refund is reserved with the stop and shown as under way until WeChat settles it
    [pending] = detail["refunds"]
    assert (pending["amount_fen"], pending["status"], pending["status_name"]) == (
        1800, "processing", "退款中")
    assert LOCAL_ISO.match(pending["requested_at"]) and pending["succeeded_at"] is None
    assert detail["refunded_fen"] == 0
    refunded = _refunded(client, person, registration_id)
    assert refunded["stop_reason"] == "医生临时出诊任务"
    assert [(r["amount_fen"], r["status"]) for r in refunded["refunds"]] == [(1800, "succeeded")]
    assert refunded["refunded_fen"] == 1800
    closed = _detail(client, unpaid, unpaid_id)
    assert (closed["status"], closed["status_name"]) == ("closed", "已关闭")
    assert closed["stop_reason"] == "医生临时出诊任务" and closed["pay_deadline"] is None


def test_status_filter_takes_several_values(client, app, catalogue, verified):
    person, = verified(1)
    ids = {}
    for state, days_ahead in (("pending_payment", 2), ("booked", 3), ("cancelled", 4),
                              ("refunded", 5)):
        body = book(client, person, catalogue["schedule"](days_ahead=days_ahead)).get_json()
        ids[state] = body["registration"]["id"]
        if state in ("booked", "refunded"):
            pay(app, body)
        if state in ("cancelled", "refunded"):
            assert client.post(f"{API}/{ids[state]}/cancel",
                               headers=person["headers"]).status_code == 200
    _refunded(client, person, ids["refunded"])

    def statuses(query):
        page = _listed(client, person, query)
        assert page["total"] == len(page["items"])
        return sorted(item["status"] for item in page["items"])

    assert statuses("") == sorted(ids)
    assert statuses("?status=booked") == ["booked"]
    assert statuses("?status=booked&status=cancelled") == ["booked", "cancelled"]
    assert statuses("?status=booked,cancelled") == ["booked", "cancelled"]
    assert statuses("?status=booked,refunded&status=cancelled&status=booked") == [
        "booked", "cancelled", "refunded"]
    assert statuses("?status=visited,no_show") == []
    for query in ("?status=booked,bogus", "?status=booked&status=BOOKED", "?status=%E5%B7%B2"):
        response = client.get(f"{API}{query}", headers=person["headers"])
        assert response.status_code == 422, (query, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "validation_error"
        assert "未知的订单状态" in " ".join(error["details"]["status"]), error


def test_a_page_of_orders_costs_the_same_queries_whatever_its_size(client, app, catalogue,
                                                                     verified):
    person, = verified(1)

    def queries_of_list():
        client.get(API, headers=person["headers"])  # warm the caller's principal cache
        statements = []

        def count(conn, cursor, statement, *args):
            statements.append(statement)

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = _listed(client, person)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(statements), page

    def add_order(days_ahead, paid=False, cancelled=False):
        body = book(client, person, catalogue["schedule"](days_ahead=days_ahead)).get_json()
        if paid:
            pay(app, body)
        if cancelled:
            client.post(f"{API}/{body['registration']['id']}/cancel", headers=person["headers"])
        return body["registration"]["id"]

    add_order(2)
    one, page = queries_of_list()
    assert page["total"] == 1
    refunded = add_order(3, paid=True, cancelled=True)
    add_order(4, paid=True)
    add_order(5)
    _refunded(client, person, refunded)
    other_doctor = catalogue["another_doctor"]()
    body = book(client, person, catalogue["schedule"](days_ahead=6, doctor_id=other_doctor))
    assert body.status_code == 201
    four, page = queries_of_list()
    assert page["total"] == 5 and sum(len(item["refunds"]) for item in page["items"]) == 1
    assert four == one, (one, four)
