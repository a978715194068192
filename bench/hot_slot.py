"""Hot-slot release: no oversell, and the sold-out flood never reaches the database.

Starts the product under gunicorn on MariaDB + Redis and, for the Redis-gate path and then the
database-only path (BOOKING_GATE_ENABLED=0):
  1. hot release: --racers concurrent clients book one schedule with --slots slots;
  2. sold-out flood: --clients concurrent clients keep booking it for --seconds;
  3. a no-op JSON endpoint (GET /ping) of the same server under the same load.
It prints successes, oversell, database row writes made during the flood, requests/s and
p50/p99 of both endpoints and their ratio, and the gate's gain over the database-only path.

    .venv/bin/python bench/hot_slot.py [--racers 500 --slots 100 --clients 16 --seconds 8]
                                       [--workers 4 --threads 4]

In the flood every connection cycles through many users, so one user's retries reach several
workers, as they do behind a pooled proxy. gunicorn runs 4 workers x 4 threads, what we deploy
on two cores: with 8 processes the context switching alone cost a fifth of the throughput.

Needs MariaDB at 127.0.0.1:3306 (root, no password; creates and drops `bench_hot`) and Redis at
127.0.0.1:6379 (db 13, flushed). The load comes from separate processes (no shared GIL).
"""
import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import time as clock, timedelta
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, percentile  # noqa: E402
DB_NAME = "bench_hot"


# ----------------------------------------------------------------------------- load clients

def _request(conn, method, path, body, headers):
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    return response.status, (time.perf_counter() - started) * 1000, payload


def _flood_worker(port, method, path, bodies_and_headers, threads, seconds, out):
    """One load process: `threads` keep-alive clients for `seconds`."""
    results = []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        index, mine = offset, []
        while time.perf_counter() < deadline:
            body, headers = bodies_and_headers[index % len(bodies_and_headers)]
            index += threads
            try:
                status, elapsed, _ = _request(conn, method, path, body, headers)
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, elapsed = 0, 0.0
            mine.append((status, elapsed))
        with lock:
            results.extend(mine)

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put(results)


def flood(port, method, path, requests_list, clients, seconds, processes=4):
    queue = multiprocessing.Queue()
    per_process = max(clients // processes, 1)
    requests_list = requests_list * processes if len(requests_list) < processes else requests_list
    chunks = [requests_list[i::processes] for i in range(processes)]
    procs = [multiprocessing.Process(target=_flood_worker, args=(
        port, method, path, chunks[i], per_process, seconds, queue)) for i in range(processes)]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = []
    for _ in procs:
        results.extend(queue.get())
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - started
    latencies = [elapsed for status, elapsed in results if status]
    statuses = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"requests": len(results), "rps": len(results) / seconds,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99),
            "statuses": statuses, "wall": wall, "latencies": latencies}


def combine(parts, seconds):
    latencies = [lat for part in parts for lat in part["latencies"]]
    statuses = {}
    for part in parts:
        for status, count in part["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    requests_made = sum(part["requests"] for part in parts)
    return {"requests": requests_made, "rps": requests_made / seconds,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99),
            "statuses": statuses}


def hot_release(port, racers_requests):
    """Every racer at once, one request each (threads released together)."""
    barrier = threading.Barrier(len(racers_requests))
    results = []
    lock = threading.Lock()

    def race(body_headers):
        body, headers = body_headers
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        try:
            status, elapsed, payload = _request(conn, "POST", "/api/v1/registrations", body,
                                                headers)
            code = json.loads(payload)["error"]["code"] if status >= 400 else None
        except (OSError, http.client.HTTPException) as exc:
            status, elapsed, code = 0, 0.0, type(exc).__name__
        with lock:
            results.append((status, elapsed, code))

    threads = [threading.Thread(target=race, args=(item,)) for item in racers_requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# --------------------------------------------------------------------------------- fixtures

def build_fixtures(app, racers, slots, label):
    from app.common.auth import issue_token
    from app.common.identity import parse_resident_id
    from app.common.time import local_today
    from app.extensions import db
    from app.hospitals.models import Department, Doctor, Hospital, Schedule
    from app.patients.models import Patient
    from app.users.models import User

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
            doctor = Doctor(hospital_id=hospital.id, department_id=department.id, name="张医生",
                            title="主任医师")
            db.session.add(doctor)
            db.session.flush()
        department = db.session.query(Department).filter_by(hospital_id=hospital.id).first()
        doctor = db.session.query(Doctor).filter_by(hospital_id=hospital.id).first()
        period = {"gate": "morning", "database-only": "afternoon"}.get(label, "evening")
        doctor = doctor if not label.endswith("-warm") else _warm_doctor(hospital, department)
        schedule = Schedule(hospital_id=hospital.id, department_id=department.id,
                            doctor_id=doctor.id, work_date=local_today() + timedelta(days=3),
                            period=period, start_time=clock(8), end_time=clock(12), total=slots,
                            available=slots, numbers_issued=0, fee_fen=1000, status="open")
        db.session.add(schedule)
        db.session.flush()
        people = []
        for index in range(racers):
            user = User(openid=f"bench-{label}-{index}", status="active", token_version=1,
                        real_name_status="verified")
            db.session.add(user)
            db.session.flush()
            patient = Patient(user_id=user.id, alive=True, name="测试", is_insured=False)
            patient.set_id("resident_id", "110101199003078515")
            patient.birthday, patient.gender = parse_resident_id("110101199003078515")
            patient.phone = "13800000000"
            db.session.add(patient)
            db.session.flush()
            headers = {"Authorization": "Bearer " + issue_token("user", user.id, 1),
                       "Content-Type": "application/json"}
            # bytes, so http.client sends headers and body in one segment (no Nagle stall)
            body = json.dumps({"schedule_id": schedule.id, "patient_id": patient.id}).encode()
            people.append((body, headers))
        db.session.commit()
        schedule_id = schedule.id
        db.session.remove()
    return schedule_id, people


def _warm_doctor(hospital, department):
    from app.extensions import db
    from app.hospitals.models import Doctor

    doctor = Doctor(hospital_id=hospital.id, department_id=department.id, name="预热医生",
                    title="医师")
    db.session.add(doctor)
    db.session.flush()
    return doctor


def db_writes(cursor):
    cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN "
                   "('Innodb_rows_inserted','Innodb_rows_updated','Innodb_rows_deleted')")
    return sum(int(value) for _, value in cursor.fetchall())


def start_server(env, port, workers, threads, log_path):
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-k", "gthread", "--threads",
         str(threads), "--backlog", "2048", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=open(log_path, "a"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"gunicorn did not start; see {log_path}")


def run_mode(label, gate_enabled, args, base_env, app, cursor, instance):
    from app.booking.models import Registration
    from app.extensions import db
    from app.hospitals.models import Schedule

    schedule_id, people = build_fixtures(app, args.racers, args.slots, label)
    warm_schedule, warm_people = build_fixtures(app, 64, 0, label + "-warm")
    warm_up = warm_people
    port = free_port()
    env = {**base_env, "PORT": str(port), "BOOKING_GATE_ENABLED": "1" if gate_enabled else "0"}
    server = start_server(env, port, args.workers, args.threads, Path(instance) / "gunicorn.log")
    try:
        # warm every worker's pools on the booking path, against a schedule with no slots
        flood(port, "POST", "/api/v1/registrations", warm_up, args.clients, 0.5)
        flood(port, "GET", "/ping", [(None, {})], args.clients, 1.0)  # warm up
        hot = hot_release(port, people)
        with app.app_context():
            booked = db.session.query(Registration).filter_by(schedule_id=schedule_id).count()
            available = db.session.get(Schedule, schedule_id).available
            db.session.remove()
        # alternate the two loads in short rounds so drift on the machine hits both alike
        rounds = 4
        floods, noops, writes = [], [], 0
        for _ in range(rounds):
            before = db_writes(cursor)
            floods.append(flood(port, "POST", "/api/v1/registrations", people, args.clients,
                                args.seconds / rounds))
            writes += db_writes(cursor) - before
            noops.append(flood(port, "GET", "/ping", [(None, {})], args.clients,
                               args.seconds / rounds))
        sold_out, noop = combine(floods, args.seconds), combine(noops, args.seconds)
        with app.app_context():
            booked_after = db.session.query(Registration).filter_by(
                schedule_id=schedule_id).count()
            db.session.remove()
    finally:
        server.terminate()
        server.wait(timeout=20)
    successes = sum(1 for status, _, _ in hot if status == 201)
    return {"label": label, "successes": successes, "booked": booked,
            "oversell": max(booked_after - args.slots, 0) + max(-available, 0),
            "hot_codes": sorted({code for _, _, code in hot if code}),
            "hot_p50": statistics.median(e for s, e, _ in hot if s),
            "hot_p99": percentile([e for s, e, _ in hot if s], 0.99),
            "flood": sold_out, "noop": noop, "writes": writes,
            "flood_late_bookings": booked_after - booked}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--racers", type=int, default=500)
    parser.add_argument("--slots", type=int, default=100)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

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
                "REDIS_URL": "redis://127.0.0.1:6379/13",
                "WECHAT_API_BASE": f"http://127.0.0.1:{sim_port}/_sim/wechat"}
    os.environ.update(base_env)
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import redis_client

    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    with app.app_context():
        redis_client.conn.flushdb()
        upgrade()
    simulator = start_server({**base_env, "PORT": str(sim_port)}, sim_port, 2, 8,
                             Path(instance) / "simulator.log")
    try:
        runs = [run_mode("gate", True, args, base_env, app, cursor, instance),
                run_mode("database-only", False, args, base_env, app, cursor, instance)]
    finally:
        simulator.terminate()
        simulator.wait(timeout=20)
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")

    print(f"Hot-slot booking: gunicorn {args.workers}x{args.threads} gthread on MariaDB + Redis, "
          f"{os.cpu_count()} cores (load generator on the same machine)")
    for run in runs:
        flood_, noop = run["flood"], run["noop"]
        print(f"\n[{run['label']}]")
        print(f"  hot release          {args.racers} clients for {args.slots} slots: "
              f"successes {run['successes']}, oversell {run['oversell']}, "
              f"refusals {run['hot_codes']}, p50 {run['hot_p50']:.1f} ms, "
              f"p99 {run['hot_p99']:.1f} ms")
        print(f"  sold-out flood       {args.clients} clients, {flood_['requests']} requests: "
              f"{flood_['rps']:.0f} req/s, p50 {flood_['p50']:.2f} ms, p99 {flood_['p99']:.2f} ms, "
              f"answers {flood_['statuses']}")
        print(f"  DB row writes during the flood: {run['writes']}; bookings made by it: "
              f"{run['flood_late_bookings']}")
        print(f"  no-op JSON (/ping)   {args.clients} clients, {noop['requests']} requests: "
              f"{noop['rps']:.0f} req/s, p50 {noop['p50']:.2f} ms, p99 {noop['p99']:.2f} ms")
        print(f"  booking / no-op      {flood_['rps'] / noop['rps']:.2f}")
    gate, database = runs
    gain = gate["flood"]["rps"] / database["flood"]["rps"]
    print(f"\ngate vs database-only (sold-out flood req/s): {gain:.2f}x")
    targets = {
        "0 oversell": all(r["oversell"] == 0 and r["booked"] == args.slots for r in runs),
        "0 sold-out DB writes (gate)": gate["writes"] == 0,
        "ratio >= 0.6 (gate)": gate["flood"]["rps"] / gate["noop"]["rps"] >= 0.6,
        "p99 <= 50 ms at 16 clients (gate)": gate["flood"]["p99"] <= 50,
        ">= 1.5x database-only": gain >= 1.5,
    }
    for name, ok in targets.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    sys.exit(0 if all(targets.values()) else 1)


if __name__ == "__main__":
    main()
