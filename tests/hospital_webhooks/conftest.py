"""A hospital's receiver built on the standardwebhooks package, in an HTTP server thread, and
helpers to book, pay and run the webhook jobs."""
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.extensions import db, redis_client
from app.hospital_webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.booking.conftest import book, catalogue, pay, verified  # noqa: F401  (fixtures)


class Receiver:
    """Answers with the next entry of `script` (a status code, or ("hang", seconds) to sleep
    before answering 200), then `default`. Verifies every request with Webhook(secret)."""

    def __init__(self):
        self.secret = None
        self.script = []
        self.default = 200
        self.received = []  # {"headers", "body", "verified": payload | None, "error"}
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key: value for key, value in self.headers.items()}
                with receiver.lock:
                    action = receiver.script.pop(0) if receiver.script else receiver.default
                    entry = {"headers": headers, "body": body, "verified": None, "error": None,
                             "at": time.time()}
                    try:
                        entry["verified"] = Webhook(receiver.secret).verify(body, headers)
                    except (WebhookVerificationError, Exception) as exc:  # noqa: BLE001
                        entry["error"] = repr(exc)
                    receiver.received.append(entry)
                if isinstance(action, tuple) and action[0] == "hang":
                    time.sleep(action[1])
                    action = 200
                elif isinstance(action, tuple) and action[0] == "slow":
                    time.sleep(action[1])
                    action = 200
                payload = json.dumps({"ok": action < 300}).encode()
                try:
                    self.send_response(action)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:  # the sender gave up (timeout)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/medapp"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def operator(staff_factory):
    return staff_factory("operator")


def set_endpoint(client, staff, hospital_id, url):
    return client.put(f"/api/v1/staff/hospitals/{hospital_id}/webhook", headers=staff["headers"],
                      json={"url": url})


@pytest.fixture
def hooked(client, catalogue, receiver, operator):  # noqa: F811
    """The catalogue's hospital with `receiver` as its endpoint (secret handed to it)."""
    response = set_endpoint(client, operator, catalogue["hospital_id"], receiver.url)
    assert response.status_code == 200, response.get_json()
    receiver.secret = response.get_json()["secret"]
    return catalogue


def deliveries(app, **filters):
    with app.app_context():
        rows = [{column.name: getattr(row, column.name) for column in row.__table__.columns}
                for row in db.session.scalars(db.select(WebhookDelivery).filter_by(**filters)
                                              .order_by(WebhookDelivery.id))]
        db.session.remove()
    return rows


def endpoint_row(app, hospital_id):
    with app.app_context():
        row = db.session.scalar(db.select(WebhookEndpoint).filter_by(hospital_id=hospital_id))
        state = {"status": row.status, "consecutive_failures": row.consecutive_failures,
                 "disabled_reason": row.disabled_reason, "url": row.url}
        db.session.remove()
    return state


def deliver(app, delivery_id):
    """Run the delivery job's function once, as a worker would."""
    from app.tasks.hospital_webhooks import deliver_hospital_webhook

    with app.app_context():
        try:
            return deliver_hospital_webhook(delivery_id)
        finally:
            db.session.remove()


def make_due(app, delivery_id):
    """Time passes: the delivery's next attempt is due now (no sleeping for hours)."""
    from datetime import timedelta

    from app.common.time import utcnow

    with app.app_context():
        db.session.execute(db.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                           .values(next_attempt_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        db.session.remove()


def run_worker(app, scheduler=False):
    """A real RQ worker in burst mode on both queues."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    with app.app_context():
        SimpleWorker(["default", "push"], connection=redis_client.conn,
                     serializer=JSONSerializer).work(burst=True, with_scheduler=scheduler)
        db.session.remove()


def queued_webhook_jobs(app):
    """Ids of deliveries whose job waits on the push queue (not delayed ones)."""
    from app.extensions import jobs

    with app.app_context():
        queue = jobs.queue("push")
        found = [job.args[0] for job in queue.get_jobs()
                 if job.func_name.endswith("deliver_hospital_webhook")]
    return found


def book_and_pay(client, app, person, schedule_id):
    response = book(client, person, schedule_id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    pay(app, body)
    return body["registration"]
