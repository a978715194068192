"""Registrations and care orders in the console: search and filter, detail, and each action
(cancel with refund, mark visited, reassign) changing state through its service, refused with
the service's error code, and recorded in the audit log as the console's."""
from sqlalchemy import select

from app.audit.models import AuditEntry
from app.booking.models import Registration
from app.extensions import db
from app.patients.models import Patient
from app.payments.models import Payment, Refund
from tests.booking.conftest import book as book_registration, pay as pay_registration
from tests.care_orders.conftest import order_row
from tests.care_orders.conftest import paid_order
from tests.care_orders.test_staff import unpaid_order
from tests.console.conftest import post, text


def _registration(app, client, person, schedule_id, paid=True) -> int:
    body = book_registration(client, person, schedule_id).get_json()
    if paid:
        pay_registration(app, body)
    return body["registration"]["id"]


def _status(app, registration_id) -> str:
    with app.app_context():
        status = db.session.get(Registration, registration_id).status
        db.session.remove()
    return status


def _refunds(app, order_type, order_id) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(select(Refund.amount_fen, Refund.status, Refund.requested_by)
                                  .join(Payment, Payment.id == Refund.payment_id).where(
            Payment.order_type == order_type, Payment.order_id == order_id)
            .order_by(Refund.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def _visit_day_arrives(app, registration_id):
    """Time passes: the registration's visit day is today."""
    from app.common.time import local_today
    with app.app_context():
        db.session.get(Registration, registration_id).visit_date = local_today()
        db.session.commit()
        db.session.remove()


def _audited(app, staff_id, path) -> bool:
    """The console's write is in the audit log, by that staff member, as the console's."""
    with app.app_context():
        found = db.session.scalar(select(AuditEntry.id).where(
            AuditEntry.staff_id == staff_id, AuditEntry.source == "console",
            AuditEntry.method == "POST", AuditEntry.action == path))
        db.session.remove()
    return found is not None


def _refused(response, status, code):
    assert response.status_code == status, (response.status_code, text(response)[:400])
    assert f'data-error-code="{code}"' in text(response), text(response)[:600]


# ---- registrations ---------------------------------------------------------------------------

def test_registrations_are_searched_and_filtered(app, client, console, catalogue, verified):
    alice, bob = verified(2)
    with app.app_context():
        db.session.get(Patient, bob["patient_id"]).phone = "13900002222"
        db.session.commit()
        db.session.remove()
    paid = _registration(app, client, alice, catalogue["schedule"](days_ahead=3))
    unpaid = _registration(app, client, bob, catalogue["schedule"](days_ahead=5), paid=False)
    operator, _ = console("operator")

    page = text(operator.get("/console/registrations"))
    assert f'id="registration-{paid}"' in page and f'id="registration-{unpaid}"' in page
    assert page.index(f'id="registration-{unpaid}"') < page.index(f'id="registration-{paid}"')
    assert "王*明" in page and "王小明" not in page
    assert "测试第一人民医院" in page  # in the hospital filter and on the rows

    def shown(query):
        listed = operator.get(f"/console/registrations?{query}")
        assert listed.status_code == 200, (query, text(listed)[:400])
        return [i for i in (paid, unpaid) if f'id="registration-{i}"' in text(listed)]

    assert shown("status=booked") == [paid]
    assert shown("status=pending_payment") == [unpaid]
    assert shown("q=13900002222") == [unpaid]  # the patient's phone, through its blind index
    with app.app_context():
        order_no = db.session.get(Registration, paid).order_no
        visit = db.session.get(Registration, unpaid).visit_date
        db.session.remove()
    assert shown(f"q={order_no}") == [paid]
    assert shown(f"visit_from={visit.isoformat()}&visit_to=&status=") == [unpaid]
    assert shown(f"hospital_id={catalogue['hospital_id']}") == [paid, unpaid]
    assert shown(f"user_id={alice['id']}") == [paid]
    for bad in ("status=lost", "visit_from=2026-13-01", "hospital_id=abc",
                f"visit_from={visit.isoformat()}&visit_to=2000-01-01"):
        _refused(operator.get(f"/console/registrations?{bad}"), 422, "validation_error")


def test_an_operator_cancels_a_paid_registration_with_a_full_refund(app, client, console,
                                                                    catalogue, verified):
    person, = verified(1)
    registration_id = _registration(app, client, person, catalogue["schedule"](fee_fen=2600))
    operator, staff_id = console("operator")
    detail_path = f"/console/registrations/{registration_id}"
    detail = text(operator.get(detail_path))
    assert 'id="cancel-form"' in detail and 'id="visited-form"' not in detail  # not its day yet
    assert "王*明" in detail and "138****0000" in detail and "王小明" not in detail

    path = f"{detail_path}/cancel"
    for reason in ("", "x", "因" * 81):
        _refused(post(operator, path, {"reason": reason}, page=detail_path), 422,
                 "validation_error")
    assert _status(app, registration_id) == "booked"

    cancelled = post(operator, path, {"reason": "医院设备检修"}, page=detail_path)
    assert cancelled.status_code == 303, text(cancelled)[:400]
    assert _status(app, registration_id) == "cancelled"
    assert _refunds(app, "registration", registration_id) == [
        (2600, "processing", f"staff:{staff_id}")]
    assert _audited(app, staff_id, path)
    after = text(operator.get(cancelled.headers["Location"]))
    assert "已取消,退款已发起" in after and "医院设备检修" in after
    assert 'id="cancel-form"' not in after and 'id="visited-form"' not in after

    _refused(post(operator, path, {"reason": "再次取消"}, page=detail_path), 409,
             "invalid_state_transition")
    _refused(post(operator, f"{detail_path}/visited", page=detail_path), 409,
             "invalid_state_transition")
    assert len(_refunds(app, "registration", registration_id)) == 1
    _refused(operator.get("/console/registrations/999999"), 404, "registration_not_found")
    _refused(post(operator, "/console/registrations/999999/cancel", {"reason": "医院通知"}),
             404, "registration_not_found")


def test_an_operator_marks_a_visit(app, client, console, catalogue, verified):
    person, = verified(1)
    registration_id = _registration(app, client, person, catalogue["schedule"]())
    unpaid = _registration(app, client, person, catalogue["schedule"](days_ahead=4), paid=False)
    operator, staff_id = console("operator")
    path = f"/console/registrations/{registration_id}/visited"
    _refused(post(operator, path), 409, "visit_day_not_reached")  # not before its day
    assert _status(app, registration_id) == "booked"
    _visit_day_arrives(app, registration_id)
    assert 'id="visited-form"' in text(operator.get(f"/console/registrations/{registration_id}"))
    marked = post(operator, path, page=f"/console/registrations/{registration_id}")
    assert marked.status_code == 303, text(marked)[:400]
    assert _status(app, registration_id) == "visited"
    assert _audited(app, staff_id, path)
    assert "已标记为已就诊" in text(operator.get(marked.headers["Location"]))
    _refused(post(operator, path), 409, "invalid_state_transition")
    _refused(post(operator, f"/console/registrations/{unpaid}/visited"), 409,
             "invalid_state_transition")
    assert _status(app, unpaid) == "pending_payment"


# ---- care orders -----------------------------------------------------------------------------

def test_care_orders_are_searched_and_filtered(app, client, console, care_world):
    first, second = care_world["caregiver"](), care_world["caregiver"]()
    alice, bob = care_world["family"](), care_world["family"]("李四海")
    paid = paid_order(app, client, care_world, alice, first, days_ahead=3)
    unpaid = unpaid_order(client, care_world, bob, second, days_ahead=5)
    operator, _ = console("operator")
    page = text(operator.get("/console/care-orders"))
    assert page.index(f'id="care-order-{unpaid}"') < page.index(f'id="care-order-{paid}"')
    assert "李*海" in page and "李四海" not in page

    def shown(query):
        listed = operator.get(f"/console/care-orders?{query}")
        assert listed.status_code == 200, (query, text(listed)[:400])
        return [i for i in (paid, unpaid) if f'id="care-order-{i}"' in text(listed)]

    assert shown("status=awaiting_acceptance") == [paid]
    assert shown(f"caregiver_id={second['id']}") == [unpaid]
    assert shown(f"user_id={alice['id']}&dispatch_mode=chosen") == [paid]
    assert shown(f"q={_order_no(app, paid)}") == [paid]
    for bad in ("status=lost", "caregiver_id=abc", "dispatch_mode=any", "start_from=2026-02-30"):
        _refused(operator.get(f"/console/care-orders?{bad}"), 422, "validation_error")


def _order_no(app, order_id) -> str:
    from app.care_orders.models import CareOrder

    with app.app_context():
        order_no = db.session.get(CareOrder, order_id).order_no
        db.session.remove()
    return order_no


def test_an_operator_reassigns_a_care_order(app, client, console, care_world):
    first = care_world["caregiver"]()
    cheaper = care_world["caregiver"](prices={"full_day": 25000})
    dearer = care_world["caregiver"](prices={"full_day": 35000})
    family = care_world["family"]()
    order_id = paid_order(app, client, care_world, family, first)
    operator, staff_id = console("operator")
    detail_path = f"/console/care-orders/{order_id}"
    detail = text(operator.get(detail_path))
    assert 'id="reassign-form"' in detail and 'id="cancel-form"' in detail

    path = f"{detail_path}/reassign"
    for form in ({"caregiver_id": "", "reason": "原护工临时住院"},
                 {"caregiver_id": "abc", "reason": "原护工临时住院"},
                 {"caregiver_id": str(cheaper["id"]), "reason": "改"}):
        _refused(post(operator, path, form, page=detail_path), 422, "validation_error")
    _refused(post(operator, path, {"caregiver_id": str(dearer["id"]), "reason": "原护工临时住院"},
                  page=detail_path), 409, "caregiver_price_too_high")
    _refused(post(operator, path, {"caregiver_id": "999999", "reason": "原护工临时住院"},
                  page=detail_path), 404, "caregiver_not_found")
    assert order_row(app, order_id)["caregiver_id"] == first["id"]

    moved = post(operator, path, {"caregiver_id": str(cheaper["id"]), "reason": "原护工临时住院"},
                 page=detail_path)
    assert moved.status_code == 303, text(moved)[:400]
    assert order_row(app, order_id)["caregiver_id"] == cheaper["id"]
    # the cheaper quote: the difference goes back to the family
    assert [amount for amount, _, _ in _refunds(app, "care_order", order_id)] == [5000]
    assert _audited(app, staff_id, path)
    after = text(operator.get(moved.headers["Location"]))
    assert "已改派" in after and f"#{cheaper['id']}" in after and "原护工临时住院" in after


def test_an_operator_cancels_care_orders(app, client, console, care_world):
    caregiver, other = care_world["caregiver"](), care_world["caregiver"]()
    family = care_world["family"]()
    paid = paid_order(app, client, care_world, family, caregiver)
    client.post(f"/api/v1/caregiver/care-orders/{paid}/accept", headers=caregiver["headers"])
    unpaid = unpaid_order(client, care_world, care_world["family"]("赵钱孙"), other)
    operator, staff_id = console("operator")
    total = order_row(app, paid)["total_fen"]

    path = f"/console/care-orders/{paid}/cancel"
    page = f"/console/care-orders/{paid}"
    for form, code in (({"refund_yuan": "1.234", "reason": "家属要求取消"}, "invalid_amount"),
                       ({"refund_yuan": "abc", "reason": "家属要求取消"}, "invalid_amount"),
                       ({"refund_yuan": "-1", "reason": "家属要求取消"}, "validation_error"),
                       ({"refund_yuan": "", "reason": "取"}, "validation_error"),
                       ({"refund_yuan": str(total / 100 + 1), "reason": "家属要求取消"},
                        "refund_exceeds_kept")):
        _refused(post(operator, path, form, page=page), 422, code)
    assert order_row(app, paid)["status"] == "accepted"

    cancelled = post(operator, path, {"refund_yuan": "100", "reason": "家属要求取消"}, page=page)
    assert cancelled.status_code == 303, text(cancelled)[:400]
    assert order_row(app, paid)["status"] == "cancelled"
    assert [amount for amount, _, _ in _refunds(app, "care_order", paid)] == [10000]
    assert _audited(app, staff_id, path)
    after = text(operator.get(cancelled.headers["Location"]))
    assert "家属要求取消" in after and 'id="cancel-form"' not in after
    _refused(post(operator, path, {"reason": "再次取消"}, page=page), 409,
             "invalid_state_transition")

    unpaid_path = f"/console/care-orders/{unpaid}/cancel"
    _refused(post(operator, unpaid_path, {"refund_yuan": "1", "reason": "重复下单"}), 422,
             "nothing_to_refund")
    assert post(operator, unpaid_path, {"reason": "重复下单"}).status_code == 303
    assert order_row(app, unpaid)["status"] == "cancelled"
    _refused(operator.get("/console/care-orders/999999"), 404, "care_order_not_found")


# ---- roles -----------------------------------------------------------------------------------

def test_a_reviewer_gets_the_403_page_and_changes_nothing(app, client, console, catalogue,
                                                          verified, care_world):
    person, = verified(1)
    registration_id = _registration(app, client, person, catalogue["schedule"]())
    order_id = paid_order(app, client, care_world, care_world["family"](),
                          care_world["caregiver"]())
    spare = care_world["caregiver"]()
    reviewer, _ = console("reviewer")
    assert 'href="/console/registrations"' not in text(reviewer.get("/console/"))
    for path in ("/console/registrations", f"/console/registrations/{registration_id}",
                 "/console/care-orders", f"/console/care-orders/{order_id}"):
        _refused(reviewer.get(path), 403, "forbidden")
    for path, form in ((f"/console/registrations/{registration_id}/cancel", {"reason": "医院通知"}),
                       (f"/console/registrations/{registration_id}/visited", {}),
                       (f"/console/care-orders/{order_id}/cancel", {"reason": "医院通知"}),
                       (f"/console/care-orders/{order_id}/reassign",
                        {"caregiver_id": str(spare["id"]), "reason": "医院通知"})):
        _refused(post(reviewer, path, form), 403, "forbidden")
    assert _status(app, registration_id) == "booked"
    assert order_row(app, order_id)["status"] == "awaiting_acceptance"
    admin, _ = console("admin")
    assert 'href="/console/registrations"' in text(admin.get("/console/"))
    assert 'href="/console/care-orders"' in text(admin.get("/console/"))
