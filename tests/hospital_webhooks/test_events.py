"""Every registration event reaches the hospital once, signed as Standard Webhooks says, and a
receiver built on the standardwebhooks package verifies each delivery."""
from app.common.time import local_today
from app.extensions import db
from tests.booking.conftest import book, registration_row
from tests.conftest import ID_ALICE
from tests.hospital_webhooks.conftest import (book_and_pay, deliveries, queued_webhook_jobs,
                                              run_worker)
from tests.payments.conftest import wait_for

PATIENT = "王小明"


def _visit_today(app, registration_id):
    from app.booking.models import Registration

    with app.app_context():
        db.session.execute(db.update(Registration).where(Registration.id == registration_id)
                           .values(visit_date=local_today()))
        db.session.commit()
        db.session.remove()


def test_every_event_is_delivered_once_and_verifies(app, client, hooked, receiver, verified,
                                                    operator):
    first, second, third, unpaid = verified(4)
    s1, s2, s3 = (hooked["schedule"](days_ahead=3), hooked["schedule"](days_ahead=4),
                  hooked["schedule"](days_ahead=5))
    cancelled = book_and_pay(client, app, first, s1)
    stopped = book_and_pay(client, app, second, s2)
    visited = book_and_pay(client, app, third, s3)
    # three bookings, one delivery each, recorded in the payment's transaction, queued after it
    assert sorted(queued_webhook_jobs(app)) == sorted(d["id"] for d in deliveries(app))
    assert len(deliveries(app, event_type="registration.booked")) == 3

    # an order never paid is nothing to the hospital: booking and cancelling it sends nothing
    never_paid = book(client, unpaid, s1).get_json()["registration"]
    assert client.post(f"/api/v1/registrations/{never_paid['id']}/cancel",
                       headers=unpaid["headers"]).status_code == 200

    assert client.post(f"/api/v1/registrations/{cancelled['id']}/cancel",
                       headers=first["headers"]).status_code == 200
    assert client.post(f"/api/v1/staff/schedules/{s2}/stop", json={"reason": "专家外出会诊"},
                       headers=operator["headers"]).status_code == 200
    _visit_today(app, visited["id"])
    assert client.post(f"/api/v1/staff/registrations/{visited['id']}/visited",
                       headers=operator["headers"]).status_code == 200

    run_worker(app)  # refunds go to WeChat, the webhooks to the hospital
    assert wait_for(lambda: registration_row(app, cancelled["id"])["status"] == "refunded"
                    and registration_row(app, stopped["id"])["status"] == "refunded")
    run_worker(app)  # the refunded events recorded by the refund notifications

    rows = deliveries(app)
    by_event = {}
    for row in rows:
        by_event.setdefault(row["event_type"], []).append(row)
    assert {event: sorted(r["registration_id"] for r in items)
            for event, items in by_event.items()} == {
        "registration.booked": sorted([cancelled["id"], stopped["id"], visited["id"]]),
        "registration.cancelled": [cancelled["id"]],
        "registration.refunded": sorted([cancelled["id"], stopped["id"]]),
        "registration.stopped": [stopped["id"]],
        "registration.visited": [visited["id"]],
    }
    assert all(row["status"] == "succeeded" and row["attempts"] == 1 for row in rows)
    assert never_paid["id"] not in {row["registration_id"] for row in rows}

    # the receiver: one request per delivery, each verified by standardwebhooks
    assert len(receiver.received) == len(rows) == 8
    assert [entry["error"] for entry in receiver.received] == [None] * 8
    seen = {entry["headers"]["webhook-id"]: entry for entry in receiver.received}
    assert set(seen) == {row["id"] for row in rows}
    for row in rows:
        payload = seen[row["id"]]["verified"]
        assert payload["type"] == row["event_type"] and payload["timestamp"].endswith("Z")
        data = payload["data"]
        assert data["hospital_code"] == "H-TEST"
        assert data["department_id"] == hooked["department_id"]
        assert data["doctor_id"] == hooked["doctor_id"]
        assert data["department_external_id"] is None  # made by staff: no hospital id
        assert set(data) >= {"order_no", "visit_date", "period", "status", "fee_fen"}
        assert data["status"] == row["event_type"].split(".")[1]
        assert data["fee_fen"] == 5000
        raw = seen[row["id"]]["body"].decode()
        assert PATIENT not in raw and ID_ALICE not in raw and "13800000000" not in raw
    stopped_payload = seen[by_event["registration.stopped"][0]["id"]]["verified"]
    assert stopped_payload["data"]["reason"] == "专家外出会诊"

    # a tampered body or a wrong secret does not verify with the same headers
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    entry = receiver.received[0]
    for secret, body in ((receiver.secret, entry["body"] + b" "),
                         ("whsec_" + "QUJD" * 11, entry["body"])):
        try:
            Webhook(secret).verify(body, entry["headers"])
            raise AssertionError("verified what it should not")
        except WebhookVerificationError:
            pass


def test_external_ids_from_the_open_api_mapping(app, client, hooked, receiver, verified):
    from app.open_api.models import ExternalId

    person, = verified(1)
    schedule_id = hooked["schedule"]()
    with app.app_context():
        for kind, internal, external in (("department", hooked["department_id"], "D-CARDIO"),
                                         ("doctor", hooked["doctor_id"], "DR-0042"),
                                         ("schedule", schedule_id, "SCH-2026-1")):
            db.session.add(ExternalId(hospital_id=hooked["hospital_id"], kind=kind,
                                      internal_id=internal, external_id=external))
        db.session.commit()
        db.session.remove()
    book_and_pay(client, app, person, schedule_id)
    run_worker(app)
    data = receiver.received[0]["verified"]["data"]
    assert (data["department_external_id"], data["doctor_external_id"],
            data["schedule_external_id"]) == ("D-CARDIO", "DR-0042", "SCH-2026-1")


def test_no_endpoint_or_disabled_endpoint_records_nothing(app, client, catalogue, verified,
                                                          receiver, operator):
    person, other = verified(2)
    book_and_pay(client, app, person, catalogue["schedule"]())
    assert deliveries(app) == []  # the hospital has no endpoint
    from app.hospital_webhooks.models import WebhookEndpoint
    from tests.hospital_webhooks.conftest import set_endpoint

    assert set_endpoint(client, operator, catalogue["hospital_id"], receiver.url).status_code == 200
    with app.app_context():
        db.session.execute(db.update(WebhookEndpoint).values(status="disabled"))
        db.session.commit()
        db.session.remove()
    book_and_pay(client, app, other, catalogue["schedule"](days_ahead=4))
    assert deliveries(app) == []
