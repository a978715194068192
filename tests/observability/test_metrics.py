"""/metrics: protected (a bearer token or an allowed network), and the figures it shows move
exactly with what happened: request latency by route, bookings and their refusals by code, the
booking gate, payment notifications (applied, duplicate, refused), care orders; queue lengths
and failed jobs equal what the console's jobs page shows."""
import re

from sqlalchemy import select

from app import create_app
from app.booking.models import Registration
from app.extensions import db
from app.payments.models import Payment
from app.wechat.simulator.pay import build_notification
from tests.booking.conftest import book
from tests.care_orders.conftest import care_world  # noqa: F401  (fixture)
from tests.console.conftest import text
from tests.observability.conftest import TOKEN, scrape, value
from tests.platform import jobs_for_tests as test_jobs
from tests.platform.test_jobs_cli import burst, enqueue


def test_metrics_are_refused_without_the_token(app, client, metrics_token):
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": TOKEN},
                    {"Authorization": f"Basic {TOKEN}"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 404, headers
        assert b"medapp_" not in refused.get_data()
    served = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert served.status_code == 200
    assert served.headers["Content-Type"].startswith("text/plain")
    assert b"medapp_http_request_duration_seconds" in served.get_data()


def test_without_a_token_configured_nobody_gets_in(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer None"}).status_code == 404


def test_an_allowed_network_gets_in_without_a_token(app):
    settings = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "REDIS_URL",
                                                  "INSTANCE_DIR", "UPLOAD_DIR")}
    inside = create_app("testing", {**settings, "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8, bad"})
    client = inside.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 404
    assert client.get("/metrics").status_code == 404  # the test client's 127.0.0.1


def test_request_latency_is_counted_by_route_not_by_path(client, metrics_token):
    before = scrape(client)
    for hospital_id in (101, 102, 103):
        assert client.get(f"/api/v1/hospitals/{hospital_id}").status_code == 404
    after = scrape(client)
    route = {"method": "GET", "route": "/api/v1/hospitals/<int:hospital_id>", "status": "404"}
    assert value(after, "medapp_http_request_duration_seconds_count", **route) - value(
        before, "medapp_http_request_duration_seconds_count", **route) == 3
    assert not any("/api/v1/hospitals/101" in str(labels) for _, labels in after)


def test_a_booking_and_its_refusals_show_by_code(app, client, catalogue, verified,
                                                 metrics_token):
    schedule_id = catalogue["schedule"](total=1)
    alice, bob = verified(2)
    before = scrape(client)
    assert book(client, alice, schedule_id).status_code == 201
    again = book(client, alice, schedule_id)  # the same patient, the same clinic
    assert again.status_code == 409
    sold_out = book(client, bob, schedule_id)
    assert sold_out.status_code == 409
    assert sold_out.get_json()["error"]["code"] == "slot_sold_out"
    after = scrape(client)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("medapp_booking_outcomes_total", code="success") == 1
    assert moved("medapp_booking_outcomes_total", code="slot_sold_out") == 2  # the gate's too
    # the gate: one ticket taken; the two that came after were turned away
    assert moved("medapp_booking_gate_total", step="take", result="passed") == 1
    turned_away = (moved("medapp_booking_gate_total", step="check", result="turned_away")
                   + moved("medapp_booking_gate_total", step="take", result="turned_away"))
    assert turned_away == 2


def test_a_refused_booking_counts_its_own_code(app, client, catalogue, verified, metrics_token):
    schedule_id = catalogue["schedule"](days_ahead=30)  # beyond the 7-day window
    (alice,) = verified(1)
    before = scrape(client)
    refused = book(client, alice, schedule_id)
    assert refused.status_code == 409
    code = refused.get_json()["error"]["code"]
    assert code in ("not_released", "booking_closed")
    after = scrape(client)
    assert value(after, "medapp_booking_outcomes_total", code=code) - value(
        before, "medapp_booking_outcomes_total", code=code) == 1
    assert value(after, "medapp_booking_outcomes_total", code="success") == value(
        before, "medapp_booking_outcomes_total", code="success")


def test_care_orders_placed_and_refused_show_by_code(app, client, care_world, metrics_token):
    from tests.care_orders.conftest import API, order_body

    caregiver = care_world["caregiver"]()
    family, other = care_world["family"](), care_world["family"]()
    before = scrape(client)
    placed = client.post(API, json=order_body(care_world, family, caregiver),
                         headers=family["headers"])
    assert placed.status_code == 201, placed.get_json()
    # the same hours with the same caregiver, now taken by the first order
    clash = client.post(API, json=order_body(care_world, other, caregiver),
                        headers=other["headers"])
    assert clash.status_code == 409, clash.get_json()
    code = clash.get_json()["error"]["code"]
    after = scrape(client)

    def moved(**labels):
        return (value(after, "medapp_care_order_outcomes_total", **labels)
                - value(before, "medapp_care_order_outcomes_total", **labels))

    assert moved(code="success") == 1
    assert moved(code=code) == 1


def _notification(app, out_trade_no, amount_fen, transaction_id="4200000000202611220000000077"):
    resource = {"appid": app.config["WECHATPAY_APPID"], "mchid": app.config["WECHATPAY_MCHID"],
                "out_trade_no": out_trade_no, "transaction_id": transaction_id,
                "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                "success_time": "2026-11-22T10:00:00+08:00", "payer": {"openid": "o-test"},
                "amount": {"total": amount_fen, "payer_total": amount_fen, "currency": "CNY",
                           "payer_currency": "CNY"}}
    with app.app_context():
        return build_notification("TRANSACTION.SUCCESS", "transaction", resource)


def test_payment_notifications_applied_duplicate_and_refused(app, client, catalogue, verified,
                                                             metrics_token):
    schedule_id = catalogue["schedule"]()
    (alice,) = verified(1)
    booked = book(client, alice, schedule_id)
    assert booked.status_code == 201
    with app.app_context():
        payment = db.session.scalar(select(Payment).where(
            Payment.order_type == "registration",
            Payment.order_id == booked.get_json()["registration"]["id"]))
        out_trade_no, amount = payment.out_trade_no, payment.amount_fen
        db.session.remove()
    headers, body = _notification(app, out_trade_no, amount)

    def send(data, sent_headers=headers):
        return client.post("/wechat/pay/notify", data=data, headers=sent_headers,
                           content_type="application/json")

    before = scrape(client)
    assert send(body).status_code == 204
    assert send(body).status_code == 204  # WeChat delivers the same notification again
    tampered = body.replace('"id": "', '"id": "x', 1)  # the signature no longer matches
    assert tampered != body and 400 <= send(tampered).status_code < 500
    bad_headers, bad_body = _notification(app, "G-no-such-order", amount)
    assert send(bad_body, bad_headers).status_code >= 400  # unknown order
    after = scrape(client)

    def moved(**labels):
        return (value(after, "medapp_payment_notifications_total", **labels)
                - value(before, "medapp_payment_notifications_total", **labels))

    assert moved(outcome="applied", code="") == 1
    assert moved(outcome="duplicate", code="") == 1
    refused = {labels: v - before.get((name, labels), 0.0) for (name, labels), v in after.items()
               if name == "medapp_payment_notifications_total"
               and ("outcome", "refused") in labels}
    assert sum(refused.values()) == 2
    assert moved(outcome="refused", code="unknown_out_trade_no") == 1
    with app.app_context():
        status = db.session.scalar(select(Registration.status).where(
            Registration.id == booked.get_json()["registration"]["id"]))
        db.session.remove()
    assert status == "booked"


def _jobs_page(admin) -> dict:
    """{queue: {label: number}} as the console's jobs page shows them."""
    page = text(admin.get("/console/jobs"))
    shown = {}
    for name, section in re.findall(r'<section class="console-card" id="queue-([\w-]+)">(.*?)'
                                    r'</section>', page, re.S):
        cells = re.findall(r'<div class="weui-cell__bd">([^<]+)</div><div class="weui-cell__ft"'
                           r'[^>]*>(\d+)</div>', section)
        shown[name] = {label: int(number) for label, number in cells}
    return shown


def test_queue_lengths_and_failed_jobs_equal_the_jobs_page(app, client, console, metrics_token):
    enqueue(app, test_jobs.flaky, "always", 99, retry_intervals=[0])
    burst(app)  # it fails, is retried once, fails again: one failed job
    for key in ("a", "b", "c"):
        enqueue(app, test_jobs.remember, key, "x")  # three queued, no worker runs them
    enqueue(app, test_jobs.remember, "later", "x", delay_seconds=3600)  # one scheduled
    admin, _ = console("admin")
    shown = _jobs_page(admin)
    samples = scrape(client)
    assert value(samples, "medapp_jobs_scrape_ok") == 1
    labels = {"排队": ("medapp_job_queue_length", "queued"),
              "计划中": ("medapp_job_queue_length", "scheduled"),
              "运行中": ("medapp_job_queue_length", "running"),
              "失败": ("medapp_jobs_failed", None), "工作进程": ("medapp_job_workers", None)}
    assert set(shown) == set(app.config["RQ_QUEUES"])
    for queue, cells in shown.items():
        assert set(cells) == set(labels)
        for label, number in cells.items():
            name, state = labels[label]
            extra = {"state": state} if state else {}
            assert value(samples, name, queue=queue, **extra) == number, (queue, label)
    assert shown["default"]["失败"] == 1 and shown["default"]["排队"] == 3
    assert shown["default"]["计划中"] == 1
