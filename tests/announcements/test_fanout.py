"""An announcement to 10,000 users: batches through a real RQ worker, every user's inbox once,
every subscribed user's WeChat message once (the simulator counts WeChat's side), progress
that adds up while it runs and at the end, and a batch run again (or after a lost enqueue)
that changes nothing."""
from datetime import timedelta

import pytest
from sqlalchemy import update

from app.announcements import services
from app.announcements.models import Announcement
from app.common.time import utcnow
from app.extensions import db, jobs, redis_client
from app.notifications import delivery
from app.notifications.models import MessagePush, SubscriptionQuota
from app.tasks.announcements import send_announcement_batch
from tests.announcements.conftest import (BATCH_JOB, TEMPLATE, announce, bulk_users,
                                          finished_jobs, give_quota, inbox_counts, progress,
                                          push_statuses, queued_jobs, run_worker, sim_messages,
                                          sim_subscribe)

USERS = 10_000
SUBSCRIBED = 1_250  # in our ledger: every 8th user, so every batch has some
REFUSED_BY_WECHAT = 250  # of those, WeChat holds no subscription: 43101, no_quota


def _quota_left(app, user_ids):
    with app.app_context():
        left = sum(db.session.scalars(db.select(SubscriptionQuota.remaining).where(
            SubscriptionQuota.user_id.in_(user_ids),
            SubscriptionQuota.template_id == TEMPLATE)))
        db.session.remove()
    return left


def _announcement(app, announcement_id):
    with app.app_context():
        row = db.session.get(Announcement, announcement_id)
        state = {"status": row.status, "inbox_count": row.inbox_count,
                 "cursor_user_id": row.cursor_user_id, "total": row.total}
        db.session.remove()
    return state


@pytest.fixture
def small_push_jobs(app):
    """Push jobs of 50, so a batch's pushes are split over several jobs."""
    saved = app.config["PUSH_BATCH_SIZE"]
    app.config["PUSH_BATCH_SIZE"] = 50
    yield 50
    app.config["PUSH_BATCH_SIZE"] = saved


def test_an_announcement_to_10000_users_completes_in_batches(client, app, operator,
                                                             small_push_jobs):
    users = bulk_users(app, USERS, "fan")
    banned = bulk_users(app, 20, "gone", status="banned")
    ids = sorted(users)
    subscribed = ids[::8]
    at_wechat = [user_id for index, user_id in enumerate(subscribed) if index % 5 != 4]
    refused = sorted(set(subscribed) - set(at_wechat))
    assert len(subscribed) == SUBSCRIBED and len(refused) == REFUSED_BY_WECHAT
    give_quota(app, subscribed + list(banned))
    sim_subscribe(app, [users[user_id] for user_id in at_wechat]
                  + list(banned.values()))  # a banned user WeChat would take: still nothing

    response = announce(client, operator, title="春节假期门诊安排",
                        body="春节期间(2月10日至2月17日)各医院门诊时间调整,请以医院公告为准。",
                        page="pages/notices/detail?id=1")
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    announcement_id = created["id"]
    assert created["total"] == USERS and created["inbox_count"] == 0
    assert created["status"] == "sending" and created["finished_at"] is None
    assert created["pushes"] == {"total": 0, "sent": 0, "failed": 0, "no_quota": 0,
                                 "pending": 0}
    assert [job.func_name for job in queued_jobs(app, "default")] == [BATCH_JOB]

    # three batches of 500, no push sent yet: the progress shows exactly that
    run_worker(app, queues=("default",), max_jobs=3)
    first = ids[:1500]
    mid = progress(client, operator, announcement_id)
    pending = len(set(subscribed) & set(first))
    assert mid["status"] == "sending" and mid["inbox_count"] == 1500
    assert mid["pushes"] == {"total": pending, "sent": 0, "failed": 0, "no_quota": 0,
                             "pending": pending}
    assert _announcement(app, announcement_id)["cursor_user_id"] == ids[1499]
    assert set(inbox_counts(app, announcement_id)) == set(first)
    push_jobs = [job.args[0] for job in queued_jobs(app, "push")]
    assert [len(chunk) for chunk in push_jobs] == [50, 13, 50, 12, 50, 13]  # 63, 62, 63 a batch
    assert len({push_id for chunk in push_jobs for push_id in chunk}) == pending

    run_worker(app)

    # every user exactly one inbox message; banned users none
    inbox = inbox_counts(app, announcement_id)
    assert set(inbox) == set(ids) and set(inbox.values()) == {1}
    # WeChat got exactly one message for each user it held a subscription for, no other
    sent = sim_messages(app, template_id=TEMPLATE)
    touched = [message["touser"] for message in sent]
    assert sorted(touched) == sorted(users[user_id] for user_id in at_wechat)
    message = sent[0]
    assert message["page"] == "pages/notices/detail?id=1"
    assert message["data"]["thing1"]["value"] == "春节假期门诊安排"
    assert message["data"]["thing2"]["value"].startswith("春节期间")
    statuses = push_statuses(app, announcement_id)
    assert {user_id for user_id, status in statuses.items() if status == "sent"} == set(at_wechat)
    assert {user_id for user_id, status in statuses.items()
            if status == "no_quota"} == set(refused)
    assert set(statuses) == set(subscribed)  # unsubscribed and banned users: no push at all
    assert _quota_left(app, subscribed) == 0  # sends spent it; 43101 zeroed the rest

    done = progress(client, operator, announcement_id)
    assert done["status"] == "completed" and done["finished_at"] is not None
    assert done["total"] == USERS and done["inbox_count"] == USERS
    assert done["pushes"] == {"total": SUBSCRIBED, "sent": SUBSCRIBED - REFUSED_BY_WECHAT,
                              "failed": 0, "no_quota": REFUSED_BY_WECHAT, "pending": 0}
    listed = client.get("/api/v1/staff/announcements", headers=operator["headers"]).get_json()
    assert listed["total"] == 1 and listed["items"][0] == done

    # it went in batches: 20 full ones of 500, and a 21st that found nobody left and completed
    batches = finished_jobs(app, BATCH_JOB)
    assert [job.return_value()["users"] for job in batches] == [500] * 20 + [0]
    cursors = [job.return_value()["cursor_user_id"] for job in batches]
    assert cursors == [ids[index] for index in range(499, USERS, 500)] + [ids[-1]]
    assert sum(job.return_value()["inbox"] for job in batches) == USERS
    assert batches[-1].return_value()["completed"]

    # a batch run again (by a worker, and directly) changes nothing
    before = (_announcement(app, announcement_id), push_statuses(app, announcement_id))
    with app.app_context():
        assert send_announcement_batch(announcement_id) is None
        db.session.remove()
    with app.app_context():
        jobs.queue("default").enqueue(BATCH_JOB, args=(announcement_id,))
    run_worker(app)
    assert (_announcement(app, announcement_id), push_statuses(app, announcement_id)) == before
    assert inbox_counts(app, announcement_id) == inbox
    assert len(sim_messages(app, template_id=TEMPLATE)) == len(at_wechat)
    assert progress(client, operator, announcement_id) == done


def test_a_lost_enqueue_is_resumed_without_double_counting_or_sending(client, app, operator):
    """A crash between a batch's commit and its enqueues (here: the queues are emptied after
    the commit) leaves a chain without its next batch and pushes without a job; the resume and
    push sweeps pick both up, and nothing is written or sent twice."""
    app.config["ANNOUNCEMENT_BATCH_SIZE"] = 10
    try:
        users = bulk_users(app, 35, "lost")
        ids = sorted(users)
        give_quota(app, ids)
        sim_subscribe(app, users.values(), threads=2)
        announcement_id = announce(client, operator).get_json()["id"]
        run_worker(app, queues=("default",), max_jobs=1)  # the first batch commits …
        with app.app_context():
            redis_client.conn.delete("rq:queue:default", "rq:queue:push")  # … its enqueues lost
            # the same batch job started again before anyone noticed: it takes the next ten
            assert services.send_batch(announcement_id)["cursor_user_id"] == ids[19]
            redis_client.conn.delete("rq:queue:default", "rq:queue:push")
            db.session.remove()
        state = _announcement(app, announcement_id)
        assert state["status"] == "sending" and state["inbox_count"] == 20
        assert set(inbox_counts(app, announcement_id).values()) == {1}

        with app.app_context():
            assert services.resume_stalled() == []  # not stalled yet: it just ran
            # two minutes later nothing has moved: the sweeps re-enqueue what was lost
            earlier = utcnow() - timedelta(minutes=5)
            db.session.execute(update(Announcement).values(updated_at=earlier))
            db.session.execute(update(MessagePush).values(next_attempt_at=earlier))
            db.session.commit()
            assert services.resume_stalled() == [announcement_id]
            assert delivery.sweep() == 20
            db.session.remove()
        run_worker(app)
        state = _announcement(app, announcement_id)
        assert state["status"] == "completed" and state["inbox_count"] == 35
        inbox = inbox_counts(app, announcement_id)
        assert set(inbox) == set(ids) and set(inbox.values()) == {1}
        sent = sorted(message["touser"] for message in sim_messages(app, template_id=TEMPLATE))
        assert sent == sorted(users.values())
        assert set(push_statuses(app, announcement_id).values()) == {"sent"}
        done = progress(client, operator, announcement_id)
        assert done["status"] == "completed"
        assert done["pushes"] == {"total": 35, "sent": 35, "failed": 0, "no_quota": 0,
                                  "pending": 0}
    finally:
        app.config.pop("ANNOUNCEMENT_BATCH_SIZE")


def test_inbox_only_when_the_template_is_off_and_staff_see_it(client, app, operator,
                                                              staff_factory):
    """Staff switched the announcement template off: everyone still gets the inbox message,
    nobody a push, and the announcement completes."""
    users = bulk_users(app, 12, "off")
    give_quota(app, users)
    sim_subscribe(app, users.values(), threads=2)
    admin = staff_factory("admin")
    response = client.patch("/api/v1/staff/message-templates/announcement",
                            json={"enabled": False}, headers=admin["headers"])
    assert response.status_code == 200, response.get_json()
    announcement_id = announce(client, operator).get_json()["id"]
    run_worker(app)
    assert set(inbox_counts(app, announcement_id)) == set(users)
    assert push_statuses(app, announcement_id) == {} and sim_messages(app) == []
    done = progress(client, operator, announcement_id)
    assert done["status"] == "completed" and done["inbox_count"] == 12
    assert done["pushes"]["total"] == 0
