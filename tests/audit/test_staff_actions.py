"""Each kind of staff action through the API leaves exactly one audit entry, by that staff
member, with the rows it changed before and after; names, phones and ID numbers never appear."""
from sqlalchemy import update

from app.extensions import db
from tests.announcements.conftest import announce
from tests.audit.conftest import change_of, dump, entries, only_entry
from tests.booking.conftest import book, catalogue, pay, verified  # noqa: F401  (fixtures)
from tests.care_disputes.conftest import family_dispute, ok, order_at, resolve
from tests.care_orders.conftest import care_world  # noqa: F401  (fixture)
from tests.caregivers.test_review import caregiver_in, decide as decide_caregiver
from tests.conftest import ID_ALICE
from tests.qualifications.helpers import become_caregiver, create, health_body

PERSONAL = ("王小明", "王秀英", "13700000000", "13700000001", "13800000000", ID_ALICE)


def assert_no_personal_data(app):
    from app.patients.models import Patient
    text = dump(app)
    with app.app_context():  # every patient's ID number, whoever made them
        numbers = [patient.id_number for patient in db.session.query(Patient)]
        db.session.remove()
    for value in (*PERSONAL, *numbers):
        assert value not in text, value


def test_caregiver_review(app, client, staff_factory):
    reviewer = staff_factory("reviewer")
    caregiver_id = caregiver_in(app, "pending_review")
    ok(decide_caregiver(client, reviewer, caregiver_id, approve=True))
    entry = only_entry(app, staff_id=reviewer["id"])
    assert entry["action"] == f"/api/v1/staff/caregivers/{caregiver_id}/decision"
    change = change_of(entry, "caregivers", caregiver_id, "update")
    assert (change["before"]["status"], change["after"]["status"]) == ("pending_review",
                                                                      "approved")
    assert_no_personal_data(app)


def test_qualification_review(app, client, alice, staff_factory):
    reviewer = staff_factory("reviewer")
    become_caregiver(app, alice)
    health = create(client, alice, health_body(client, alice))
    response = client.post(f"/api/v1/staff/qualifications/{health['id']}/decision",
                           json={"approve": False, "reason": "照片模糊"},
                           headers=reviewer["headers"])
    assert response.status_code == 200, response.get_json()
    entry = only_entry(app, staff_id=reviewer["id"])
    change = change_of(entry, "qualifications", health["id"], "update")
    assert (change["before"]["status"], change["after"]["status"]) == ("pending", "rejected")
    assert change["after"]["reject_reason"] == "照片模糊"
    assert "JK-2026-0001" not in dump(app)  # the certificate number is personal data


def test_care_order_reassign(app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "accepted")
    other = care_world["caregiver"]()
    ok(client.post(f"/api/v1/staff/care-orders/{order['id']}/reassign",
                   headers=operator["headers"],
                   json={"caregiver_id": other["id"], "reason": "原护工临时住院"}))
    entry = only_entry(app, staff_id=operator["id"])
    change = change_of(entry, "care_orders", order["id"], "update")
    assert change["before"]["caregiver_id"] == order["caregiver"]["id"]
    assert change["after"]["caregiver_id"] == other["id"]
    assert (change["before"]["status"], change["after"]["status"]) == ("accepted",
                                                                      "awaiting_acceptance")
    assert_no_personal_data(app)


def test_care_order_cancel(app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "accepted")
    ok(client.post(f"/api/v1/staff/care-orders/{order['id']}/cancel",
                   headers=operator["headers"],
                   json={"refund_fen": 10000, "reason": "患者转院,协商退款"}))
    entry = only_entry(app, staff_id=operator["id"])
    change = change_of(entry, "care_orders", order["id"], "update")
    assert (change["before"]["status"], change["after"]["status"]) == ("accepted", "cancelled")
    assert change["after"]["cancel_reason"] == "患者转院,协商退款"
    refund = change_of(entry, "refunds", operation="insert")
    assert refund["after"]["amount_fen"] == 10000
    assert_no_personal_data(app)


def test_dispute_resolve(app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    order = order_at(app, client, care_world, "accepted")
    dispute = ok(family_dispute(client, order), 201)
    ok(resolve(client, operator, order["id"], "full_refund", note="护工无法到岗"))
    entry = only_entry(app, staff_id=operator["id"])
    change = change_of(entry, "care_disputes", dispute["id"], "update")
    assert change["before"]["status"] == "open" and change["after"]["status"] == "resolved"
    assert change["after"]["note"] == "护工无法到岗"
    order_change = change_of(entry, "care_orders", order["id"], "update")
    assert order_change["after"]["status"] == "resolved"
    assert_no_personal_data(app)


def test_stop_clinic_and_refund_retry(app, client, catalogue, verified, staff_factory):
    operator = staff_factory("operator")
    person = verified(1)[0]
    schedule_id = catalogue["schedule"](days_ahead=3)
    booked = book(client, person, schedule_id)
    assert booked.status_code == 201, booked.get_json()
    pay(app, booked.get_json())
    registration_id = booked.get_json()["registration"]["id"]

    stopped = client.post(f"/api/v1/staff/schedules/{schedule_id}/stop",
                          json={"reason": "医生临时出诊任务"}, headers=operator["headers"])
    assert stopped.status_code == 200, stopped.get_json()
    entry = only_entry(app, staff_id=operator["id"])
    schedule = change_of(entry, "schedules", schedule_id, "update")
    assert (schedule["before"]["status"], schedule["after"]["status"]) == ("open", "stopped")
    registration = change_of(entry, "registrations", registration_id, "update")
    assert (registration["before"]["status"], registration["after"]["status"]) == ("booked",
                                                                                  "stopped")
    refund = change_of(entry, "refunds", operation="insert")

    # WeChat refused the refund for good (set here: the refusal path is tested in payments)
    from app.payments.models import Refund
    with app.app_context():
        db.session.execute(update(Refund).where(Refund.id == int(refund["row_id"]))
                           .values(status="failed"))
        db.session.commit()
        db.session.remove()
    admin = staff_factory("admin")
    retried = client.post(f"/api/v1/staff/refunds/{refund['row_id']}/retry",
                          headers=admin["headers"])
    assert retried.status_code == 200, retried.get_json()
    entry = only_entry(app, staff_id=admin["id"])
    change = change_of(entry, "refunds", refund["row_id"], "update")
    assert change["before"]["status"] == "failed" and change["after"]["status"] != "failed"
    assert_no_personal_data(app)


def test_message_template_edit(app, client, staff_factory):
    admin = staff_factory("admin")
    response = client.patch("/api/v1/staff/message-templates/announcement",
                            json={"enabled": False}, headers=admin["headers"])
    assert response.status_code == 200, response.get_json()
    entry = only_entry(app, staff_id=admin["id"])
    assert entry["method"] == "PATCH"
    # the first edit of an event's template stores a row over the built-in default
    change = change_of(entry, "message_templates", operation="insert")
    assert change["before"] is None and change["after"]["enabled"] is False
    assert change["after"]["event"] == "announcement"

    response = client.patch("/api/v1/staff/message-templates/announcement",
                            json={"enabled": True}, headers=admin["headers"])
    assert response.status_code == 200, response.get_json()
    entry = entries(app, staff_id=admin["id"])[1]
    change = change_of(entry, "message_templates", change["row_id"], "update")
    assert change["before"]["enabled"] is False and change["after"]["enabled"] is True


def test_announcement_create(app, client, staff_factory):
    operator = staff_factory("operator")
    created = announce(client, operator)
    assert created.status_code == 201, created.get_json()
    entry = only_entry(app, staff_id=operator["id"])
    change = change_of(entry, "announcements", created.get_json()["id"], "insert")
    assert change["before"] is None and change["after"]["title"] == "系统维护通知"
