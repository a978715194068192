"""Helpers for delivery tests: subscriptions on both sides (our ledger through the API, WeChat's
count in the simulator), the simulator's record of messages, injected faults, and a real RQ
worker in burst mode on both queues."""
import time

import pytest
import requests

from app.extensions import db, redis_client
from app.notifications.models import MessagePush, SubscriptionQuota
from app.users.models import User

SIM_CONTROL = "/_sim/wechat/_control"


def sim(app, method, path, **kwargs):
    response = requests.request(method, app.config["LIVE_URL"] + SIM_CONTROL + path, timeout=10,
                                **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


def openid_of(app, user_id):
    with app.app_context():
        openid = db.session.get(User, user_id).openid
        db.session.remove()
    return openid


def subscribe(client, app, user, template_id, times=1, wechat_times=None):
    """The user taps 允许 `times` times: WeChat counts it (the simulator) and the mini-program
    reports it to us. wechat_times lets the two sides disagree."""
    wechat_times = times if wechat_times is None else wechat_times
    if wechat_times:
        sim(app, "POST", "/subscriptions", json={"openid": openid_of(app, user["id"]),
                                                 "template_id": template_id,
                                                 "count": wechat_times})
    for _ in range(times):
        response = client.post("/api/v1/subscriptions", headers=user["headers"], json={
            "results": [{"template_id": template_id, "result": "accept"}]})
        assert response.status_code == 200, response.get_json()


def messages(app, **filters):
    return sim(app, "GET", "/messages", params=filters)["messages"]


def fault(app, api="subscribe", times=1, **kind):
    sim(app, "POST", "/faults", json={"api": api, "times": times, **kind})


def calls(app, name):
    return sim(app, "GET", "/calls").get(name, 0)


def run_worker(app, scheduler=True, rounds=1, pause=0.0):
    """A real RQ worker in burst mode on both queues, `rounds` times (delayed retries become
    due between rounds when `pause` covers their backoff)."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    for index in range(rounds):
        if index and pause:
            time.sleep(pause)
        with app.app_context():
            SimpleWorker(["default", "push"], connection=redis_client.conn,
                         serializer=JSONSerializer).work(burst=True, with_scheduler=scheduler)
            db.session.remove()


def pushes(app):
    with app.app_context():
        rows = [{"id": p.id, "event": p.event, "status": p.status, "attempts": p.attempts,
                 "channel": p.channel, "user_id": p.user_id, "staff_id": p.staff_id,
                 "data": p.data, "page": p.page, "template_id": p.template_id,
                 "quota_reserved": p.quota_reserved, "last_error": p.last_error}
                for p in db.session.scalars(db.select(MessagePush).order_by(MessagePush.id))]
        db.session.remove()
    return rows


def quota(app, user_id, template_id):
    with app.app_context():
        left = db.session.scalar(db.select(SubscriptionQuota.remaining).where(
            SubscriptionQuota.user_id == user_id, SubscriptionQuota.template_id == template_id))
        db.session.remove()
    return left or 0


@pytest.fixture
def fast_retries(app):
    """Backoffs of a fraction of a second, so retries happen inside a test."""
    saved = app.config["PUSH_RETRY_BACKOFF"]
    app.config["PUSH_RETRY_BACKOFF"] = (0.2, 0.2, 0.2)
    yield
    app.config["PUSH_RETRY_BACKOFF"] = saved
