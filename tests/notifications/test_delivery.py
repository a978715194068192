"""WeChat delivery through the real SDK and the simulator: exactly once with a subscription,
inbox only without; a job run twice (or by eight threads at once) sends once; 43101 is not
retried and zeroes our ledger; -1, timeouts and expired tokens are retried and succeed; a
rollback sends nothing; a lost job or a dead sender is picked up by the sweep."""
import threading
from datetime import timedelta

from app.common.time import utcnow
from app.extensions import db, redis_client
from app.notifications import delivery
from app.notifications.models import MessagePush, Notification
from app.notifications.services import notify, notify_staff
from app.tasks.notifications import deliver_push
from tests.notifications.conftest import (calls, fault, messages, openid_of, pushes, quota,
                                          run_worker, subscribe)

TEMPLATE = "TMPL_CARE_ORDER_STATUS"


def _notify(app, user_id, ref_id=7, event="care_order_accepted", **context):
    with app.app_context():
        made = notify(user_id, event, "护工已接单", "王**已接单,将按时上门。", "care_order", ref_id,
                      context={"subject": "陪护订单 C2026112400017 全天陪护", "status": "已接单",
                               **context})
        db.session.commit()
        db.session.remove()
    return made


def _inbox(app, user_id):
    with app.app_context():
        count = db.session.scalar(db.select(db.func.count()).select_from(Notification)
                                  .where(Notification.user_id == user_id))
        db.session.remove()
    return count


def test_with_a_subscription_the_push_reaches_wechat_once(client, app, alice):
    subscribe(client, app, alice, TEMPLATE)
    assert quota(app, alice["id"], TEMPLATE) == 1
    assert _notify(app, alice["id"])
    assert not _notify(app, alice["id"])  # the same event again: nothing new
    run_worker(app)
    sent = messages(app, touser=openid_of(app, alice["id"]))
    assert len(sent) == 1 and _inbox(app, alice["id"]) == 1
    message = sent[0]
    assert message["template_id"] == TEMPLATE
    assert message["page"] == "packages/care/order/index?id=7"
    assert message["data"]["thing1"]["value"] == "陪护订单 C2026112400017 全天陪护"[:19] + "…"
    assert message["data"]["phrase2"]["value"] == "已接单"
    assert "年" in message["data"]["time3"]["value"]
    [push] = pushes(app)
    assert push["status"] == "sent" and push["attempts"] == 1
    assert quota(app, alice["id"], TEMPLATE) == 0  # the send consumed it


def test_without_a_subscription_only_the_inbox(client, app, alice):
    assert _notify(app, alice["id"])
    run_worker(app)
    assert _inbox(app, alice["id"]) == 1
    assert pushes(app) == [] and messages(app) == []
    assert calls(app, "subscribe_send") == 0


def test_a_rollback_sends_nothing(client, app, alice):
    subscribe(client, app, alice, TEMPLATE)
    with app.app_context():
        notify(alice["id"], "care_order_accepted", "护工已接单", "正文", "care_order", 7)
        db.session.rollback()
        db.session.remove()
    run_worker(app)
    assert pushes(app) == [] and messages(app) == [] and _inbox(app, alice["id"]) == 0


def test_a_job_run_twice_sends_once(client, app, alice):
    subscribe(client, app, alice, TEMPLATE, times=2)
    _notify(app, alice["id"])
    [push] = pushes(app)
    with app.app_context():
        assert deliver_push(push["id"]) == "sent"
        assert deliver_push(push["id"]) is None
        db.session.remove()
    run_worker(app)  # and the queued job as well
    assert len(messages(app)) == 1
    assert quota(app, alice["id"], TEMPLATE) == 1  # one of two spent


def test_eight_senders_at_once_send_once(client, app, alice):
    subscribe(client, app, alice, TEMPLATE, times=3)
    _notify(app, alice["id"])
    [push] = pushes(app)
    barrier = threading.Barrier(8)
    outcomes = []

    def sender():
        with app.app_context():
            barrier.wait()
            outcomes.append(delivery.deliver(push["id"]))
            db.session.remove()

    threads = [threading.Thread(target=sender) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("sent") == 1 and outcomes.count(None) == 7
    assert len(messages(app)) == 1 and calls(app, "subscribe_send") == 1
    assert quota(app, alice["id"], TEMPLATE) == 2


def test_43101_is_not_retried_and_zeroes_the_ledger(client, app, alice, fast_retries):
    # we were told of three acceptances, WeChat has none left (used elsewhere, or revoked)
    subscribe(client, app, alice, TEMPLATE, times=3, wechat_times=0)
    _notify(app, alice["id"])
    run_worker(app, rounds=3, pause=1.2)
    [push] = pushes(app)
    assert push["status"] == "no_quota" and push["attempts"] == 1
    assert push["last_error"].startswith("43101")
    assert calls(app, "subscribe_send") == 1 and messages(app) == []
    assert quota(app, alice["id"], TEMPLATE) == 0
    _notify(app, alice["id"], ref_id=8)  # the next event: no push at all now
    assert len(pushes(app)) == 1 and _inbox(app, alice["id"]) == 2


def test_system_busy_is_retried_and_succeeds(client, app, alice, fast_retries):
    subscribe(client, app, alice, TEMPLATE)
    fault(app, errcode=-1, times=2)
    _notify(app, alice["id"])
    run_worker(app, rounds=4, pause=1.2)
    [push] = pushes(app)
    assert push["status"] == "sent" and push["attempts"] == 3
    assert len(messages(app)) == 1 and calls(app, "subscribe_send") == 3
    assert quota(app, alice["id"], TEMPLATE) == 0


def test_a_timeout_is_retried_and_succeeds(client, app, alice, fast_retries):
    subscribe(client, app, alice, TEMPLATE)
    saved = app.config["WECHAT_TIMEOUT"]
    app.config["WECHAT_TIMEOUT"] = (1, 1)
    app.extensions.pop("wechat_miniprogram", None)
    try:
        fault(app, delay_seconds=3)
        _notify(app, alice["id"])
        run_worker(app, rounds=3, pause=1.2)
    finally:
        app.config["WECHAT_TIMEOUT"] = saved
        app.extensions.pop("wechat_miniprogram", None)
    [push] = pushes(app)
    assert push["status"] == "sent" and push["attempts"] == 2
    assert len(messages(app)) == 1


def test_out_of_retries_fails_and_gives_the_subscription_back(client, app, alice, fast_retries):
    subscribe(client, app, alice, TEMPLATE)
    fault(app, errcode=-1, times=10)
    _notify(app, alice["id"])
    run_worker(app, rounds=6, pause=1.2)
    [push] = pushes(app)
    assert push["status"] == "failed" and push["attempts"] == 4  # 1 + 3 retries
    assert messages(app) == [] and quota(app, alice["id"], TEMPLATE) == 1


def test_an_expired_token_is_refreshed_and_the_send_retried_once(client, app, alice):
    subscribe(client, app, alice, TEMPLATE)
    _notify(app, alice["id"], ref_id=1)
    run_worker(app)  # a token now exists
    subscribe(client, app, alice, TEMPLATE)
    tokens_before = calls(app, "stable_token")
    fault(app, errcode=40001)
    _notify(app, alice["id"], ref_id=2)
    run_worker(app)
    second = pushes(app)[1]
    assert second["status"] == "sent" and second["attempts"] == 1
    assert calls(app, "stable_token") > tokens_before
    assert len(messages(app)) == 2


def test_an_invalid_openid_fails_without_retry(client, app, alice, fast_retries):
    subscribe(client, app, alice, TEMPLATE)
    with app.app_context():
        db.session.execute(db.text("UPDATE users SET openid = 'invalid-openid' WHERE id = :id"),
                           {"id": alice["id"]})
        db.session.commit()
    _notify(app, alice["id"])
    run_worker(app, rounds=2, pause=1.2)
    [push] = pushes(app)
    assert push["status"] == "failed" and push["attempts"] == 1
    assert push["last_error"].startswith("40003")
    assert quota(app, alice["id"], TEMPLATE) == 1


def test_a_lost_job_and_a_dead_sender_are_picked_up_by_the_sweep(client, app, alice, bob):
    from app.tasks.notifications import sweep_pushes

    subscribe(client, app, alice, TEMPLATE)
    subscribe(client, app, bob, TEMPLATE)
    _notify(app, alice["id"])
    _notify(app, bob["id"])
    first, second = pushes(app)
    with app.app_context():
        redis_client.conn.delete("rq:queue:push")  # alice's job is lost with Redis
        # bob's sender claimed it and died: the lease ran out, the job is gone too
        db.session.execute(db.update(MessagePush).where(MessagePush.id == first["id"])
                           .values(next_attempt_at=utcnow() - timedelta(minutes=2)))
        db.session.execute(db.update(MessagePush).where(MessagePush.id == second["id"])
                           .values(status="sending", attempts=1,
                                   lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert sweep_pushes() == 2
        db.session.remove()
    run_worker(app)
    assert [p["status"] for p in pushes(app)] == ["sent", "sent"]
    assert len(messages(app)) == 2
    with app.app_context():
        assert sweep_pushes() == 0


def test_a_live_lease_is_not_taken(client, app, alice):
    subscribe(client, app, alice, TEMPLATE)
    _notify(app, alice["id"])
    [push] = pushes(app)
    with app.app_context():
        db.session.execute(db.update(MessagePush).where(MessagePush.id == push["id"])
                           .values(status="sending", lease_until=utcnow() + timedelta(seconds=30)))
        db.session.commit()
        assert delivery.deliver(push["id"]) is None
        db.session.remove()
    assert messages(app) == []


def test_staff_events_go_to_bound_staff_through_the_official_account(app, staff_factory):
    from app.staff.models import StaffUser

    bound_operator = staff_factory("operator")
    bound_reviewer = staff_factory("reviewer")
    staff_factory("operator")  # not bound: nothing
    with app.app_context():
        for staff, openid in ((bound_operator, "oa-openid-operator"),
                              (bound_reviewer, "oa-openid-reviewer")):
            db.session.get(StaffUser, staff["id"]).official_openid = openid
        db.session.commit()
        assert notify_staff("refund_failed", "退款失败,请处理", "refund", 5, roles=("operator",),
                            context={"subject": "退款 R2026 ¥12.00"}) == 1
        db.session.commit()
        # the same event again: not a second message
        assert notify_staff("refund_failed", "退款失败,请处理", "refund", 5,
                            roles=("operator",)) == 0
        db.session.commit()
        db.session.remove()
    run_worker(app)
    sent = messages(app, api="template")
    assert [m["touser"] for m in sent] == ["oa-openid-operator"]
    assert sent[0]["template_id"] == "TMPL_STAFF_TODO"
    assert sent[0]["data"]["thing1"]["value"] == "退款失败,请处理"
    assert calls(app, "subscribe_send") == 0


def test_overlapping_batches_at_once_send_each_push_once(client, app, alice, bob):
    for user in (alice, bob):
        subscribe(client, app, user, TEMPLATE, times=5)
        for ref_id in range(1, 6):
            _notify(app, user["id"], ref_id=ref_id)
    ids = [push["id"] for push in pushes(app)]
    barrier = threading.Barrier(4)
    claimed = []

    def sender(part):
        with app.app_context():
            barrier.wait()
            claimed.append(delivery.deliver_many(part))
            db.session.remove()

    parts = [ids, ids[::-1], ids[:6], ids[4:]]
    threads = [threading.Thread(target=sender, args=(part,)) for part in parts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [push_id for result in claimed for push_id, outcome in result.items()
            if outcome == "sent"]
    assert sorted(sent) == sorted(ids)  # each claimed and sent by exactly one sender
    assert len(messages(app)) == 10 and calls(app, "subscribe_send") == 10
    assert {p["status"] for p in pushes(app)} == {"sent"}
    assert quota(app, alice["id"], TEMPLATE) == quota(app, bob["id"], TEMPLATE) == 0


def test_a_sender_whose_lease_was_taken_over_cannot_overwrite_the_outcome(client, app, alice):
    subscribe(client, app, alice, TEMPLATE)
    _notify(app, alice["id"])
    [push] = pushes(app)
    with app.app_context():
        stale_token, [outgoing] = delivery._claim([push["id"]])  # a sender that then stalls
        db.session.execute(db.update(MessagePush).where(MessagePush.id == push["id"])
                           .values(lease_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert delivery.deliver(push["id"]) == "sent"  # the sweep's job took it over
        delivery._finish(stale_token, {push["id"]: ("failed", "late answer")})
        db.session.remove()
    [push] = pushes(app)
    assert push["status"] == "sent" and push["last_error"] is None and push["attempts"] == 2
    assert len(messages(app)) == 1
