"""Hot-slot release: no oversell, and the sold-out flood never reaches the database.

Starts the product under gunicorn on MariaDB + Redis and, for the Redis-gate path and then the
database-only path (BOOKING_GATE_ENABLED=0):
  1. hot release: --racers concurrent clients (one request each) book one schedule with
     --slots slots;
  2. sold-out flood: --clients concurrent clients keep booking it for --seconds, as --users
     distinct users (at least 10,000), each sending at most 3 requests: the users are sent in
     order, all of them once before anyone a second time, so most requests come from a user
     the server has not seen yet (no warm per-user caches). Every answer must be 409
     `slot_sold_out`;
  3. a no-op JSON endpoint (GET /ping) of the same server under the same load, alternated
     with the flood in short rounds so drift on the machine hits both alike.
Before those, the member wave: --members members (paid enough for the top membership level, so
they may book its early-access minutes before a release) and as many others race at once for a
schedule whose release is a few minutes away, through the same path and gate: the members fill
the slots, every other racer is told it is not released yet, nothing is oversold.
Then the two-instance run: two gunicorn servers on two ports (one MariaDB, one Redis), the
racers split between them and released together: 0 oversell.

It prints successes, oversell, database writes made during the flood (a CHECKSUM TABLE of every
table of the bench database before and after each flood round; the server-wide handler
write counters are shown too but include temporary tables and anything else the server runs), requests/s and p50/p99 of
both endpoints and their ratio, the gate's gain over the database-only path, and PASS/MISS per
target. Exit status 1 unless every target passes.

    .venv/bin/python bench/hot_slot.py [--racers 500 --slots 100 --clients 16 --seconds 8]
                                       [--users 10000 --workers 4 --threads 4]

Users, patients and tokens are made in bulk (multi-row INSERTs, tokens minted with the app's
issue_token), not through logins. gunicorn runs 4 workers x 4 threads, what we deploy on two
cores. Needs MariaDB at 127.0.0.1:3306 (root, no password; creates and drops `bench_hot`) and
Redis at 127.0.0.1:6379 (db 13, flushed). The load comes from separate processes (no shared
GIL). On a shared or busy machine the throughput figures are noise; run it on a quiet one.
"""
import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import time as clock, timedelta
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, percentile, start_server  # noqa: E402
DB_NAME = "bench_hot"
REDIS_URL = "redis://127.0.0.1:6379/13"
MAX_REQUESTS_PER_USER = 3
MIN_USERS = 10000
SOLD_OUT = b'"slot_sold_out"'


# ----------------------------------------------------------------------------- load clients

def _request(conn, method, path, body, headers):
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    return response.status, (time.perf_counter() - started) * 1000, payload


def _flood_worker(port, method, path, items, threads, seconds, expect_sold_out, out):
    """One load process: `threads` keep-alive clients for `seconds`, each through its own
    share of `items` ((body, headers, user index)) once, stopping early when it runs out."""
    results, sent, bad = [], [], []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, users, wrong = [], [], []
        for body, headers, user in items[offset::threads]:
            if time.perf_counter() >= deadline:
                break
            try:
                status, elapsed, payload = _request(conn, method, path, body, headers)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, elapsed, payload = 0, 0.0, repr(exc).encode()
            ok = status == 409 and SOLD_OUT in payload if expect_sold_out else status == 200
            mine.append((status, elapsed, ok))
            if user is not None:
                users.append(user)
            if not ok and len(wrong) < 3:
                wrong.append((status, payload[:200].decode(errors="replace")))
        with lock:
            results.extend(mine)
            sent.extend(users)
            bad.extend(wrong)

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((results, sent, bad[:5], time.perf_counter() - started))


def flood(port, method, path, items, clients, seconds, expect_sold_out, processes=4):
    """`items` are sent at most once each (spread over every client); the flood ends at
    `seconds` or when they run out. Throughput is over the time the clients really ran."""
    queue = multiprocessing.Queue()
    per_process = max(clients // processes, 1)
    chunks = [items[i::processes] for i in range(processes)]
    procs = [multiprocessing.Process(target=_flood_worker, args=(
        port, method, path, chunks[i], per_process, seconds, expect_sold_out, queue))
        for i in range(processes)]
    for proc in procs:
        proc.start()
    results, sent, bad, elapsed = [], [], [], []
    for _ in procs:
        part, users, wrong, took = queue.get()
        results.extend(part)
        sent.extend(users)
        bad.extend(wrong)
        elapsed.append(took)
    for proc in procs:
        proc.join()
    return summarize([{"results": results, "sent": sent, "bad": bad,
                       "elapsed": max(elapsed)}])


def summarize(parts):
    results = [r for part in parts for r in part["results"]]
    elapsed = sum(part["elapsed"] for part in parts)
    latencies = [e for status, e, _ in results if status] or [0.0]
    statuses = {}
    for status, _, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"requests": len(results), "rps": len(results) / elapsed if elapsed else 0.0,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99),
            "statuses": statuses, "wrong": sum(1 for _, _, ok in results if not ok),
            "bad": [b for part in parts for b in part["bad"]][:5],
            "sent": [u for part in parts for u in part["sent"]], "elapsed": elapsed,
            "results": results}


def hot_release(targets):
    """Every racer at once, one request each (threads released together). `targets` are
    (port, body, headers); with two ports the racers alternate between two servers."""
    barrier = threading.Barrier(len(targets))
    results = []
    lock = threading.Lock()

    def race(port, body, headers):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        try:
            status, elapsed, payload = _request(conn, "POST", "/api/v1/registrations", body,
                                                headers)
            code = json.loads(payload)["error"]["code"] if status >= 400 else None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            status, elapsed, code = 0, 0.0, type(exc).__name__
        with lock:
            results.append((status, elapsed, code))

    threads = [threading.Thread(target=race, args=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --------------------------------------------------------------------------------- fixtures

def catalogue(app):
    """The bench hospital, department and doctor (made once)."""
    from app.extensions import db
    from app.hospitals.models import Department, Doctor, Hospital

    with app.app_context():
        hospital = db.session.query(Hospital).filter_by(code="BENCH").one_or_none()
        if hospital is None:
            hospital = Hospital(code="BENCH", name="基准测试医院", level="3A",
                                province_code="110000", city_code="110100",
                                district_code="110101", address="测试路1号", phone="010-1",
                                is_active=True, booking_days_ahead=7, release_time=clock(0, 0),
                                stop_time=clock(23, 59), cancel_days_before=1,
                                cancel_time=clock(15, 30))
            db.session.add(hospital)
            db.session.flush()
            department = Department(hospital_id=hospital.id, code="NK", name="内科")
            db.session.add(department)
            db.session.flush()
            db.session.add(Doctor(hospital_id=hospital.id, department_id=department.id,
                                  name="张医生", title="主任医师"))
            db.session.commit()
        ids = (hospital.id, db.session.query(Department.id).filter_by(
            hospital_id=hospital.id).scalar())
        db.session.remove()
    return ids


def make_schedule(app, slots, days_ahead):
    """A schedule of its own doctor (so every run has its own, with no per-day cap shared)."""
    from app.common.time import local_today
    from app.extensions import db
    from app.hospitals.models import Doctor, Schedule

    hospital_id, department_id = catalogue(app)
    with app.app_context():
        doctor = Doctor(hospital_id=hospital_id, department_id=department_id, name="李医生",
                        title="医师")
        db.session.add(doctor)
        db.session.flush()
        schedule = Schedule(hospital_id=hospital_id, department_id=department_id,
                            doctor_id=doctor.id, work_date=local_today() + timedelta(
                                days=days_ahead), period="morning", start_time=clock(8),
                            end_time=clock(12), total=slots, available=slots,
                            numbers_issued=0, fee_fen=1000, status="open")
        db.session.add(schedule)
        db.session.commit()
        schedule_id = schedule.id
        db.session.remove()
    return schedule_id


def _id_number(n: int) -> str:
    """A valid resident ID of its own for every n (a birth date and a sequence number)."""
    from datetime import date

    from app.common.identity import resident_id_check_char

    born = date(1950, 1, 1) + timedelta(days=n // 1000)
    first17 = f"110101{born:%Y%m%d}{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def early_schedule(app, slots, minutes_to_release):
    """A schedule of a hospital of its own whose release is `minutes_to_release` away: before
    it, only members with early access may book (the same booking path and gate)."""
    from datetime import datetime

    from app.common.time import LOCAL_TZ
    from app.extensions import db
    from app.hospitals.models import Department, Doctor, Hospital, Schedule

    release = datetime.now(LOCAL_TZ) + timedelta(minutes=minutes_to_release)
    with app.app_context():
        code = f"BENCH-EARLY-{int(time.time() * 1000) % 10 ** 9}"
        hospital = Hospital(code=code, name="基准测试会员医院", level="3A", province_code="110000",
                            city_code="110100", district_code="110101", address="测试路2号",
                            phone="010-2", is_active=True, booking_days_ahead=7,
                            release_time=release.time().replace(microsecond=0),
                            stop_time=clock(23, 59), cancel_days_before=1,
                            cancel_time=clock(15, 30))
        db.session.add(hospital)
        db.session.flush()
        department = Department(hospital_id=hospital.id, code="NK", name="内科")
        db.session.add(department)
        db.session.flush()
        doctor = Doctor(hospital_id=hospital.id, department_id=department.id, name="王医生",
                        title="主任医师")
        db.session.add(doctor)
        db.session.flush()
        schedule = Schedule(hospital_id=hospital.id, department_id=department.id,
                            doctor_id=doctor.id, work_date=release.date() + timedelta(days=7),
                            period="morning", start_time=clock(8), end_time=clock(12),
                            total=slots, available=slots, numbers_issued=0, fee_fen=1000,
                            status="open")
        db.session.add(schedule)
        db.session.commit()
        schedule_id = schedule.id
        db.session.remove()
    return schedule_id


def make_members(app, people):
    """Paid enough over the year for the top level of config.py's MEMBERSHIP_LEVELS (its early
    access is 30 minutes): one paid payment each, in bulk."""
    from datetime import datetime

    from sqlalchemy import insert

    from app.extensions import db
    from app.payments.models import Payment

    top = app.config["MEMBERSHIP_LEVELS"][-1]
    now = datetime.utcnow()
    with app.app_context():
        db.session.execute(insert(Payment.__table__), [
            {"out_trade_no": f"BENCHM{user_id:020d}", "order_type": "bench_membership",
             "order_id": user_id, "user_id": user_id, "payer_openid": "bench",
             "description": "会员", "amount_fen": top["min_spend_fen"], "refunded_fen": 0,
             "status": "paid", "expires_at": now, "paid_at": now, "created_at": now,
             "updated_at": now} for user_id, _, _ in people])
        db.session.commit()
        db.session.remove()
    return top["privileges"]["early_access_minutes"]


def member_wave(args, base_env, app, instance):
    """Members and the public race for a schedule not yet released: members book (up to the
    slots), everyone else is told when it opens; nothing is oversold."""
    members = bulk_people(app, args.members, "wave-member")
    early = make_members(app, members)
    public = bulk_people(app, args.members, "wave-public")
    schedule_id = early_schedule(app, args.slots, max(1, early // 3))
    port = free_port()
    server = start_server({**base_env, "PORT": str(port), "BOOKING_GATE_ENABLED": "1"}, port,
                          args.workers, args.threads, Path(instance) / "gunicorn-wave.log")
    try:
        items = booking_items(schedule_id, members) + booking_items(schedule_id, public)
        hot = hot_release([(port, body, headers) for body, headers, _ in items])
    finally:
        stop_server(server)
    booked, available = schedule_state(app, schedule_id)
    from sqlalchemy import select

    from app.booking.models import Registration
    from app.extensions import db
    with app.app_context():  # who holds the slots (a public racer must hold none)
        holders = set(db.session.scalars(select(Registration.user_id).where(
            Registration.schedule_id == schedule_id)))
        db.session.remove()
    return {"booked": booked, "available": available, "early_minutes": early,
            "public_holders": len(holders - {user_id for user_id, _, _ in members}),
            "successes": sum(1 for status, _, _ in hot if status == 201),
            "codes": sorted({code for _, _, code in hot if code}),
            "not_released": sum(1 for _, _, code in hot if code == "not_released"),
            "oversell": max(booked - args.slots, 0) + max(-available, 0),
            "p99": percentile([e for s, e, _ in hot if s] or [0.0], 0.99)}


def bulk_people(app, count, label):
    """`count` verified users with one patient each and a token each, in bulk: multi-row
    INSERTs through SQLAlchemy Core (the column types still encrypt the personal data) and
    tokens minted with the app's own issue_token. Returns [(user_id, patient_id, headers)]."""
    from sqlalchemy import insert, select

    from app.common.auth import issue_token
    from app.common.crypto import cipher
    from app.common.identity import parse_resident_id
    from app.extensions import db
    from app.patients.models import Patient
    from app.users.models import User

    id_number = "110101199003078515"
    with app.app_context():
        openids = [f"bench-{label}-{index}" for index in range(count)]
        db.session.execute(insert(User.__table__), [
            {"openid": openid, "status": "active", "token_version": 1,
             "real_name_status": "verified"} for openid in openids])
        users = dict(db.session.execute(select(User.openid, User.id).where(
            User.openid.like(f"bench-{label}-%"))).all())
        # one patient through the ORM (its setters fill every derived column) as the template
        template = Patient(user_id=users[openids[0]], alive=True, name="测试",
                           is_insured=False)
        template.set_id("resident_id", id_number)
        template.birthday, template.gender = parse_resident_id(id_number)
        template.phone = "13800000000"
        db.session.add(template)
        db.session.flush()
        table = Patient.__table__
        row = dict(db.session.execute(select(table).where(table.c.id == template.id))
                   .mappings().one())
        row.pop("id")
        # each user books for a person of their own: the ID-number caps (app/booking_limits)
        # count people across accounts, and a crowd of one person would trip them
        db.session.execute(insert(table), [
            {**row, "user_id": users[openid], "id_number_encrypted": number,
             "id_number_index": cipher().blind_index(number, "id:resident_id")}
            for openid, number in ((openid, _id_number(users[openid]))
                                   for openid in openids[1:])])
        patients = dict(db.session.execute(select(Patient.user_id, Patient.id).where(
            Patient.user_id.in_(list(users.values())))).all())
        db.session.commit()
        people = [(users[openid], patients[users[openid]], {
            "Authorization": "Bearer " + issue_token("user", users[openid], 1),
            "Content-Type": "application/json"}) for openid in openids]
        db.session.remove()
    return people


def booking_items(schedule_id, people):
    # bytes, so http.client sends headers and body in one segment (no Nagle stall)
    return [(json.dumps({"schedule_id": schedule_id, "patient_id": patient_id}).encode(),
             headers, index) for index, (_, patient_id, headers) in enumerate(people)]


def flood_sequence(items):
    """Every user once, then every user a second and a third time. Each request is tagged
    with its position in that order (the user is position % len(items)), so a round can
    go on exactly where the previous ones stopped."""
    return [(body, headers, repeat * len(items) + user)
            for repeat in range(MAX_REQUESTS_PER_USER) for body, headers, user in items]


def unsent(sequence, sent_positions):
    sent_positions = set(sent_positions)
    return [item for item in sequence if item[2] not in sent_positions]


# ---------------------------------------------------------------------- database and server

def db_checksums(cursor):
    cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                   (DB_NAME,))
    tables = [name for (name,) in cursor.fetchall()]
    cursor.execute("CHECKSUM TABLE " + ", ".join(f"`{DB_NAME}`.`{name}`" for name in tables))
    return dict(cursor.fetchall())


def changed_tables(before, after):
    return sorted(name for name in after if before.get(name) != after[name])


def global_row_writes(cursor):
    """Server-wide row writes. (MariaDB 10.11 has no Innodb_rows_* counters any more, so the
    bench's old measure always read 0; the Handler_* counters also count internal temporary
    tables and every other database on the server.)"""
    cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN "
                   "('Handler_write','Handler_update','Handler_delete')")
    values = [int(value) for _, value in cursor.fetchall()]
    assert len(values) == 3, "this server has no Handler_write/update/delete counters"
    return sum(values)



def stop_server(server):
    server.terminate()
    server.wait(timeout=30)


def schedule_state(app, schedule_id):
    from app.booking.models import Registration
    from app.extensions import db
    from app.hospitals.models import Schedule

    with app.app_context():
        booked = db.session.query(Registration).filter_by(schedule_id=schedule_id).count()
        available = db.session.get(Schedule, schedule_id).available
        db.session.remove()
    return booked, available


def hot_outcome(hot, slots, booked, available):
    return {"successes": sum(1 for status, _, _ in hot if status == 201), "booked": booked,
            "oversell": max(booked - slots, 0) + max(-available, 0),
            "hot_codes": sorted({code for _, _, code in hot if code}),
            "hot_p50": statistics.median([e for s, e, _ in hot if s] or [0.0]),
            "hot_p99": percentile([e for s, e, _ in hot if s] or [0.0], 0.99)}


def run_mode(label, gate_enabled, args, base_env, app, cursor, instance, days_ahead):
    schedule_id = make_schedule(app, args.slots, days_ahead)
    racers = bulk_people(app, args.racers, label + "-racer")
    made = time.monotonic()
    crowd = bulk_people(app, args.users, label + "-flood")
    made = time.monotonic() - made
    warm_schedule = make_schedule(app, 0, days_ahead)
    warm_up = booking_items(warm_schedule, bulk_people(app, 64, label + "-warm"))
    port = free_port()
    env = {**base_env, "PORT": str(port), "BOOKING_GATE_ENABLED": "1" if gate_enabled else "0"}
    server = start_server(env, port, args.workers, args.threads, Path(instance) / "gunicorn.log")
    rounds = 4
    try:
        # warm every worker's pools on the booking path, against a schedule with no slots
        flood(port, "POST", "/api/v1/registrations", warm_up * 3, args.clients, 0.5, True)
        flood(port, "GET", "/ping", [(None, {}, None)] * 10 ** 6, args.clients, 1.0, False)
        hot = hot_release([(port, body, headers)
                           for body, headers, _ in booking_items(schedule_id, racers)])
        booked, available = schedule_state(app, schedule_id)
        remaining = flood_sequence(booking_items(schedule_id, crowd))
        floods, noops, changed, global_writes = [], [], set(), 0
        for _ in range(rounds):
            before, global_before = db_checksums(cursor), global_row_writes(cursor)
            floods.append(flood(port, "POST", "/api/v1/registrations", remaining, args.clients,
                                args.seconds / rounds, True))
            remaining = unsent(remaining, floods[-1]["sent"])
            global_writes += global_row_writes(cursor) - global_before
            changed |= set(changed_tables(before, db_checksums(cursor)))
            noops.append(flood(port, "GET", "/ping", [(None, {}, None)] * 10 ** 6,
                               args.clients, args.seconds / rounds, False))
        booked_after, _ = schedule_state(app, schedule_id)
    finally:
        stop_server(server)
    sold_out, noop = summarize(floods), summarize(noops)
    per_user = {}
    for position in sold_out["sent"]:
        user = position % len(crowd)
        per_user[user] = per_user.get(user, 0) + 1
    return {"label": label, **hot_outcome(hot, args.slots, booked, available),
            "flood": sold_out, "noop": noop, "changed_tables": sorted(changed),
            "global_writes": global_writes, "flood_late_bookings": booked_after - booked,
            "distinct_users": len(per_user), "max_per_user": max(per_user.values() or [0]),
            "fixture_seconds": made}


def run_two_instances(args, base_env, app, instance, days_ahead):
    schedule_id = make_schedule(app, args.slots, days_ahead)
    racers = bulk_people(app, args.racers, "two-racer")
    ports = [free_port(), free_port()]
    workers = max(args.workers // 2, 1)
    servers = []
    try:
        for index, port in enumerate(ports):
            servers.append(start_server({**base_env, "PORT": str(port),
                                         "BOOKING_GATE_ENABLED": "1"}, port, workers,
                                        args.threads, Path(instance) / f"gunicorn-{index}.log"))
        items = booking_items(schedule_id, racers)
        hot = hot_release([(ports[index % 2], body, headers)
                           for index, (body, headers, _) in enumerate(items)])
    finally:
        for server in servers:
            stop_server(server)
    booked, available = schedule_state(app, schedule_id)
    return {"label": "two instances", "workers": workers, **hot_outcome(
        hot, args.slots, booked, available)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--racers", type=int, default=500)
    parser.add_argument("--slots", type=int, default=100)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--users", type=int, default=MIN_USERS,
                        help="distinct users of the sold-out flood (at least 10,000)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--members", type=int, default=150,
                        help="members (and as many others) in the wave before the release")
    args = parser.parse_args()
    if args.users < MIN_USERS:
        parser.error(f"--users must be at least {MIN_USERS}")

    instance = tempfile.mkdtemp(prefix="bench-hot-")
    connection = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    cursor = connection.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    cursor.execute(f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4")
    # WeChat's stand-in runs as its own server, as WeChat would: the booking server's
    # prepay calls must not wait for its own threads
    sim_port = free_port()
    base_env = {**os.environ, "APP_ENV": "development", "INSTANCE_PATH": instance,
                "DATABASE_URL": f"mysql+pymysql://root@127.0.0.1/{DB_NAME}",
                "REDIS_URL": REDIS_URL,
                "WECHAT_API_BASE": f"http://127.0.0.1:{sim_port}/_sim/wechat"}
    os.environ.update(base_env)
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import redis_client

    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    with app.app_context():
        redis_client.conn.flushdb()
        upgrade()
        # every client here is one address (127.0.0.1): lift the address's caps against
        # scalpers (app/booking_limits), keep the account's, ID number's and device's
        from app.extensions import db
        from app.settings.models import PlatformSetting
        db.session.merge(PlatformSetting(key="booking_limits", value={
            "ip_attempts_per_minute": 10 ** 6, "ip_per_day": 10 ** 6,
            "ip_per_hospital": 10 ** 6}))
        db.session.commit()
    simulator = start_server({**base_env, "PORT": str(sim_port)}, sim_port, 2, 8,
                             Path(instance) / "simulator.log")
    try:
        started = time.monotonic()
        wave = member_wave(args, base_env, app, instance)
        runs = [run_mode("gate", True, args, base_env, app, cursor, instance, 3),
                run_mode("database-only", False, args, base_env, app, cursor, instance, 4)]
        two = run_two_instances(args, base_env, app, instance, 5)
    finally:
        stop_server(simulator)
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(f"Hot-slot booking: gunicorn {args.workers}x{args.threads} gthread on MariaDB + Redis, "
          f"{os.cpu_count()} cores (load generator on the same machine); "
          f"{time.monotonic() - started:.0f} s")
    for run in runs:
        flood_, noop = run["flood"], run["noop"]
        print(f"\n[{run['label']}]  ({args.users} flood users with patients and tokens made "
              f"in {run['fixture_seconds']:.1f} s)")
        print(f"  hot release          {args.racers} clients for {args.slots} slots: "
              f"successes {run['successes']}, oversell {run['oversell']}, "
              f"refusals {run['hot_codes']}, p50 {run['hot_p50']:.1f} ms, "
              f"p99 {run['hot_p99']:.1f} ms")
        print(f"  sold-out flood       {args.clients} clients, {flood_['requests']} requests "
              f"from {run['distinct_users']} distinct users (at most {run['max_per_user']} "
              f"each): {flood_['rps']:.0f} req/s, p50 {flood_['p50']:.2f} ms, "
              f"p99 {flood_['p99']:.2f} ms, answers {flood_['statuses']}, "
              f"not 409 slot_sold_out: {flood_['wrong']}")
        for status, payload in flood_["bad"]:
            print(f"    e.g. {status}: {payload}")
        print(f"  DB during the flood: tables changed {run['changed_tables'] or 'none'}; "
              f"bookings made {run['flood_late_bookings']}; server-wide handler row writes "
              f"{run['global_writes']} (temporary tables, other databases included)")
        print(f"  no-op JSON (/ping)   {args.clients} clients, {noop['requests']} requests: "
              f"{noop['rps']:.0f} req/s, p50 {noop['p50']:.2f} ms, p99 {noop['p99']:.2f} ms")
        print(f"  booking / no-op      {flood_['rps'] / noop['rps']:.2f}")
    print(f"\n[two instances: 2 x gunicorn {two['workers']}x{args.threads}, one MariaDB, "
          f"one Redis]")
    print(f"  hot release          {args.racers} clients for {args.slots} slots, alternating "
          f"between the two servers: successes {two['successes']}, oversell "
          f"{two['oversell']}, refusals {two['hot_codes']}, p99 {two['hot_p99']:.1f} ms")
    print(f"\n[member wave: {args.members} members (early access {wave['early_minutes']} min) "
          f"and {args.members} others at once, before the release]")
    print(f"  successes {wave['successes']} of {args.slots} slots, held by others than members "
          f"{wave['public_holders']}, oversell {wave['oversell']}, told 'not released' "
          f"{wave['not_released']} (the rest of the others came after the members had sold it "
          f"out: 'slot_sold_out'), refusals {wave['codes']}, p99 {wave['p99']:.1f} ms")
    gate, database = runs
    gain = gate["flood"]["rps"] / database["flood"]["rps"]
    print(f"\ngate vs database-only (sold-out flood req/s): {gain:.2f}x")
    targets = {
        "0 oversell (gate, database-only, two instances)": all(
            r["oversell"] == 0 and r["booked"] == args.slots and r["successes"] == args.slots
            and r["hot_codes"] == ["slot_sold_out"] for r in runs + [two]),
        # a short run may not reach 10,000 requests: then every request is a new user's
        f"flood from >= {MIN_USERS} distinct users (or all distinct), <= "
        f"{MAX_REQUESTS_PER_USER} requests each": all(
            r["max_per_user"] <= MAX_REQUESTS_PER_USER and (
                r["distinct_users"] >= MIN_USERS or r["max_per_user"] == 1) for r in runs),
        "every flood answer 409 slot_sold_out": all(
            r["flood"]["wrong"] == 0 and r["flood"]["requests"] > 0 for r in runs),
        "0 DB writes during the flood (gate)": not gate["changed_tables"]
            and gate["flood_late_bookings"] == 0,
        "ratio >= 0.6 (gate)": gate["flood"]["rps"] / gate["noop"]["rps"] >= 0.6,
        "p99 <= 50 ms at 16 clients (gate)": gate["flood"]["p99"] <= 50,
        ">= 1.5x database-only": gain >= 1.5,
        # the members fill the slots, nobody else holds one, none oversold
        "member wave: members only, 0 oversell": wave["oversell"] == 0
            and wave["public_holders"] == 0 and wave["not_released"] > 0
            and wave["successes"] == min(args.slots, args.members)
            and wave["booked"] == min(args.slots, args.members),
    }
    for name, ok in targets.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    sys.exit(0 if all(targets.values()) else 1)


if __name__ == "__main__":
    main()
