"""Helpers for announcement tests: users and subscriptions made in bulk (our ledger in the
database, WeChat's count through the simulator's control API), the simulator's record of
messages, and a real RQ worker in burst mode on the "default" and "push" queues."""
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, insert, select

from app.extensions import db, redis_client
from app.notifications.models import MessagePush, Notification, SubscriptionQuota
from app.users.models import User

TEMPLATE = "TMPL_ANNOUNCEMENT"
SIM_CONTROL = "/_sim/wechat/_control"
BATCH_JOB = "app.tasks.announcements.send_announcement_batch"


@pytest.fixture
def operator(staff_factory):
    return staff_factory("operator")


def bulk_users(app, count, prefix, status="active") -> dict[int, str]:
    """`count` users in one multi-row INSERT; {user id: openid}."""
    with app.app_context():
        db.session.execute(insert(User.__table__), [
            {"openid": f"{prefix}-{index:05d}", "status": status, "token_version": 1,
             "real_name_status": "none",
             "ban_reason": "测试封禁" if status == "banned" else None}
            for index in range(count)])
        db.session.commit()
        users = dict(db.session.execute(select(User.id, User.openid).where(
            User.openid.like(f"{prefix}-%"))).all())
        db.session.remove()
    return users


def give_quota(app, user_ids, template_id=TEMPLATE, remaining=1):
    """Our ledger: each user accepted `remaining` subscriptions (as POST /subscriptions adds)."""
    with app.app_context():
        db.session.execute(insert(SubscriptionQuota), [
            {"user_id": user_id, "template_id": template_id, "remaining": remaining,
             "accepted_total": remaining} for user_id in user_ids])
        db.session.commit()
        db.session.remove()


def sim_subscribe(app, openids, template_id=TEMPLATE, count=1, threads=8):
    """WeChat's side: one POST /_control/subscriptions per openid, from a few threads."""
    url = app.config["LIVE_URL"] + SIM_CONTROL + "/subscriptions"
    openids = list(openids)

    def post(share):
        with requests.Session() as session:
            for openid in share:
                response = session.post(url, json={"openid": openid, "template_id": template_id,
                                                   "count": count}, timeout=10)
                assert response.status_code == 200, response.text

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, [openids[i::threads] for i in range(threads)]))


def sim_messages(app, **filters) -> list[dict]:
    response = requests.get(app.config["LIVE_URL"] + SIM_CONTROL + "/messages", params=filters,
                            timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


def run_worker(app, queues=("default", "push"), max_jobs=None):
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    with app.app_context():
        SimpleWorker(list(queues), connection=redis_client.conn,
                     serializer=JSONSerializer).work(burst=True, max_jobs=max_jobs)
        db.session.remove()


def finished_jobs(app, name, queue="default"):
    from rq.job import Job
    from rq.registry import FinishedJobRegistry
    from rq.serializers import JSONSerializer

    with app.app_context():
        conn = redis_client.conn
        ids = FinishedJobRegistry(queue, connection=conn, serializer=JSONSerializer).get_job_ids()
        found = [job for job in Job.fetch_many(ids, connection=conn, serializer=JSONSerializer)
                 if job and job.func_name == name]
        return sorted(found, key=lambda job: job.ended_at)


def queued_jobs(app, queue):
    from rq import Queue
    from rq.serializers import JSONSerializer

    with app.app_context():
        return Queue(queue, connection=redis_client.conn, serializer=JSONSerializer).jobs


def inbox_counts(app, announcement_id) -> dict[int, int]:
    """user id → announcement inbox rows for this announcement."""
    with app.app_context():
        counts = dict(db.session.execute(
            select(Notification.user_id, func.count()).where(
                Notification.kind == "announcement", Notification.ref_type == "announcement",
                Notification.ref_id == announcement_id).group_by(Notification.user_id)).all())
        db.session.remove()
    return counts


def push_statuses(app, announcement_id) -> dict[int, str]:
    """user id → status of this announcement's push."""
    with app.app_context():
        rows = dict(db.session.execute(select(MessagePush.user_id, MessagePush.status).where(
            MessagePush.announcement_id == announcement_id)).all())
        db.session.remove()
    return rows


def announce(client, staff, **body):
    body = {"title": "系统维护通知", "body": "本周六 02:00-04:00 系统维护,期间暂停挂号。",
            "segment": "all", **body}
    return client.post("/api/v1/staff/announcements", json=body, headers=staff["headers"])


def progress(client, staff, announcement_id):
    response = client.get(f"/api/v1/staff/announcements/{announcement_id}",
                          headers=staff["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()
