"""Registration, refund and review events reach WeChat as a journey makes them: the user's inbox
gets one message of each kind and, with a subscription, WeChat gets one push with the event's
template and sensible fields; a repeated trigger (WeChat notifying again, a job run twice, a
second decision) adds neither. Staff to-dos (a refund given up, an application to review) go
to the bound staff of the role that acts on them."""
from datetime import date, datetime, timedelta

import requests
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification
from tests.booking.conftest import (book, catalogue, pay, registration_row,  # noqa: F401
                                    verified)  # catalogue, verified: fixtures
from tests.booking.test_booking import open_until_late
from tests.caregivers.conftest import (FULL_PROFILE, add_hospital, add_qualifications,
                                       bind_phone, upload)
from tests.notifications.conftest import messages, openid_of, quota, run_worker, subscribe
from tests.payments.conftest import payment_state, wait_for
from tests.payments.test_payments import _expire_now
from tests.qualifications.helpers import (approved_caregiver, create, decide, health_body,
                                          later, nursing_body, set_columns, yesterday)
from tests.users.test_me_and_real_name import submit as submit_real_name

STATUS, VISIT, REFUND = "TMPL_REGISTRATION_STATUS", "TMPL_VISIT_REMINDER", "TMPL_REFUND"
AUDIT, EXPIRING, STAFF = "TMPL_AUDIT_RESULT", "TMPL_CERT_EXPIRING", "TMPL_STAFF_TODO"
SUBJECT = "测试第一人民医院 心血管内科"  # the catalogue's hospital and department
PATIENT = "王小明"  # make_patient's name: never whole in a push


def kinds(app, user_id) -> list[str]:
    with app.app_context():
        found = db.session.scalars(select(Notification.kind).where(
            Notification.user_id == user_id).order_by(Notification.id)).all()
        db.session.remove()
    return list(found)


def pushed(app, user, template_id) -> list[dict]:
    """What WeChat received for the user with that template: each message's field values."""
    return [{key: field["value"] for key, field in m["data"].items()} | {"_page": m["page"]}
            for m in messages(app, touser=openid_of(app, user["id"]), template_id=template_id)]


def visit_time(app, registration_id) -> str:
    """The clinic's start as the push shows it (local time; the catalogue's morning is 08:00,
    afternoon 13:30)."""
    from app.booking.models import Registration

    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        shown = datetime.combine(registration.visit_date, registration.schedule.start_time)
        db.session.remove()
    return shown.strftime("%Y年%m月%d日 %H:%M")


def pay_gateway(app, path, **body):
    response = requests.post(app.config["WECHATPAY_GATEWAY"] + path, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def cancel(client, person, registration_id):
    response = client.post(f"/api/v1/registrations/{registration_id}/cancel",
                           headers=person["headers"])
    assert response.status_code == 200, response.get_json()


def bind_official(app, staff, openid):
    from app.staff.models import StaffUser

    with app.app_context():
        db.session.get(StaffUser, staff["id"]).official_openid = openid
        db.session.commit()
        db.session.remove()


def refund_of(app, payment_id) -> dict:
    from app.payments.models import Refund

    with app.app_context():
        refund = db.session.scalar(select(Refund).where(Refund.payment_id == payment_id))
        row = {"id": refund.id, "status": refund.status, "out_refund_no": refund.out_refund_no}
        db.session.remove()
    return row


# ------------------------------------------------------------------------------ registrations

def test_booked_cancelled_and_refunded_each_reach_the_user_once(client, app, catalogue,
                                                                verified):
    schedule_id = catalogue["schedule"](fee_fen=5000)
    person, = verified(1)
    subscribe(client, app, person, STATUS, times=3)  # one to spare: a duplicate must not take it
    subscribe(client, app, person, REFUND, times=2)
    body = book(client, person, schedule_id).get_json()
    registration_id = body["registration"]["id"]
    pay(app, body)
    out_trade_no = payment_state(app, body["payment"]["id"])["out_trade_no"]
    # WeChat delivers the payment notification twice more, as it does when unsure
    pay_gateway(app, f"/_control/transactions/{out_trade_no}/notify", copies=2)
    cancel(client, person, registration_id)
    run_worker(app)  # sends the pushes so far and the refund to WeChat
    assert wait_for(lambda: registration_row(app, registration_id)["status"] == "refunded")
    out_refund_no = refund_of(app, body["payment"]["id"])["out_refund_no"]
    pay_gateway(app, f"/_control/refunds/{out_refund_no}/notify", copies=2)
    run_worker(app)

    assert sorted(kinds(app, person["id"])) == ["refund_succeeded", "registration_booked",
                                                "registration_cancelled"]
    booked, cancelled = pushed(app, person, STATUS)
    assert (booked["phrase2"], cancelled["phrase2"]) == ("预约成功", "已取消")
    for push in (booked, cancelled):
        assert push["thing1"] == SUBJECT
        assert push["time3"] == visit_time(app, registration_id)
        assert push["_page"] == f"packages/booking/registration/index?id={registration_id}"
        assert PATIENT not in push["thing4"]
    [refunded] = pushed(app, person, REFUND)
    assert refunded["thing1"] == SUBJECT and refunded["amount2"] == "¥50.00"
    assert refunded["phrase3"] == "退款成功" and "年" in refunded["time4"]
    assert quota(app, person["id"], STATUS) == 1 and quota(app, person["id"], REFUND) == 1


def test_closed_stopped_reminded_and_no_show_each_reach_the_user_once(client, app, catalogue,
                                                                      verified, staff_factory):
    from app.booking.models import Registration
    from app.booking.services import mark_no_shows
    from app.tasks.booking import send_visit_reminders
    from app.tasks.payments import sweep_expired_payments

    open_until_late(app, catalogue["hospital_id"])
    tomorrow = catalogue["schedule"](days_ahead=1)
    afternoon = catalogue["schedule"](days_ahead=3, period="afternoon")
    late, stopped, visitor = verified(3)
    operator = staff_factory("operator")

    # unpaid at its deadline: closed by the sweep (run twice)
    subscribe(client, app, late, STATUS, times=2)
    late_body = book(client, late, afternoon).get_json()
    _expire_now(app, late_body["payment"]["id"])
    with app.app_context():
        assert sweep_expired_payments()[late_body["payment"]["id"]] == "closed"
        assert late_body["payment"]["id"] not in sweep_expired_payments()
        db.session.remove()

    # paid, then the clinic stops (a second stop is refused)
    stopped_body = book(client, stopped, afternoon).get_json()
    pay(app, stopped_body)
    subscribe(client, app, stopped, STATUS, times=2)
    for expected in (200, 409):
        response = client.post(f"/api/v1/staff/schedules/{afternoon}/stop",
                               json={"reason": "医生临时出诊任务"}, headers=operator["headers"])
        assert response.status_code == expected, response.get_json()

    # paid for tomorrow: reminded the evening before, then never came (jobs run twice)
    visitor_body = book(client, visitor, tomorrow).get_json()
    pay(app, visitor_body)
    subscribe(client, app, visitor, STATUS, times=2)
    subscribe(client, app, visitor, VISIT, times=2)
    with app.app_context():
        assert send_visit_reminders() == 1 and send_visit_reminders() == 0
        visit_day = db.session.get(Registration, visitor_body["registration"]["id"]).visit_date
        assert mark_no_shows(today=visit_day) == 1 and mark_no_shows(today=visit_day) == 0
        db.session.remove()
    run_worker(app)

    assert kinds(app, late["id"]) == ["registration_closed"]
    [closed] = pushed(app, late, STATUS)
    assert closed["phrase2"] == "已关闭" and closed["thing1"] == SUBJECT
    assert closed["time3"] == visit_time(app, late_body["registration"]["id"])

    assert kinds(app, stopped["id"]).count("schedule_stopped") == 1
    [stop] = pushed(app, stopped, STATUS)
    assert stop["phrase2"] == "已停诊" and stop["thing1"] == SUBJECT
    assert stop["time3"] == visit_time(app, stopped_body["registration"]["id"])

    visitor_kinds = kinds(app, visitor["id"])
    assert visitor_kinds.count("visit_reminder") == 1
    assert visitor_kinds.count("registration_no_show") == 1
    [reminder] = pushed(app, visitor, VISIT)
    assert reminder["phrase2"] == "明日就诊" and reminder["thing1"] == SUBJECT
    assert reminder["time3"] == visit_time(app, visitor_body["registration"]["id"])
    assert reminder["time3"].endswith("08:00")
    [no_show] = pushed(app, visitor, STATUS)
    assert no_show["phrase2"] == "已爽约" and PATIENT not in no_show["thing4"]
    assert quota(app, visitor["id"], STATUS) == 1 and quota(app, visitor["id"], VISIT) == 1


def test_a_refund_given_up_tells_the_operators_once(client, app, catalogue, verified,
                                                    staff_factory):
    from app.common.time import utcnow
    from app.payments.models import Refund
    from app.tasks.payments import submit_refund

    operator, reviewer = staff_factory("operator"), staff_factory("reviewer")
    bind_official(app, operator, "oa-operator")
    bind_official(app, reviewer, "oa-reviewer")
    schedule_id = catalogue["schedule"](fee_fen=1200)
    refused, abnormal = verified(2)
    bodies = [book(client, person, schedule_id).get_json() for person in (refused, abnormal)]
    for body in bodies:
        pay(app, body)

    # WeChat refuses the refund until its retry window is over: failed, staff must act
    pay_gateway(app, "/_control/refunds", refuse="NOT_ENOUGH")
    cancel(client, refused, bodies[0]["registration"]["id"])
    run_worker(app)
    first = refund_of(app, bodies[0]["payment"]["id"])
    assert first["status"] == "processing"
    with app.app_context():
        row = db.session.get(Refund, first["id"])
        row.created_at = utcnow() - timedelta(days=2)
        row.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert submit_refund(first["id"]) == "failed"
        db.session.remove()
    # the operator retries it and WeChat refuses again: back on the failed list, no new message
    retried = client.post(f"/api/v1/staff/refunds/{first['id']}/retry",
                          headers=operator["headers"])
    assert retried.status_code == 200, retried.get_json()
    run_worker(app)
    assert refund_of(app, bodies[0]["payment"]["id"])["status"] == "failed"

    # WeChat accepts the refund, then ends it ABNORMAL (and says so twice)
    pay_gateway(app, "/_control/refunds", refuse=None, outcome="ABNORMAL")
    cancel(client, abnormal, bodies[1]["registration"]["id"])
    run_worker(app)
    assert wait_for(lambda: refund_of(app, bodies[1]["payment"]["id"])["status"] == "failed")
    second = refund_of(app, bodies[1]["payment"]["id"])
    pay_gateway(app, f"/_control/refunds/{second['out_refund_no']}/notify", copies=1)
    run_worker(app)

    sent = messages(app, api="template")
    assert [m["touser"] for m in sent] == ["oa-operator", "oa-operator"]  # not the reviewer
    assert {m["template_id"] for m in sent} == {STAFF}
    assert [m["data"]["thing1"]["value"] for m in sent] == ["退款失败 12.00 元,请处理"] * 2
    assert [m["data"]["thing2"]["value"][:15] for m in sent] == [
        first["out_refund_no"][:15], second["out_refund_no"][:15]]
    assert [m["data"]["character_string3"]["value"] for m in sent] == [
        first["out_refund_no"], second["out_refund_no"]]  # whole, to look it up in the console
    assert "年" in sent[0]["data"]["time4"]["value"]


# ------------------------------------------------------------------------------------ reviews

def test_real_name_rejected_then_approved(client, app, alice, staff_factory):
    reviewer = staff_factory("reviewer")
    subscribe(client, app, alice, AUDIT, times=3)

    def decision(record_id, expected=200, **body):
        response = client.post(f"/api/v1/staff/real-name-reviews/{record_id}/decision",
                               json=body, headers=reviewer["headers"])
        assert response.status_code == expected, response.get_json()

    rejected = submit_real_name(client, alice).get_json()["id"]
    decision(rejected, approve=False, reason="证件照片不清晰")
    decision(rejected, 409, approve=True)  # decided already: nothing more
    approved = submit_real_name(client, alice).get_json()["id"]
    decision(approved, approve=True)
    decision(approved, 409, approve=True)
    run_worker(app)

    assert kinds(app, alice["id"]) == ["real_name_rejected", "real_name_approved"]
    rejection, approval = pushed(app, alice, AUDIT)
    assert (rejection["thing1"], rejection["phrase2"], rejection["thing3"]) == (
        "实名认证", "未通过", "证件照片不清晰")
    assert (approval["thing1"], approval["phrase2"], approval["thing3"]) == ("实名认证", "已通过",
                                                                             "-")
    assert quota(app, alice["id"], AUDIT) == 1


def test_a_caregiver_application_and_revisions_from_submission_to_suspension(
        client, app, alice, staff_factory):
    reviewer, operator = staff_factory("reviewer"), staff_factory("operator")
    bind_official(app, reviewer, "oa-reviewer")
    bind_official(app, operator, "oa-operator")
    bind_phone(app, alice["id"])
    hospital = add_hospital(app)
    profile = {**FULL_PROFILE, "hospital_ids": [hospital], "photo_file_id": upload(client, alice)}
    created = client.post("/api/v1/caregiver/me", headers=alice["headers"], json=profile)
    assert created.status_code == 201, created.get_json()
    caregiver_id = created.get_json()["id"]
    assert client.put("/api/v1/caregiver/me/prices", headers=alice["headers"], json={
        "prices": [{"care_type": "full_day", "price_fen": 30000}]}).status_code == 200
    add_qualifications(app, caregiver_id)
    subscribe(client, app, alice, AUDIT, times=7)

    def call(method, path, expected=200, user=alice, **body):
        response = client.open(path, method=method, json=body, headers=user["headers"])
        assert response.status_code == expected, response.get_json()
        return response.get_json()

    staff_path = f"/api/v1/staff/caregivers/{caregiver_id}"
    call("POST", "/api/v1/caregiver/me/submit")
    call("POST", f"{staff_path}/decision", user=reviewer, approve=False, reason="照片不清晰")
    call("POST", f"{staff_path}/decision", 409, user=reviewer, approve=True)
    call("POST", "/api/v1/caregiver/me/submit")  # the second round is a new review
    call("POST", f"{staff_path}/decision", user=reviewer, approve=True)
    # an approved caregiver's change of vetted fields waits for review; more changes join it
    call("PATCH", "/api/v1/caregiver/me", bio="十年护理经验")
    call("PATCH", "/api/v1/caregiver/me", years_experience=10)
    [revision] = call("GET", "/api/v1/staff/caregiver-revisions", user=reviewer)["items"]
    call("POST", f"/api/v1/staff/caregiver-revisions/{revision['id']}/decision", user=reviewer,
         approve=False, reason="经验年限无法核实")
    call("PATCH", "/api/v1/caregiver/me", bio="擅长术后护理")
    [second] = call("GET", "/api/v1/staff/caregiver-revisions", user=reviewer)["items"]
    call("POST", f"/api/v1/staff/caregiver-revisions/{second['id']}/decision", user=reviewer,
         approve=True)
    call("POST", f"{staff_path}/suspend", user=operator, reason="投诉核查中")
    call("POST", f"{staff_path}/suspend", 409, user=operator, reason="投诉核查中")
    call("POST", f"{staff_path}/reinstate", user=operator)
    call("POST", f"{staff_path}/reinstate", 409, user=operator)
    run_worker(app)

    assert kinds(app, alice["id"]) == [
        "caregiver_rejected", "caregiver_approved", "caregiver_revision_rejected",
        "caregiver_revision_approved", "caregiver_suspended", "caregiver_reinstated"]
    pushes = pushed(app, alice, AUDIT)
    assert [(p["thing1"], p["phrase2"], p["thing3"]) for p in pushes] == [
        ("护工入驻申请", "未通过", "照片不清晰"), ("护工入驻申请", "已通过", "-"),
        ("护工资料修改", "未通过", "经验年限无法核实"), ("护工资料修改", "已通过", "-"),
        ("护工接单资格", "已暂停", "投诉核查中"), ("护工接单资格", "已恢复", "-")]
    assert quota(app, alice["id"], AUDIT) == 1
    # the reviewers' to-dos: two submissions and two revisions, nothing to the operator
    todo = messages(app, api="template")
    assert [m["touser"] for m in todo] == ["oa-reviewer"] * 4
    assert [m["data"]["thing1"]["value"] for m in todo] == [
        "护工入驻申请待审核", "护工入驻申请待审核", "护工资料修改待审核", "护工资料修改待审核"]
    assert todo[0]["data"]["thing2"]["value"] == "护工 王*英 入驻申请"


def test_qualification_reviews_expiry_suspension_and_reinstatement(client, app, alice,
                                                                   staff_factory):
    from app.qualifications.models import Qualification
    from app.tasks.caregivers import check_qualification_expiry

    reviewer = staff_factory("reviewer")
    caregiver = approved_caregiver(client, app, alice, reviewer)  # two approvals, unsubscribed
    before = kinds(app, alice["id"])
    subscribe(client, app, alice, AUDIT, times=5)
    subscribe(client, app, alice, EXPIRING, times=2)

    nursing = create(client, alice, nursing_body(client, alice))
    decide(client, reviewer, nursing["id"], approve=False, reason="证书照片反光")
    decide(client, reviewer, nursing["id"], 409, approve=True)
    expires = later(20)
    set_columns(app, Qualification, caregiver["health"], expires_on=date.fromisoformat(expires))
    with app.app_context():
        assert check_qualification_expiry() == {"warned": 1, "suspended": 0}
        assert check_qualification_expiry() == {"warned": 0, "suspended": 0}
        db.session.remove()
    set_columns(app, Qualification, caregiver["health"], expires_on=yesterday())
    with app.app_context():
        assert check_qualification_expiry() == {"warned": 0, "suspended": 1}
        assert check_qualification_expiry() == {"warned": 0, "suspended": 0}
        db.session.remove()
    renewal = create(client, alice, health_body(client, alice, expires_on=later(300)))
    decide(client, reviewer, renewal["id"], approve=True)  # and the caregiver is reinstated
    run_worker(app)

    assert kinds(app, alice["id"])[len(before):] == [
        "qualification_rejected", "qualification_expiring", "caregiver_suspended",
        "qualification_approved", "caregiver_reinstated"]
    assert [(p["thing1"], p["phrase2"], p["thing3"]) for p in pushed(app, alice, AUDIT)] == [
        ("养老护理员职业技能等级证书", "未通过", "证书照片反光"),
        ("护工接单资格", "已暂停", "健康证已过期"), ("健康证", "已通过", "-"),
        ("护工接单资格", "已恢复", "-")]
    [warning] = pushed(app, alice, EXPIRING)
    assert (warning["thing1"], warning["phrase2"]) == ("健康证", "即将到期")
    year, month, day = expires.split("-")
    assert warning["time4"] == f"{year}年{month}月{day}日"
    assert quota(app, alice["id"], AUDIT) == 1 and quota(app, alice["id"], EXPIRING) == 1
