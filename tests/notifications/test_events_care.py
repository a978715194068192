"""Care-order events reach WeChat: each journey is driven as the mini-program, staff and the
cron drive it (HTTP, the WeChat Pay simulator, the jobs), with the recipients subscribed; each
event gives its recipient exactly one inbox message and one WeChat message with the right
template and fields, and triggering it again (a redelivered notification, a job run twice, a
repeated request) gives neither."""
from datetime import datetime, timedelta

import requests
from sqlalchemy import func, select

from app.common.time import utcnow
from app.extensions import db
from app.notifications.models import MessagePush, Notification
from tests.care_disputes.conftest import (caregiver_dispute, family_dispute, ok,  # noqa: F401
                                          resolve)
from tests.care_orders.conftest import (API, CAREGIVER_API, book, care_world,  # noqa: F401
                                        order_body, order_row, pay, set_order, window)
from tests.notifications.conftest import messages, openid_of, pushes, run_worker, subscribe
from tests.payments.conftest import wait_for

STATUS = "TMPL_CARE_ORDER_STATUS"
NEW_ORDER = "TMPL_CARE_NEW_ORDER"
REVIEW = "TMPL_REVIEW"
DISPUTE = "TMPL_DISPUTE"
REFUND = "TMPL_REFUND"
INCOME = "TMPL_INCOME"
STAFF_API = "/api/v1/staff/care-orders"
SUBJECT = "全天陪护 护理测试医院"  # the care type and the hospital of care_world's orders
RECORD_TEXT = "血压 150/95,夜间咳嗽"


def inbox(app, user_id, kind=None):
    """The user's inbox kinds, oldest first (only `kind` when given)."""
    with app.app_context():
        statement = select(Notification.kind).where(Notification.user_id == user_id)
        if kind:
            statement = statement.where(Notification.kind == kind)
        kinds = db.session.scalars(statement.order_by(Notification.id)).all()
        db.session.remove()
    return list(kinds)


def sent(app, person, template_id):
    """What WeChat received for the person with the template, oldest first."""
    return messages(app, touser=openid_of(app, person_id(person)), template_id=template_id)


def person_id(person):
    return person["user_id"] if "user_id" in person else person["id"]


def statuses(app, person, template_id):
    return [message["data"]["phrase2"]["value"] for message in sent(app, person, template_id)]


def subscribed(client, app, person, **templates):
    """The person's 允许 taps: template id → how many."""
    login = {"id": person_id(person), "headers": person["headers"]}
    for template_id, times in templates.items():
        subscribe(client, app, login, template_id, times=times)


def local_time(value) -> str:
    """An aware time as a WeChat time field shows it."""
    return value.strftime("%Y年%m月%d日 %H:%M")


def payment_of(app, order_id):
    from app.payments.models import Payment, Refund

    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_type == "care_order",
                                                          Payment.order_id == order_id))
        found = {"out_trade_no": payment.out_trade_no, "refunds": [
            (refund.out_refund_no, refund.status) for refund in db.session.scalars(
                select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id))]}
        db.session.remove()
    return found


def renotify(app, path):
    """WeChat Pay delivering a notification again (its retry)."""
    response = requests.post(f"{app.config['WECHATPAY_GATEWAY']}/_control/{path}/notify",
                             json={"copies": 2}, timeout=30)
    assert response.status_code == 200, response.text


def sweep(app):
    """The cron's minute sweep of care orders, then the jobs it enqueued."""
    from app.tasks.care_orders import sweep_care_orders

    with app.app_context():
        sweep_care_orders()
        db.session.remove()
    run_worker(app)


def start_soon(app, order_id):
    """The booked start comes near, as time would have it."""
    start = utcnow() + timedelta(minutes=10)
    set_order(app, order_id, start_at=start, end_at=start + timedelta(hours=24))


def booked(client, world, family, caregiver, **extra):
    return ok(book(client, family, order_body(world, family, caregiver, **extra)), 201)


def test_a_whole_order_from_payment_to_settlement(app, client, care_world):
    from app.earnings.services import settle_due_entries

    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    subscribed(client, app, family, **{STATUS: 10, REVIEW: 1})
    subscribed(client, app, caregiver, **{NEW_ORDER: 1, STATUS: 2, REVIEW: 1, INCOME: 1})
    created = booked(client, care_world, family, caregiver)
    order_id = created["order"]["id"]
    pay(app, created)
    renotify(app, f"transactions/{payment_of(app, order_id)['out_trade_no']}")  # paid once
    ok(client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=caregiver["headers"]))
    again = client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=caregiver["headers"])
    assert again.status_code == 409
    start_soon(app, order_id)
    ok(client.post(f"{CAREGIVER_API}/{order_id}/start", json={}, headers=caregiver["headers"]))
    for text in (RECORD_TEXT, "协助翻身两次"):
        ok(client.post(f"{CAREGIVER_API}/{order_id}/records", headers=caregiver["headers"],
                       json={"condition": text, "care_given": "擦身、喂饭"}), 201)
    ok(client.post(f"{CAREGIVER_API}/{order_id}/end", headers=caregiver["headers"]))
    ok(client.post(f"{API}/{order_id}/confirm", headers=family["headers"]))
    with app.app_context():  # the auto-completion job comes late: nothing more
        from app.care_orders.services import auto_complete_order
        assert auto_complete_order(order_id) == "noop"
        db.session.remove()
    ok(client.post(f"{API}/{order_id}/review", headers=family["headers"],
                   json={"stars": 5, "tags": [], "text": "很细心"}), 201)
    ok(client.post(f"{CAREGIVER_API}/{order_id}/review-reply", headers=caregiver["headers"],
                   json={"reply": "谢谢您的认可"}))
    assert client.post(f"{CAREGIVER_API}/{order_id}/review-reply", headers=caregiver["headers"],
                       json={"reply": "再谢一次"}).status_code == 409
    with app.app_context():  # the weekly job, run twice
        week = utcnow() + timedelta(days=8)
        assert settle_due_entries(week)["batches"] == 1
        assert settle_due_entries(week)["batches"] == 0
        db.session.remove()
    run_worker(app)

    assert inbox(app, family["id"]) == [
        "care_order_paid", "care_order_accepted", "care_service_started",
        "care_service_record_added", "care_service_record_added", "care_service_ended",
        "care_review_replied"]
    assert inbox(app, caregiver["user_id"]) == [
        "care_order_offered", "care_order_completed", "care_order_reviewed", "earnings_settled"]
    family_status = sent(app, family, STATUS)
    assert [m["data"]["phrase2"]["value"] for m in family_status] == [
        "已支付", "已接单", "服务中", "新记录", "新记录", "待确认"]
    assert {m["data"]["thing1"]["value"] for m in family_status} == {SUBJECT}
    assert family_status[0]["page"] == f"packages/care/order/index?id={order_id}"
    start, _ = window()
    assert family_status[1]["data"]["time3"]["value"] == local_time(datetime.fromisoformat(start))
    # a service record is announced, never quoted (what the caregiver wrote may be medical)
    records = family_status[3:5]
    assert {m["data"]["thing4"]["value"] for m in records} == {"护工新增了一条服务记录"}
    assert not any(RECORD_TEXT in str(m["data"]) or "协助翻身" in str(m["data"]) for m in records)
    assert statuses(app, family, REVIEW) == ["已回复"]
    [offered] = sent(app, caregiver, NEW_ORDER)
    assert offered["data"]["phrase2"]["value"] == "待接单"
    # the caregiver's messages open the caregiver's pages, the family's the family's
    assert offered["page"] == "packages/caregiver/inbox/index"
    assert [m["page"] for m in sent(app, caregiver, STATUS) + sent(app, caregiver, REVIEW)] == [
        f"packages/caregiver/service/index?id={order_id}"] * 2
    assert [m["page"] for m in sent(app, family, REVIEW)] == [f"packages/care/order/index?id={order_id}"]
    assert sent(app, caregiver, INCOME)[0]["page"] == "packages/caregiver/income/index"
    assert offered["data"]["time3"]["value"] == local_time(datetime.fromisoformat(start))
    assert statuses(app, caregiver, STATUS) == ["已完成"]
    assert statuses(app, caregiver, REVIEW) == ["5星评价"]
    [income] = sent(app, caregiver, INCOME)
    assert income["data"]["amount2"]["value"] == "¥240.00"  # 300.00 less 20% commission
    assert income["data"]["phrase3"]["value"] == "已结算"
    assert all(push["status"] == "sent" for push in pushes(app))


def test_redispatch_then_nobody_left_refunds_in_full(app, client, care_world):
    first = care_world["caregiver"]()
    second = care_world["caregiver"]()
    family = care_world["family"]()
    subscribed(client, app, family, **{STATUS: 5, REFUND: 2})
    subscribed(client, app, second, **{NEW_ORDER: 2})
    created = booked(client, care_world, family, first)
    order_id, total = created["order"]["id"], created["order"]["price"]["total_fen"]
    pay(app, created)
    # the first caregiver lets the offer time out: the sweep gives it to the second
    set_order(app, order_id, acceptance_deadline=utcnow() - timedelta(seconds=1))
    sweep(app)
    sweep(app)  # and again: nothing more
    assert order_row(app, order_id)["caregiver_id"] == second["id"]
    ok(client.post(f"{CAREGIVER_API}/{order_id}/reject", headers=second["headers"],
                   json={"reason": "家中有事"}))
    run_worker(app)  # the dispatch job: nobody left, the refund goes to WeChat
    sweep(app)
    assert order_row(app, order_id)["status"] == "refunded"
    assert wait_for(lambda: "refund_succeeded" in inbox(app, family["id"]))
    [(out_refund_no, _)] = payment_of(app, order_id)["refunds"]
    renotify(app, f"refunds/{out_refund_no}")  # WeChat's retry: refunded once
    run_worker(app)

    assert inbox(app, family["id"]) == ["care_order_paid", "care_order_redispatched",
                                        "care_order_unmatched", "refund_succeeded"]
    assert statuses(app, family, STATUS) == ["已支付", "已改派", "无人接单"]
    [refund] = sent(app, family, REFUND)
    assert refund["data"]["thing1"]["value"] == SUBJECT
    assert refund["data"]["amount2"]["value"] == f"¥{total // 100}.{total % 100:02d}"
    assert refund["data"]["phrase3"]["value"] == "退款成功"
    assert inbox(app, second["user_id"]) == ["care_order_offered"]
    assert statuses(app, second, NEW_ORDER) == ["待接单"]
    assert inbox(app, first["user_id"], "care_order_offered") == ["care_order_offered"]


def test_closed_cancelled_and_reassigned(app, client, care_world, staff_factory):
    from app.payments.models import Payment
    from app.tasks.payments import sweep_expired_payments

    operator = staff_factory("operator")
    first = care_world["caregiver"]()
    second = care_world["caregiver"]()
    family = care_world["family"]()
    subscribed(client, app, family, **{STATUS: 10})
    subscribed(client, app, first, **{STATUS: 2})
    subscribed(client, app, second, **{NEW_ORDER: 1, STATUS: 1})

    # unpaid until the payment's deadline: the cron closes it, once
    unpaid = booked(client, care_world, family, first, days_ahead=2)["order"]["id"]
    with app.app_context():
        db.session.execute(db.update(Payment).where(Payment.order_type == "care_order",
                                                    Payment.order_id == unpaid)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        sweep_expired_payments()
        sweep_expired_payments()
        db.session.remove()
    assert order_row(app, unpaid)["status"] == "closed"

    # accepted, then moved by staff to another caregiver: both sides and the old one are told
    created = booked(client, care_world, family, first, days_ahead=3)
    moved = created["order"]["id"]
    pay(app, created)
    ok(client.post(f"{CAREGIVER_API}/{moved}/accept", headers=first["headers"]))
    ok(client.post(f"{STAFF_API}/{moved}/reassign", headers=operator["headers"],
                   json={"caregiver_id": second["id"], "reason": "原护工临时住院"}))
    assert client.post(f"{STAFF_API}/{moved}/reassign", headers=operator["headers"], json={
        "caregiver_id": second["id"], "reason": "再改一次"}).status_code == 409

    # accepted, then cancelled by the family before the start: family and caregiver told once
    ok(client.post(f"{CAREGIVER_API}/{moved}/accept", headers=second["headers"]))
    ok(client.post(f"{API}/{moved}/cancel", headers=family["headers"], json={"reason": "改期"}))
    assert client.post(f"{API}/{moved}/cancel", headers=family["headers"],
                       json={}).status_code == 409

    # paid, then cancelled by staff
    created = booked(client, care_world, family, first, days_ahead=5)
    by_staff = created["order"]["id"]
    pay(app, created)
    ok(client.post(f"{STAFF_API}/{by_staff}/cancel", headers=operator["headers"],
                   json={"reason": "用户电话要求取消"}))
    run_worker(app)

    assert inbox(app, family["id"], "care_order_closed") == ["care_order_closed"]
    assert inbox(app, family["id"], "care_order_reassigned") == ["care_order_reassigned"]
    assert inbox(app, family["id"], "care_order_cancelled") == ["care_order_cancelled"] * 2
    assert statuses(app, family, STATUS) == [
        "已关闭", "已支付", "已接单", "已改派", "已接单", "已取消", "已支付", "已取消"]
    assert inbox(app, first["user_id"], "care_order_reassigned") == ["care_order_reassigned"]
    # the staff cancel reached the caregiver it was offered to
    assert statuses(app, first, STATUS) == ["已改派", "已取消"]
    assert inbox(app, second["user_id"]) == ["care_order_offered", "care_order_cancelled"]
    assert statuses(app, second, NEW_ORDER) == ["待接单"]
    assert statuses(app, second, STATUS) == ["已取消"]
    assert {m["data"]["thing1"]["value"] for m in sent(app, family, STATUS)} == {SUBJECT}


def test_a_dispute_reaches_the_other_side_and_the_operators(app, client, care_world,
                                                            staff_factory):
    from app.staff.models import StaffUser

    operator = staff_factory("operator")
    reviewer = staff_factory("reviewer")
    staff_factory("operator")  # not bound to the official account: no message
    with app.app_context():
        for staff, openid in ((operator, "oa-care-operator"), (reviewer, "oa-care-reviewer")):
            db.session.get(StaffUser, staff["id"]).official_openid = openid
        db.session.commit()
        db.session.remove()
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    subscribed(client, app, family, **{DISPUTE: 1})
    subscribed(client, app, caregiver, **{DISPUTE: 2})
    created = booked(client, care_world, family, caregiver)
    order = {"id": created["order"]["id"], "family": family, "caregiver": caregiver}
    pay(app, created)
    ok(client.post(f"{CAREGIVER_API}/{order['id']}/accept", headers=caregiver["headers"]))

    ok(family_dispute(client, order), 201)
    assert family_dispute(client, order).status_code == 409
    assert caregiver_dispute(client, order).status_code == 409
    ok(resolve(client, operator, order["id"], "partial_refund", refund_fen=10000))
    assert resolve(client, operator, order["id"], "no_refund").status_code == 409
    run_worker(app)

    assert inbox(app, caregiver["user_id"], "care_dispute_opened") == ["care_dispute_opened"]
    assert inbox(app, family["id"], "care_dispute_opened") == []  # the family opened it
    assert inbox(app, family["id"], "care_dispute_resolved") == ["care_dispute_resolved"]
    assert inbox(app, caregiver["user_id"], "care_dispute_resolved") == ["care_dispute_resolved"]
    assert statuses(app, caregiver, DISPUTE) == ["处理中", "部分退款"]
    assert statuses(app, family, DISPUTE) == ["部分退款"]
    [staff_message] = messages(app, api="template")
    assert staff_message["touser"] == "oa-care-operator"
    assert staff_message["template_id"] == "TMPL_STAFF_TODO"
    assert staff_message["data"]["thing1"]["value"] == "用户申请了陪护纠纷,请处理"
    with app.app_context():
        staff_pushes = db.session.scalar(select(func.count()).select_from(MessagePush).where(
            MessagePush.event == "care_dispute_opened_staff"))
        db.session.remove()
    assert staff_message["data"]["thing2"]["value"].rstrip("…") in created["order"]["order_no"]
    assert staff_pushes == 1
