"""WeChat Pay notification acknowledgement latency under load.

Starts the app under gunicorn on MariaDB + Redis, opens N payments, and delivers each one's
signed, encrypted TRANSACTION.SUCCESS notification D times at once (WeChat sends duplicates
from several servers) from C client threads. Prints the acknowledgement p50/p99 and checks
that every payment was applied exactly once with exactly one follow-up job.

    .venv/bin/python bench/pay_notify_ack.py [--payments 400 --duplicates 3 --concurrency 16]

Needs MariaDB at 127.0.0.1:3306 (root, no password; it creates and drops `bench_pay`) and
Redis at 127.0.0.1:6379 (db 14, flushed).
"""
import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pymysql
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, percentile  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=400)
    parser.add_argument("--duplicates", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    args = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="bench-pay-")
    port = free_port()
    connection = pymysql.connect(host="127.0.0.1", user="root")
    with connection.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS bench_pay")
        cursor.execute("CREATE DATABASE bench_pay CHARACTER SET utf8mb4")
    env = {**os.environ, "APP_ENV": "development", "INSTANCE_PATH": instance, "PORT": str(port),
           "DATABASE_URL": "mysql+pymysql://root@127.0.0.1/bench_pay",
           "REDIS_URL": "redis://127.0.0.1:6379/14"}
    os.environ.update(env)

    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db, redis_client
    from app.payments.models import Payment
    from app.common.time import utcnow
    from app.users.models import User
    from app.wechat.simulator.pay import build_notification
    from tests.payments.order_type import DemoOrder, TestBase

    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    notifications = []
    with app.app_context():
        redis_client.conn.flushdb()
        upgrade()
        TestBase.metadata.create_all(db.engine)
        user = User(openid="o-bench", status="active", token_version=1, real_name_status="none")
        db.session.add(user)
        db.session.flush()
        for index in range(args.payments):
            amount = random.randint(100, 50000)
            order = DemoOrder(user_id=user.id, amount_fen=amount, status="pending_payment",
                              paid_hooks=0, closed_hooks=0, refunded_fen=0)
            db.session.add(order)
            db.session.flush()
            payment = Payment(out_trade_no=f"PBENCH{index:010d}", order_type="demo_order",
                              order_id=order.id, user_id=user.id, payer_openid="o-bench",
                              description="基准测试", amount_fen=amount, refunded_fen=0,
                              status="created", prepay_id=f"wx-bench-{index}",
                              expires_at=utcnow() + timedelta(hours=1))
            db.session.add(payment)
            notifications.append((payment.out_trade_no, amount))
        db.session.commit()
        built = []
        for number, (out_trade_no, amount) in enumerate(notifications):
            built.append(build_notification("TRANSACTION.SUCCESS", "transaction", {
                "appid": app.config["WECHATPAY_APPID"], "mchid": app.config["WECHATPAY_MCHID"],
                "out_trade_no": out_trade_no, "transaction_id": f"42000{number:023d}",
                "trade_type": "JSAPI", "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                "success_time": "2026-11-22T10:00:00+08:00", "payer": {"openid": "o-bench"},
                "amount": {"total": amount, "payer_total": amount, "currency": "CNY",
                           "payer_currency": "CNY"}}))
        # signed and valid but for no order of ours: each answer is a 400 after the full check
        warm_up = build_notification("TRANSACTION.SUCCESS", "transaction", {
            "appid": app.config["WECHATPAY_APPID"], "mchid": app.config["WECHATPAY_MCHID"],
            "out_trade_no": "PWARMUP", "transaction_id": "4200000000000000000000000000",
            "trade_state": "SUCCESS", "amount": {"total": 1, "currency": "CNY"}})
        db.session.remove()

    log_path = Path(instance) / "gunicorn.log"
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(args.workers), "-k", "gthread",
         "--threads", str(args.threads), "-b", f"127.0.0.1:{port}", "bench.pay_app:app"],
        cwd=ROOT, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not come up; see {log_path}")
            time.sleep(0.2)

        # warm every worker (pools, the Pay client, imports) before measuring
        with ThreadPoolExecutor(max_workers=args.workers * args.threads) as pool:
            warm = list(pool.map(lambda _: requests.post(
                base + "/wechat/pay/notify", data=warm_up[1].encode(),
                headers={**warm_up[0], "Content-Type": "application/json"}, timeout=30).status_code,
                range(args.workers * args.threads * 4)))
        assert set(warm) == {400}, warm

        # each payment's copies go out back to back, so they race each other at the server
        deliveries = [pair for pair in built for _ in range(args.duplicates)]
        local = threading.local()
        latencies, statuses = [], []
        lock = threading.Lock()

        def deliver(pair):
            session = getattr(local, "session", None) or requests.Session()
            local.session = session
            headers, body = pair
            started = time.perf_counter()
            response = session.post(base + "/wechat/pay/notify", data=body.encode(),
                                    headers={**headers, "Content-Type": "application/json"},
                                    timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                statuses.append(response.status_code)

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            list(pool.map(deliver, deliveries))
        wall = time.perf_counter() - started

        from rq import Queue
        from rq.serializers import JSONSerializer

        with app.app_context():
            paid = db.session.query(Payment).filter_by(status="paid").count()
            hooks = [o.paid_hooks for o in db.session.query(DemoOrder)]
            queue = Queue("default", connection=redis_client.conn, serializer=JSONSerializer)
            follow_ups = sum(1 for job in queue.jobs
                             if job.func_name == "app.tasks.payments.payment_succeeded")
            db.session.remove()
    finally:
        server.terminate()
        server.wait(timeout=15)
        with connection.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS bench_pay")

    print("WeChat Pay notification acknowledgement (gunicorn "
          f"{args.workers}x{args.threads} gthread, MariaDB + Redis, {os.cpu_count()} cores)")
    print(f"  payments              {args.payments}, each delivered {args.duplicates}x at once")
    print(f"  client concurrency    {args.concurrency}")
    print(f"  requests              {len(latencies)} in {wall:.2f} s "
          f"({len(latencies) / wall:.0f} req/s)")
    print(f"  ack latency ms        p50 {statistics.median(latencies):.1f}   "
          f"p90 {percentile(latencies, 0.90):.1f}   p99 {percentile(latencies, 0.99):.1f}   "
          f"max {max(latencies):.1f}")
    print("  answers               " + ", ".join(
        f"{code}: {statuses.count(code)}" for code in sorted(set(statuses))))
    print(f"  payments paid         {paid} / {args.payments}")
    print(f"  on_paid per order     min {min(hooks)} max {max(hooks)} (must be 1 and 1)")
    print(f"  follow-up jobs        {follow_ups} (must equal payments)")
    ok = (paid == args.payments and set(hooks) == {1} and follow_ups == args.payments
          and set(statuses) == {204})
    print("  verdict               " + ("OK" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
