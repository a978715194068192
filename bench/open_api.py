"""The hospital open API under load: 10,000 schedules upserted in batches through the SDK, and
signed requests per second next to /ping.

A fresh database (MariaDB `bench_open_api` by default; --database-url for another, a SQLite
file with --sqlite) gets one hospital and its API key (made through the onboarding service:
an application approved by an operator, as in production). The app runs under gunicorn
(2 workers x 4 threads gthread) with the per-hospital rate limit lifted
(OPEN_API_RATE_PER_MINUTE) so it measures the server, not the limiter.

1. Upsert: with hospital_sdk.OpenApiClient (signing, batches of 500 as the SDK splits them),
   the departments and --doctors doctors, then --schedules clinics (doctor x day x period,
   from tomorrow): created, then the same items again (all "unchanged"), then every fee
   changed ("updated"). Printed: the time of each pass, items/s and the slowest batch.
2. Throughput: --rounds rounds, each --seconds of GET /ping and then --seconds of signed
   GET /open/v1/registrations/changes?limit=1 (the signature check, the nonce in Redis, the
   key and hospital reads, the audit row written after the answer), from --processes processes
   x --threads threads, every client with its own keep-alive connection. Printed: requests/s,
   p50 / p95 per kind and signed ÷ ping over all rounds. Every answer must be 200.

    .venv/bin/python bench/open_api.py [--schedules 10000] [--doctors 100] [--seconds 10]
        [--rounds 3] [--processes 2] [--threads 4] [--sqlite]
        [--database-url mysql+pymysql://root@127.0.0.1/bench_open_api]
        [--redis-url redis://127.0.0.1:6379/11]

The database must be empty or named bench_*: its tables are dropped and the migrations run.
The clients share the machine with the server, so the figures are for comparison, not
capacity; on a busy machine they are noise.
"""
import argparse
import multiprocessing
import os
import shutil
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (ensure_database, fresh_database, free_port, percentile,  # noqa: E402
                          start_server)

PERIODS = ("morning", "afternoon", "evening")


def make_hospital(app) -> tuple[str, str]:
    """A user applies with a licence file, an operator approves: (key_id, secret)."""
    from app.extensions import db
    from app.files.models import StoredFile
    from app.hospital_onboarding import services as onboarding
    from app.staff.models import StaffUser
    from app.users.models import User

    with app.app_context():
        user = User(openid="bench-open-api-applicant")
        operator = StaffUser(username="bench-operator", display_name="压测运营",
                             role="operator", is_active=True, password_hash="!")
        db.session.add_all([user, operator])
        db.session.flush()
        licence = StoredFile(owner_user_id=user.id, purpose="qualification",
                             content_type="application/pdf", size_bytes=1, sha256="0" * 64,
                             storage_key="bench-open-api-licence")
        db.session.add(licence)
        db.session.commit()
        application = onboarding.apply(user, data={
            "name": "压测人民医院", "level": "3A", "province_code": "110000",
            "city_code": "110100", "district_code": "110101", "address": "北京市东城区压测路1号",
            "phone": None, "contact_name": "张三", "contact_phone": "13800000000",
            "licence_file_id": licence.id})
        key = onboarding.approve(operator, application_id=application["id"])["key"]
        db.session.remove()
        return key["key_id"], key["secret"]


def catalogue(doctors: int):
    from hospital_sdk import Department, Doctor

    departments = [Department("NK", "内科", sort_order=1)] + [
        Department(f"NK{n:02d}", f"内科{n:02d}诊区", parent_external_id="NK") for n in range(10)]
    people = [Doctor(f"DR{n:04d}", f"NK{n % 10:02d}", f"医生{n:04d}", "主治医师")
              for n in range(doctors)]
    return departments, people


def clinics(count: int, doctors: int, fee_fen: int):
    from hospital_sdk import Schedule

    first = date.today() + timedelta(days=1)
    items = []
    day = 0
    while len(items) < count:
        for doctor in range(doctors):
            for period in PERIODS:
                if len(items) == count:
                    return items
                work_date = first + timedelta(days=day)
                items.append(Schedule(f"S-{doctor:04d}-{work_date:%Y%m%d}-{period[0]}",
                                      f"DR{doctor:04d}", work_date, period, None, None,
                                      total=20, fee_fen=fee_fen))
        day += 1
    return items


class TimedSession:
    """requests.Session whose sends are timed (one entry per request the SDK makes)."""

    def __new__(cls):
        import requests

        class _Timed(requests.Session):
            def __init__(self):
                super().__init__()
                self.durations = []

            def send(self, request, **kwargs):
                started = time.perf_counter()
                try:
                    return super().send(request, **kwargs)
                finally:
                    self.durations.append(time.perf_counter() - started)

        return _Timed()


def upsert(base_url, key_id, secret, args):
    from hospital_sdk import OpenApiClient

    session = TimedSession()
    sdk = OpenApiClient(base_url, key_id, secret, session=session, max_retries=0, timeout=120)
    departments, people = catalogue(args.doctors)
    started = time.perf_counter()
    sdk.upsert_departments(departments)
    sdk.upsert_doctors(people)
    print(f"  catalogue           {len(departments)} departments, {len(people)} doctors in "
          f"{time.perf_counter() - started:.2f} s")
    passes = [("create", 5000, "created"), ("again", 5000, "unchanged"),
              ("change fee", 6000, "updated")]
    for label, fee, expected in passes:
        items = clinics(args.schedules, args.doctors, fee)
        session.durations.clear()
        started = time.perf_counter()
        result = sdk.upsert_schedules(items)
        elapsed = time.perf_counter() - started
        got = getattr(result, expected)
        if got != len(items):
            raise SystemExit(f"{label}: {got} of {len(items)} {expected}: {result}")
        print(f"  schedules {label:10} {len(items)} {expected:9} in {elapsed:6.2f} s  "
              f"{len(items) / elapsed:7.0f} items/s  {result.requests} batches, slowest "
              f"{max(session.durations) * 1000:.0f} ms")
    sdk.close()


def _clients(kind, port, key_id, secret, threads, seconds, queue):
    """One process: `threads` clients, each its own connection, for `seconds`."""
    import requests

    from hospital_sdk import OpenApiClient

    base = f"http://127.0.0.1:{port}"
    latencies, failures = [], []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client():
        mine, bad = [], 0
        if kind == "ping":
            session = requests.Session()

            def call():
                return session.get(base + "/ping", timeout=30).status_code == 200
        else:
            sdk = OpenApiClient(base, key_id, secret, max_retries=0, timeout=30)

            def call():
                return sdk.registration_changes(limit=1).items is not None
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                ok = call()
            except Exception:  # an error answer counts as a failure, as does a dead socket
                ok = False
            mine.append(time.perf_counter() - started)
            bad += not ok
        with lock:
            latencies.extend(mine)
            failures.append(bad)

    workers = [threading.Thread(target=client) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put((latencies, sum(failures)))


def load(kind, port, key_id, secret, args):
    """(requests/s, latencies in s, failures) for one round of one kind."""
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_clients, args=(
        kind, port, key_id, secret, args.threads, args.seconds, queue))
        for _ in range(args.processes)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    results = [queue.get() for _ in processes]
    for process in processes:
        process.join()
    elapsed = time.perf_counter() - started
    latencies = [value for got, _ in results for value in got]
    return len(latencies) / elapsed, latencies, sum(bad for _, bad in results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--doctors", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0, help="per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1/bench_open_api")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/11")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="bench-open-api-"))
    database_url = f"sqlite:///{instance / 'bench.db'}" if args.sqlite else args.database_url
    ensure_database(database_url)
    port = free_port()
    env = {**os.environ, "APP_ENV": "development", "INSTANCE_PATH": str(instance),
           "DATABASE_URL": database_url, "REDIS_URL": args.redis_url, "PORT": str(port),
           "LOG_LEVEL": "WARNING", "OPEN_API_RATE_PER_MINUTE": str(10 ** 9)}
    os.environ.update(env)  # before the app's config is imported
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import redis_client

    fresh_database(database_url)
    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        redis_client.conn.flushdb()
    key_id, secret = make_hospital(app)
    backend = "SQLite" if database_url.startswith("sqlite") else "MariaDB"
    server = None
    try:
        server = start_server(env, port, 2, 4, instance / "gunicorn.log")
        print(f"Open API upserts through hospital_sdk, gunicorn 2x4, {backend} + Redis")
        upsert(f"http://127.0.0.1:{port}", key_id, secret, args)
        print(f"Signed requests next to /ping: {args.rounds} rounds of {args.seconds:.0f} s "
              f"per kind, {args.processes} processes x {args.threads} threads")
        figures = {"ping": ([], 0.0, 0), "signed": ([], 0.0, 0)}
        for round_number in range(1, args.rounds + 1):
            line = []
            for kind in ("ping", "signed"):
                rate, latencies, failures = load(kind, port, key_id, secret, args)
                seen, rates, bad = figures[kind]
                figures[kind] = (seen + latencies, rates + rate, bad + failures)
                line.append(f"{kind} {rate:6.0f}/s")
            print(f"  round {round_number}  " + "  ".join(line))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(instance, ignore_errors=True)

    for kind, (latencies, rates, failures) in figures.items():
        print(f"  {kind:6}  {rates / args.rounds:6.0f} requests/s  p50 "
              f"{percentile(latencies, 0.5) * 1000:5.1f} ms  p95 "
              f"{percentile(latencies, 0.95) * 1000:5.1f} ms  {failures} failed")
    ratio = figures["signed"][1] / figures["ping"][1]
    print(f"  signed ÷ ping  {ratio:.2f}")
    failed = figures["ping"][2] + figures["signed"][2]
    print(f"  {'PASS' if not failed else 'FAIL'}  every answer 200")
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
