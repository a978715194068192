"""Staff and registrations (挂号), through HTTP: search with filters, the whole story of one
order (personal data masked), and a staff cancel with a full refund, whatever the user's own
deadline."""
from datetime import timedelta

from sqlalchemy import select

from app.booking.models import Registration
from app.common.time import local_today
from app.extensions import db
from app.hospitals.models import Hospital
from app.notifications.models import Notification
from app.patients.models import Patient
from app.payments.models import Payment, Refund
from tests.booking.conftest import book, pay, schedule_row
from tests.payments.conftest import run_jobs, wait_for

STAFF_API = "/api/v1/staff/registrations"


def ok(response, status=200):
    assert response.status_code == status, (response.status_code, response.get_json())
    return response.get_json()


def booked(app, client, person, schedule_id, paid=True) -> int:
    body = ok(book(client, person, schedule_id), 201)
    if paid:
        pay(app, body)
    return body["registration"]["id"]


def set_patient_phone(app, patient_id, phone):
    with app.app_context():
        db.session.get(Patient, patient_id).phone = phone
        db.session.commit()
        db.session.remove()


def ids(response):
    return [item["id"] for item in ok(response)["items"]]


def messages(app, user_id):
    with app.app_context():
        rows = db.session.execute(select(Notification.kind, Notification.body).where(
            Notification.user_id == user_id).order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def refunds(app, registration_id):
    with app.app_context():
        rows = db.session.execute(select(
            Refund.amount_fen, Refund.status, Refund.reason, Refund.requested_by).join(
            Payment, Payment.id == Refund.payment_id).where(
            Payment.order_type == "registration", Payment.order_id == registration_id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def status_of(app, registration_id):
    with app.app_context():
        status = db.session.get(Registration, registration_id).status
        db.session.remove()
    return status


# ---- search ------------------------------------------------------------------------------------

def test_search_filters_newest_first(app, client, catalogue, verified, staff_factory):
    operator = staff_factory("operator")
    alice, bob = verified(2)
    set_patient_phone(app, bob["patient_id"], "13900001111")
    near, far = catalogue["schedule"](days_ahead=3), catalogue["schedule"](days_ahead=5)
    paid = booked(app, client, alice, near)
    unpaid = booked(app, client, bob, far, paid=False)
    also = booked(app, client, bob, near)

    everything = client.get(STAFF_API, headers=operator["headers"])
    assert ids(everything) == [also, unpaid, paid]
    row = everything.get_json()["items"][2]
    assert row["patient_name"] == "王*明" and row["user_id"] == alice["id"]
    assert (row["status"], row["status_name"], row["visit_number"]) == ("booked", "已预约", 1)
    assert row["hospital"]["name"] == "测试第一人民医院" and row["doctor"]["name"] == "李医生"
    assert row["period_name"] == "上午" and row["start_time"] == "08:00"

    def search(query):
        return ids(client.get(f"{STAFF_API}?{query}", headers=operator["headers"]))

    assert search("status=booked") == [also, paid]
    assert search("status=pending_payment,booked") == [also, unpaid, paid]
    assert search(f"order_no={row['order_no']}") == [paid]
    assert search(f"order_no={row['order_no'][:-1]}") == []  # exact, not a prefix
    assert search(f"hospital_id={catalogue['hospital_id']}") == [also, unpaid, paid]
    assert search("hospital_id=999999") == []
    assert search(f"user_id={bob['id']}") == [also, unpaid]
    # the phone is never stored in clear: its blind index finds the patient's orders
    assert search("patient_phone=13900001111") == [also, unpaid]
    assert search("patient_phone=13800000000") == [paid]
    assert search("patient_phone=13700000000") == []
    today = local_today()
    assert search(f"visit_from={today + timedelta(days=4)}") == [unpaid]
    assert search(f"visit_to={today + timedelta(days=3)}") == [also, paid]
    assert search(f"visit_from={today + timedelta(days=3)}&visit_to={today + timedelta(days=3)}"
                  f"&user_id={bob['id']}") == [also]
    paged = ok(client.get(f"{STAFF_API}?page=2&page_size=2", headers=operator["headers"]))
    assert [item["id"] for item in paged["items"]] == [paid] and paged["total"] == 3

    for bad in ("status=lost", "hospital_id=0", "user_id=abc", "patient_phone=1380000",
                "patient_phone=abcdefghijk", f"visit_from={today}&visit_to={today - timedelta(1)}",
                "visit_from=0001-01-01", "visit_to=9999-12-31", "visit_from=tomorrow",
                "order_no=" + "x" * 33):
        refused = client.get(f"{STAFF_API}?{bad}", headers=operator["headers"])
        assert refused.status_code == 422, (bad, refused.get_json())


# ---- detail ------------------------------------------------------------------------------------

def test_detail_masks_the_patient_and_tells_the_story(app, client, catalogue, verified,
                                                      staff_factory):
    operator = staff_factory("operator")
    person, = verified(1)
    registration_id = booked(app, client, person, catalogue["schedule"](fee_fen=2100))
    detail = ok(client.get(f"{STAFF_API}/{registration_id}", headers=operator["headers"]))
    assert detail["patient"] == {
        "id": person["patient_id"], "name": "王*明", "phone": "138****0000",
        "id_type": "resident_id",
        "id_number": person["id_number"][:4] + "*" * 10 + person["id_number"][-4:],
        "gender": detail["patient"]["gender"], "gender_name": detail["patient"]["gender_name"],
        "deleted": False}
    assert person["id_number"] not in str(detail) and "王小明" not in str(detail)
    assert (detail["payment"]["status"], detail["payment"]["amount_fen"]) == ("paid", 2100)
    # a visit can be marked from its day on (the booking is for a later day)
    assert detail["refunds"] == [] and detail["cancellable"] and detail["visitable"] is False
    assert [event["kind"] for event in detail["timeline"]] == ["created", "paid", "message"]
    assert detail["timeline"][2]["title"] == "通知用户:预约成功"

    unpaid = booked(app, client, person, catalogue["schedule"](days_ahead=4), paid=False)
    shown = ok(client.get(f"{STAFF_API}/{unpaid}", headers=operator["headers"]))
    assert shown["payment"]["status"] == "created" and shown["visitable"] is False
    assert ok(client.get(f"{STAFF_API}/999999", headers=operator["headers"]), 404)["error"][
        "code"] == "registration_not_found"


# ---- cancel ------------------------------------------------------------------------------------

def test_staff_cancel_after_the_users_deadline_refunds_in_full(app, client, catalogue,
                                                               verified, staff_factory):
    operator = staff_factory("operator")
    person, = verified(1)
    schedule_id = catalogue["schedule"](fee_fen=3300, total=5)
    registration_id = booked(app, client, person, schedule_id)
    with app.app_context():  # the user's own cancel deadline has passed
        db.session.get(Hospital, catalogue["hospital_id"]).cancel_days_before = 30
        db.session.commit()
        db.session.remove()
    refused = client.post(f"/api/v1/registrations/{registration_id}/cancel",
                          headers=person["headers"])
    assert refused.status_code == 409, refused.get_json()
    assert schedule_row(app, schedule_id)["available"] == 4

    for bad in ({}, {"reason": "x"}, {"reason": "  "}, {"reason": "因" * 81},
                {"reason": "医院通知", "refund_fen": 1}):
        response = client.post(f"{STAFF_API}/{registration_id}/cancel", json=bad,
                               headers=operator["headers"])
        assert response.status_code == 422, (bad, response.get_json())
    assert status_of(app, registration_id) == "booked"

    cancelled = ok(client.post(f"{STAFF_API}/{registration_id}/cancel",
                               json={"reason": "医生临时调班"}, headers=operator["headers"]))
    assert (cancelled["status"], cancelled["cancellable"]) == ("cancelled", False)
    [refund] = cancelled["refunds"]
    assert (refund["amount_fen"], refund["status"], refund["reason"], refund["requested_by"]) \
        == (3300, "processing", "医生临时调班", f"staff:{operator['id']}")
    assert schedule_row(app, schedule_id)["available"] == 5  # the slot is back
    kinds = [kind for kind, _ in messages(app, person["id"])]
    assert kinds == ["registration_booked", "registration_cancelled"]
    body = messages(app, person["id"])[1][1]
    assert "已由平台取消" in body and "医生临时调班" in body and "33.00 元" in body
    assert "王小明" not in body

    run_jobs(app)  # the worker asks WeChat; its answer settles the refund
    assert wait_for(lambda: status_of(app, registration_id) == "refunded")
    assert refunds(app, registration_id) == [(3300, "succeeded", "医生临时调班",
                                              f"staff:{operator['id']}")]
    detail = ok(client.get(f"{STAFF_API}/{registration_id}", headers=operator["headers"]))
    assert detail["payment"]["status"] == "refunded" and detail["refunded_fen"] == 3300
    kinds = [event["kind"] for event in detail["timeline"]]
    assert {"cancelled", "refund_requested", "refund_succeeded", "refunded"} <= set(kinds)

    again = client.post(f"{STAFF_API}/{registration_id}/cancel", json={"reason": "再次取消"},
                        headers=operator["headers"])
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "invalid_state_transition"
    assert len(refunds(app, registration_id)) == 1


def test_staff_cancel_of_an_unpaid_order_closes_its_payment(app, client, catalogue, verified,
                                                           staff_factory):
    operator = staff_factory("operator")
    person, = verified(1)
    schedule_id = catalogue["schedule"](total=3)
    registration_id = booked(app, client, person, schedule_id, paid=False)
    cancelled = ok(client.post(f"{STAFF_API}/{registration_id}/cancel",
                               json={"reason": "重复下单"}, headers=operator["headers"]))
    assert cancelled["status"] == "cancelled" and cancelled["refunds"] == []
    assert schedule_row(app, schedule_id)["available"] == 3
    run_jobs(app)  # the close job
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_id == registration_id))
        assert payment.status == "closed"
        db.session.remove()
    [(kind, body)] = [m for m in messages(app, person["id"]) if m[0] == "registration_cancelled"]
    assert "重复下单" in body and "无需支付" in body
    assert ok(client.post(f"{STAFF_API}/999999/cancel", json={"reason": "重复下单"},
                          headers=operator["headers"]), 404)["error"]["code"] \
        == "registration_not_found"


def test_only_operators_and_admins(app, client, catalogue, verified, staff_factory):
    person, = verified(1)
    registration_id = booked(app, client, person, catalogue["schedule"]())
    reviewer = staff_factory("reviewer")
    for method, path, body in (("get", STAFF_API, None),
                               ("get", f"{STAFF_API}/{registration_id}", None),
                               ("post", f"{STAFF_API}/{registration_id}/cancel",
                                {"reason": "医院通知"})):
        call = getattr(client, method)
        assert call(path, json=body, headers=reviewer["headers"]).status_code == 403
        assert call(path, json=body, headers=person["headers"]).status_code in (401, 403)
        assert call(path, json=body).status_code == 401
    assert status_of(app, registration_id) == "booked"
    admin = staff_factory("admin")
    assert ids(client.get(STAFF_API, headers=admin["headers"])) == [registration_id]


def test_the_routes_are_in_the_contract(client):
    spec = client.get("/api/openapi.json").get_json()
    paths = spec["paths"]
    assert "get" in paths[STAFF_API]
    assert "get" in paths[STAFF_API + "/{registration_id}"]
    cancel = paths[STAFF_API + "/{registration_id}/cancel"]["post"]
    codes = {status: set(response["content"]["application/json"]["schema"]["properties"]["error"]
                         ["properties"]["code"]["enum"])
             for status, response in cancel["responses"].items() if status.startswith("4")}
    assert "registration_not_found" in codes["404"]
    assert "invalid_state_transition" in codes["409"]
    assert cancel["security"]
