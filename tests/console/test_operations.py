"""Disputes, failed refunds and jobs in the console: each action goes through its service."""
from sqlalchemy import select

from app.care_disputes.models import CareDispute
from app.extensions import db, jobs, redis_client
from app.payments.models import Payment, Refund
from tests.care_disputes.conftest import family_dispute, order_at
from tests.console.conftest import post, text
from tests.platform import jobs_for_tests as test_jobs
from tests.platform.test_jobs_cli import burst, enqueue, only_job_id


def _dispute(app, client, care_world, stage="accepted") -> tuple[dict, int]:
    order = order_at(app, client, care_world, stage)
    assert family_dispute(client, order).status_code == 201
    with app.app_context():
        dispute_id = db.session.scalar(select(CareDispute.id).where(
            CareDispute.order_id == order["id"]))
        db.session.remove()
    return order, dispute_id


def _refunds(app, order_id) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(select(Refund.id, Refund.amount_fen, Refund.status).join(
            Payment, Payment.id == Refund.payment_id).where(
            Payment.order_type == "care_order", Payment.order_id == order_id)
            .order_by(Refund.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def _dispute_row(app, dispute_id) -> tuple:
    with app.app_context():
        dispute = db.session.get(CareDispute, dispute_id)
        values = (dispute.status, dispute.outcome, dispute.refund_fen, dispute.note)
        db.session.remove()
    return values


def test_an_operator_resolves_a_dispute_with_a_partial_refund(app, client, care_world, console):
    order, dispute_id = _dispute(app, client, care_world, "completed")
    operator, staff_id = console("operator")
    assert f'id="dispute-{dispute_id}"' in text(operator.get("/console/disputes"))
    assert 'id="pending-disputes">1<' in text(operator.get("/console/"))
    detail = text(operator.get(f"/console/disputes/{dispute_id}"))
    assert "护工未按约定时间到岗" in detail and 'id="resolve-form"' in detail

    page = f"/console/disputes/{dispute_id}"
    for bad in ({"outcome": "partial_refund", "refund_yuan": "", "note": "核实后处理"},
                {"outcome": "partial_refund", "refund_yuan": "1.234", "note": "核实后处理"},
                {"outcome": "partial_refund", "refund_yuan": "abc", "note": "核实后处理"},
                {"outcome": "partial_refund", "refund_yuan": "NaN", "note": "核实后处理"},
                {"outcome": "partial_refund", "refund_yuan": "1e999999", "note": "核实后处理"},
                {"outcome": "partial_refund", "refund_yuan": "-5", "note": "核实后处理"},
                {"outcome": "full_refund", "refund_yuan": "10", "note": "核实后处理"},
                {"outcome": "refund_it_all", "note": "核实后处理"},
                {"outcome": "no_refund", "note": ""}):
        refused = post(operator, f"/console/disputes/{dispute_id}/resolve", bad, page=page)
        assert refused.status_code == 422, (bad, text(refused)[:300])
    assert _dispute_row(app, dispute_id)[0] == "open"

    resolved = post(operator, f"/console/disputes/{dispute_id}/resolve",
                    {"outcome": "partial_refund", "refund_yuan": "100.50",
                     "note": "护工迟到,部分退款"}, page=page)
    assert resolved.status_code == 303, text(resolved)[:500]
    assert _dispute_row(app, dispute_id) == ("resolved", "partial_refund", 10050,
                                             "护工迟到,部分退款")
    assert [(amount, status) for _, amount, status in _refunds(app, order["id"])] == [
        (10050, "processing")]
    after = text(operator.get(resolved.headers["Location"]))
    assert 'id="dispute-outcome">部分退款<' in after and "resolve-form" not in after
    again = post(operator, f"/console/disputes/{dispute_id}/resolve",
                 {"outcome": "no_refund", "note": "再次处理"}, page=page)
    assert again.status_code == 409


def test_a_reviewer_cannot_resolve_disputes_or_retry_refunds(app, client, care_world, console):
    _, dispute_id = _dispute(app, client, care_world)
    reviewer, _ = console("reviewer")
    assert reviewer.get("/console/disputes").status_code == 403
    assert reviewer.get(f"/console/disputes/{dispute_id}").status_code == 403
    assert post(reviewer, f"/console/disputes/{dispute_id}/resolve",
                {"outcome": "full_refund", "note": "核实后处理"}).status_code == 403
    assert reviewer.get("/console/refunds").status_code == 403
    assert post(reviewer, "/console/refunds/1/retry").status_code == 403
    assert _dispute_row(app, dispute_id)[0] == "open"


def test_a_failed_refund_is_retried(app, client, care_world, console):
    order, dispute_id = _dispute(app, client, care_world)
    operator, _ = console("operator")
    assert post(operator, f"/console/disputes/{dispute_id}/resolve",
                {"outcome": "full_refund", "note": "核实后全额退款"}).status_code == 303
    [(refund_id, _, _)] = _refunds(app, order["id"])
    with app.app_context():  # WeChat gave up on it (what the refund job does after its window)
        refund = db.session.get(Refund, refund_id)
        refund.status, refund.failure_reason = "failed", "微信退款关闭"
        db.session.commit()
        db.session.remove()
    listed = text(operator.get("/console/refunds"))
    assert f'id="refund-{refund_id}"' in listed and "微信退款关闭" in listed
    assert 'id="pending-failed_refunds">1<' in text(operator.get("/console/"))

    retried = post(operator, f"/console/refunds/{refund_id}/retry", page="/console/refunds")
    assert retried.status_code == 303
    assert _refunds(app, order["id"])[0][2] == "processing"
    with app.app_context():  # the service's own follow-up: the refund job is queued
        assert any(job.func_name == "app.tasks.payments.submit_refund"
                   for job in jobs.queue().jobs), [j.func_name for j in jobs.queue().jobs]
    assert post(operator, f"/console/refunds/{refund_id}/retry",
                page="/console/refunds").status_code == 409
    assert post(operator, "/console/refunds/999999/retry",
                page="/console/refunds").status_code == 404


def test_jobs_page_shows_failures_and_retries_them_for_admins_only(app, console):
    # fails twice: retried once (interval 0), then it lands among the failed
    enqueue(app, test_jobs.flaky, "console", 2, retry_intervals=[0])
    failed_id = only_job_id(app)
    burst(app)
    operator, _ = console("operator")
    assert operator.get("/console/jobs").status_code == 403
    assert post(operator, "/console/jobs/retry-failed", {"queue": "default"}).status_code == 403

    admin, _ = console("admin")
    page = text(admin.get("/console/jobs"))
    assert 'id="failed-default">1<' in page and "tests.platform.jobs_for_tests.flaky" in page
    assert post(admin, "/console/jobs/retry-failed", {"queue": "nope"},
                page="/console/jobs").status_code == 422
    retried = post(admin, "/console/jobs/retry-failed", {"queue": "default"},
                   page="/console/jobs")
    assert retried.status_code == 303
    assert "已重新排队 1 个失败任务" in text(admin.get(retried.headers["Location"]))
    with app.app_context():
        assert jobs.queue().job_ids == [failed_id]
    burst(app)  # its third run succeeds
    with app.app_context():
        assert redis_client.conn.get("test:flaky-done:console") == b"3"
    assert 'id="failed-default">0<' in text(admin.get("/console/jobs"))


def test_an_operator_stops_a_clinic_and_its_booked_patient_is_refunded(app, client, console,
                                                                       catalogue, verified):
    from app.booking.models import Registration
    from app.hospitals.models import Schedule
    from tests.booking.conftest import book, pay

    schedule_id = catalogue["schedule"](days_ahead=3, fee_fen=1500)
    person = verified(1)[0]
    booked = book(client, person, schedule_id).get_json()
    pay(app, booked)
    registration_id = booked["registration"]["id"]
    operator, _ = console("operator")
    hospitals = text(operator.get("/console/schedules?q=测试第一"))
    assert f'id="hospital-{catalogue["hospital_id"]}"' in hospitals
    departments = text(operator.get(f"/console/schedules?hospital_id={catalogue['hospital_id']}"))
    assert f'id="department-{catalogue["department_id"]}"' in departments
    with app.app_context():
        day = db.session.get(Schedule, schedule_id).work_date.isoformat()
        db.session.remove()
    listing = (f"/console/schedules?hospital_id={catalogue['hospital_id']}"
               f"&department_id={catalogue['department_id']}&day={day}")
    page = text(operator.get(listing))
    assert f'id="schedule-{schedule_id}"' in page and "李医生" in page
    assert operator.get(listing.replace(day, "2001-01-01")).status_code == 422  # out of window
    for odd in ("hospital_id=²", "hospital_id=" + "9" * 30, "hospital_id=999999"):
        assert operator.get(f"/console/schedules?{odd}").status_code in (200, 404), odd

    form = {"hospital_id": catalogue["hospital_id"], "department_id": catalogue["department_id"],
            "day": day}
    assert post(operator, f"/console/schedules/{schedule_id}/stop", {**form, "reason": "停"},
                page=listing).status_code == 422
    stopped = post(operator, f"/console/schedules/{schedule_id}/stop",
                   {**form, "reason": "医生临时出诊任务"}, page=listing)
    assert stopped.status_code == 303
    assert f"department_id={catalogue['department_id']}" in stopped.headers["Location"]
    with app.app_context():
        assert db.session.get(Schedule, schedule_id).status == "stopped"
        assert db.session.get(Registration, registration_id).status == "stopped"
        assert db.session.query(Refund).count() == 1
        db.session.remove()
    after = text(operator.get(stopped.headers["Location"]))
    assert "1 个已付费预约将全额退款" in after and "医生临时出诊任务" in after
    assert post(operator, f"/console/schedules/{schedule_id}/stop",
                {**form, "reason": "重复操作"}, page=listing).status_code == 409
    reviewer, _ = console("reviewer")
    assert reviewer.get(listing).status_code == 403
