"""Opening a dispute: by either side, once per order, only while money can still move; bad
input and other people's orders and files change nothing; a disputed order stands still."""
import io
from datetime import timedelta

import pytest

from app.care_orders.models import CareOrder
from app.common.time import utcnow
from app.extensions import db
from tests.care_disputes.conftest import (API, CAREGIVER_API, DISPUTE_TEXT, caregiver_dispute,
                                          entries, family_dispute, notification_kinds, ok,
                                          order_at, set_row)
from tests.care_orders.conftest import busy_blocks, order_row, run_jobs
from tests.conftest import row_counts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(client, person):
    response = client.post("/api/v1/files", headers=person["headers"],
                           content_type="multipart/form-data",
                           data={"purpose": "attachment", "file": (io.BytesIO(PNG), "e.png")})
    return ok(response, 201)["id"]


def events(app, order_id):
    from sqlalchemy import select

    from app.care_orders.models import CareOrderEvent

    with app.app_context():
        rows = db.session.execute(select(CareOrderEvent.kind, CareOrderEvent.actor,
                                         CareOrderEvent.note).where(
            CareOrderEvent.order_id == order_id).order_by(CareOrderEvent.seq)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_the_family_opens_a_dispute_with_its_own_evidence(app, client, care_world):
    order = order_at(app, client, care_world, "accepted")
    photo = upload(client, order["family"])
    opened = ok(family_dispute(client, order, evidence=[photo, photo]), 201)
    assert opened["opened_by"] == "family" and opened["status"] == "open"
    assert opened["text"] == DISPUTE_TEXT and opened["evidence_file_ids"] == [photo]
    assert opened["order_id"] == order["id"] and opened["outcome"] is None
    assert order_row(app, order["id"])["status"] == "disputed"
    with app.app_context():
        row = db.session.get(CareOrder, order["id"])
        assert row.status_before_dispute == "accepted" and row.disputed_at is not None
        db.session.remove()
    kind, actor, note = events(app, order["id"])[-1]
    assert (kind, actor) == ("disputed", "family") and DISPUTE_TEXT not in (note or "")
    assert "care_dispute_opened" in notification_kinds(app, order["caregiver"]["user_id"])
    assert "care_dispute_opened" not in notification_kinds(app, order["family"]["id"])
    # frozen: the family cannot cancel, the caregiver cannot start; the time stays held
    cancel = client.post(f"{API}/{order['id']}/cancel", json={},
                         headers=order["family"]["headers"])
    assert cancel.status_code == 409
    start = client.post(f"{CAREGIVER_API}/{order['id']}/start", json={},
                        headers=order["caregiver"]["headers"])
    assert start.status_code == 409
    assert len(busy_blocks(app, order["id"])) == 1
    # the order shows as disputed to both sides
    seen = ok(client.get(f"{API}/{order['id']}", headers=order["family"]["headers"]))
    assert seen["status"] == "disputed" and seen["timeline"][-1]["kind"] == "disputed"


def test_the_caregiver_opens_a_dispute_and_the_family_is_told(app, client, care_world):
    order = order_at(app, client, care_world, "in_service")
    opened = ok(caregiver_dispute(client, order), 201)
    assert opened["opened_by"] == "caregiver" and opened["opened_by_name"] == "护工"
    assert order_row(app, order["id"])["status"] == "disputed"
    assert "care_dispute_opened" in notification_kinds(app, order["family"]["id"])
    assert events(app, order["id"])[-1][:2] == ("disputed", "caregiver")


def test_one_dispute_per_order_ever(app, client, care_world):
    order = order_at(app, client, care_world, "accepted")
    ok(family_dispute(client, order), 201)
    for again in (family_dispute(client, order), caregiver_dispute(client, order)):
        assert again.status_code == 409 and again.get_json()["error"]["code"] == "dispute_exists"


@pytest.mark.parametrize("stage", ["pending_payment"])
def test_an_unpaid_order_cannot_be_disputed(app, client, care_world, stage):
    order = order_at(app, client, care_world, stage)
    before = row_counts(app)
    refused = family_dispute(client, order)
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "dispute_not_allowed"
    assert row_counts(app) == before and order_row(app, order["id"])["status"] == stage


def test_a_cancelled_order_cannot_be_disputed(app, client, care_world):
    order = order_at(app, client, care_world, "awaiting_acceptance")
    ok(client.post(f"{API}/{order['id']}/cancel", json={}, headers=order["family"]["headers"]))
    refused = family_dispute(client, order)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (
        409, "dispute_not_allowed")


def test_an_offer_not_yet_taken_is_rejected_not_disputed_by_the_caregiver(app, client,
                                                                           care_world):
    order = order_at(app, client, care_world, "awaiting_acceptance")
    refused = caregiver_dispute(client, order)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (
        409, "dispute_not_allowed")
    # the family may: its money is in the order
    ok(family_dispute(client, order), 201)


def test_other_peoples_orders_are_not_found(app, client, care_world):
    order = order_at(app, client, care_world, "accepted")
    stranger = care_world["family"]()
    other_caregiver = care_world["caregiver"]()
    before = row_counts(app)
    response = client.post(f"{API}/{order['id']}/dispute", headers=stranger["headers"],
                           json={"text": DISPUTE_TEXT})
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        404, "care_order_not_found")
    response = client.post(f"{CAREGIVER_API}/{order['id']}/dispute",
                           headers=other_caregiver["headers"], json={"text": DISPUTE_TEXT})
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        404, "care_order_not_found")
    # a user who is no caregiver at all
    response = client.post(f"{CAREGIVER_API}/{order['id']}/dispute",
                           headers=order["family"]["headers"], json={"text": DISPUTE_TEXT})
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        404, "caregiver_not_found")
    response = client.post(f"{API}/999999/dispute", headers=order["family"]["headers"],
                           json={"text": DISPUTE_TEXT})
    assert response.status_code == 404
    assert row_counts(app) == before and order_row(app, order["id"])["status"] == "accepted"


@pytest.mark.parametrize("body", [
    {"text": "太短了"},
    {"text": "短" * 9},
    {"text": "长" * 1001},
    {"text": "   " + "短" * 8 + "   "},  # trimmed before the length check
    {},
    {"text": None},
    {"text": DISPUTE_TEXT, "evidence_file_ids": list(range(1, 11))},
    {"text": DISPUTE_TEXT, "evidence_file_ids": ["1"]},
    {"text": DISPUTE_TEXT, "evidence_file_ids": [0]},
    {"text": DISPUTE_TEXT, "evidence_file_ids": 5},
    {"text": DISPUTE_TEXT, "extra": 1},
])
def test_bad_input_is_422_and_changes_nothing(app, client, care_world, body):
    order = order_at(app, client, care_world, "accepted")
    before = row_counts(app)
    response = client.post(f"{API}/{order['id']}/dispute", json=body,
                           headers=order["family"]["headers"])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_error"
    assert row_counts(app) == before and order_row(app, order["id"])["status"] == "accepted"


def test_evidence_must_be_the_callers_own_files(app, client, care_world):
    order = order_at(app, client, care_world, "accepted")
    mine = upload(client, order["family"])
    theirs = upload(client, order["caregiver"])
    before = row_counts(app)
    for evidence in ([theirs], [mine, theirs], [mine, 999999]):
        refused = family_dispute(client, order, evidence=evidence)
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (
            404, "file_not_found")
    assert row_counts(app) == before and order_row(app, order["id"])["status"] == "accepted"
    # and the caregiver's own file is fine for the caregiver
    ok(caregiver_dispute(client, order, evidence=[theirs]), 201)


def test_a_completed_order_is_disputable_only_within_the_hold(app, client, care_world):
    inside = order_at(app, client, care_world, "completed")
    ok(family_dispute(client, inside), 201)
    assert order_row(app, inside["id"])["status"] == "disputed"

    late = order_at(app, client, care_world, "completed")
    set_row(app, CareOrder, late["id"], completed_at=utcnow() - timedelta(days=7, minutes=1))
    refused = family_dispute(client, late)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (
        409, "dispute_window_closed")

    settled = order_at(app, client, care_world, "completed")
    with app.app_context():
        from app.earnings.services import settle_due_entries
        assert settle_due_entries(utcnow() + timedelta(days=8))["batches"] >= 1
        db.session.remove()
    assert [entry[4] for entry in entries(app, settled["id"])] == ["settled"]
    refused = caregiver_dispute(client, settled)
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (
        409, "dispute_window_closed")
    assert order_row(app, settled["id"])["status"] == "completed"


def test_jobs_leave_a_disputed_order_alone(app, client, care_world):
    """The offer timeout (and re-dispatch) and the auto-completion act on their own statuses
    only: a disputed order waits for staff."""
    from app.care_orders.dispatch import expire_offer
    from app.care_orders.services import auto_complete_order, orders_to_auto_complete

    care_world["caregiver"]()  # someone the offer could go to
    offered = order_at(app, client, care_world, "awaiting_acceptance")
    ok(family_dispute(client, offered), 201)
    set_row(app, CareOrder, offered["id"], acceptance_deadline=utcnow() - timedelta(minutes=1))

    ended = order_at(app, client, care_world, "awaiting_confirmation")
    ok(caregiver_dispute(client, ended), 201)
    set_row(app, CareOrder, ended["id"], ended_at=utcnow() - timedelta(hours=25))

    with app.app_context():
        assert expire_offer(offered["id"]) == "noop"
        assert auto_complete_order(ended["id"]) == "noop"
        assert ended["id"] not in orders_to_auto_complete()
        from app.extensions import jobs
        from app.tasks.care_orders import sweep_care_orders
        jobs.queue().enqueue(sweep_care_orders.job_name)
        db.session.remove()
    run_jobs(app)
    assert order_row(app, offered["id"])["status"] == "disputed"
    assert order_row(app, offered["id"])["caregiver_id"] == offered["caregiver"]["id"]
    assert order_row(app, ended["id"])["status"] == "disputed"
    assert entries(app, ended["id"]) == []
