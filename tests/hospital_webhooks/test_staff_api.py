"""The staff API: set the endpoint (secret once), the delivery log with filters and pages,
redelivery, and isolation between hospitals; operators and admins only."""
from app.common.time import utcnow
from app.extensions import db
from app.hospital_webhooks.models import WebhookDelivery
from tests.conftest import add_hospital_with_doctor
from tests.hospital_webhooks.conftest import (book_and_pay, deliver, deliveries, run_worker,
                                              set_endpoint)


def base(hospital_id):
    return f"/api/v1/staff/hospitals/{hospital_id}/webhook"


def _other_hospital_with_delivery(app, client, operator, receiver):
    """A second hospital with its own endpoint and one delivery (made directly)."""
    with app.app_context():
        hospital, _department, _doctor = add_hospital_with_doctor("H-OTHER", "另一家医院")
        hospital_id = hospital.id
        db.session.commit()
        db.session.remove()
    assert set_endpoint(client, operator, hospital_id, receiver.url).status_code == 200
    with app.app_context():
        db.session.add(WebhookDelivery(
            id="msg_" + "f" * 32, hospital_id=hospital_id, event_type="registration.booked",
            dedup_key="registration.booked:999999", registration_id=None,
            payload={"type": "registration.booked", "timestamp": "2026-01-01T00:00:00Z",
                     "data": {}}, status="pending", attempts=0, max_attempts=8,
            next_attempt_at=utcnow()))
        db.session.commit()
        db.session.remove()
    return hospital_id, "msg_" + "f" * 32


def test_set_endpoint_shows_the_secret_once_and_checks_the_url(app, client, catalogue,
                                                                 receiver, operator):
    hospital_id = catalogue["hospital_id"]
    assert client.get(base(hospital_id), headers=operator["headers"]).status_code == 404
    created = set_endpoint(client, operator, hospital_id, receiver.url)
    assert created.status_code == 200, created.get_json()
    body = created.get_json()
    assert body["secret"].startswith("whsec_") and body["endpoint"]["status"] == "active"
    shown = client.get(base(hospital_id), headers=operator["headers"])
    assert shown.status_code == 200 and "secret" not in shown.get_json()
    assert body["secret"] not in shown.get_data(as_text=True)
    # stored encrypted, never in clear
    with app.app_context():
        stored = db.session.execute(db.text(
            "SELECT secret_encrypted FROM hospital_webhook_endpoints")).scalar_one()
        db.session.remove()
    assert stored.startswith("v1:") and body["secret"] not in stored
    # replacing gives a new secret
    again = set_endpoint(client, operator, hospital_id, receiver.url + "/v2")
    assert again.get_json()["secret"] != body["secret"]
    for url in ("http://hospital.example.com/hook", "ftp://hospital.example.com/",
                "https://user:pw@hospital.example.com/", "https://10.0.0.8/hook",
                "https://localhost/hook", "not a url"):
        refused = set_endpoint(client, operator, hospital_id, url)
        assert refused.status_code == 422, (url, refused.get_json())
    assert set_endpoint(client, operator, hospital_id,
                        "https://his.example-hospital.cn/webhooks").status_code == 200
    app.config["HOSPITAL_WEBHOOK_ALLOW_HTTP_LOOPBACK"] = False  # as in production
    try:
        assert set_endpoint(client, operator, hospital_id, receiver.url).status_code == 422
    finally:
        app.config["HOSPITAL_WEBHOOK_ALLOW_HTTP_LOOPBACK"] = True
    assert set_endpoint(client, operator, 999999, receiver.url).status_code == 404


def test_delivery_log_filters_pages_and_redelivery(app, client, hooked, receiver, verified,
                                                   operator):
    receiver.script = [200, 500]
    first, second = verified(2)
    book_and_pay(client, app, first, hooked["schedule"](days_ahead=3))
    book_and_pay(client, app, second, hooked["schedule"](days_ahead=4))
    run_worker(app)  # one succeeds, one waits for its retry
    hospital = hooked["hospital_id"]
    listing = client.get(base(hospital) + "/deliveries?page_size=1",
                         headers=operator["headers"]).get_json()
    assert listing["total"] == 2 and len(listing["items"]) == 1
    succeeded = client.get(base(hospital) + "/deliveries?status=succeeded",
                           headers=operator["headers"]).get_json()["items"]
    pending = client.get(base(hospital) + "/deliveries?status=pending",
                         headers=operator["headers"]).get_json()["items"]
    assert len(succeeded) == 1 and len(pending) == 1
    assert succeeded[0]["last_status_code"] == 200 and succeeded[0]["payload"]["type"] == \
        "registration.booked"
    assert pending[0]["last_status_code"] == 500 and pending[0]["attempts"] == 1
    assert client.get(base(hospital) + "/deliveries?status=nope",
                      headers=operator["headers"]).status_code == 422

    # redeliver the succeeded one: the same message id, one more attempt, verified again
    done = succeeded[0]["id"]
    answer = client.post(base(hospital) + f"/deliveries/{done}/redeliver",
                         headers=operator["headers"])
    assert answer.status_code == 202 and answer.get_json()["status"] == "pending"
    run_worker(app)
    detail = client.get(base(hospital) + f"/deliveries/{done}", headers=operator["headers"])
    assert detail.get_json()["status"] == "succeeded" and detail.get_json()["attempts"] == 2
    again = [entry for entry in receiver.received if entry["headers"]["webhook-id"] == done]
    assert len(again) == 2 and all(entry["error"] is None for entry in again)
    assert again[0]["body"] == again[1]["body"]
    # a redelivery that fails is one attempt, not a new schedule
    receiver.default = 500
    assert client.post(base(hospital) + f"/deliveries/{done}/redeliver",
                       headers=operator["headers"]).status_code == 202
    run_worker(app)
    row = deliveries(app, id=done)[0]
    assert row["status"] == "failed" and row["attempts"] == 3 and row["next_attempt_at"] is None
    # a pending one is brought forward to now
    waiting = pending[0]["id"]
    receiver.default = 200
    assert deliver(app, waiting) is None  # not due for 5 s
    assert client.post(base(hospital) + f"/deliveries/{waiting}/redeliver",
                       headers=operator["headers"]).status_code == 202
    run_worker(app)
    assert deliveries(app, id=waiting)[0]["status"] == "succeeded"
    assert client.post(base(hospital) + "/deliveries/msg_nope/redeliver",
                       headers=operator["headers"]).status_code == 404
    # re-enabling an active endpoint is a 409
    assert client.post(base(hospital) + "/enable",
                       headers=operator["headers"]).status_code == 409


def test_redelivery_refused_while_disabled(app, client, hooked, receiver, verified, operator):
    receiver.script = [410]
    person, = verified(1)
    book_and_pay(client, app, person, hooked["schedule"]())
    run_worker(app)
    delivery_id = deliveries(app)[0]["id"]
    refused = client.post(base(hooked["hospital_id"]) + f"/deliveries/{delivery_id}/redeliver",
                          headers=operator["headers"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "webhook_endpoint_disabled"


def test_hospitals_do_not_see_each_others_deliveries(app, client, hooked, receiver, verified,
                                                     operator, staff_factory):
    person, = verified(1)
    book_and_pay(client, app, person, hooked["schedule"]())
    mine = deliveries(app)[0]["id"]
    other, theirs = _other_hospital_with_delivery(app, client, operator, receiver)
    here = hooked["hospital_id"]
    # through the wrong hospital's id: not found, never shown or redelivered
    for hospital_id, delivery_id in ((here, theirs), (other, mine)):
        assert client.get(base(hospital_id) + f"/deliveries/{delivery_id}",
                          headers=operator["headers"]).status_code == 404
        assert client.post(base(hospital_id) + f"/deliveries/{delivery_id}/redeliver",
                           headers=operator["headers"]).status_code == 404
    for hospital_id, expected in ((here, [mine]), (other, [theirs])):
        items = client.get(base(hospital_id) + "/deliveries",
                           headers=operator["headers"]).get_json()["items"]
        assert [item["id"] for item in items] == expected
        assert {item["hospital_id"] for item in items} == {hospital_id}
    # staff see all, by role: admins and operators yes, reviewers no, users no
    admin, reviewer = staff_factory("admin"), staff_factory("reviewer")
    assert client.get(base(other) + f"/deliveries/{theirs}",
                      headers=admin["headers"]).status_code == 200
    for path, method in ((base(here), "get"), (base(here) + "/deliveries", "get"),
                         (base(here) + f"/deliveries/{mine}", "get"),
                         (base(here) + f"/deliveries/{mine}/redeliver", "post"),
                         (base(here) + "/enable", "post")):
        assert getattr(client, method)(path, headers=reviewer["headers"]).status_code == 403
        assert getattr(client, method)(path, headers=person["headers"]).status_code in (401, 403)
    assert client.put(base(here), json={"url": "https://his.example.cn/h"},
                      headers=reviewer["headers"]).status_code == 403
    assert client.get(base(999999) + "/deliveries", headers=operator["headers"]).status_code == 404
