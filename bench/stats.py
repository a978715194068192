"""The statistics dashboard on a year of data: every query it makes, timed through the real
staff API (Flask test client: parsing, the service, the schema dump), against 200 ms.

A fresh database (MariaDB `bench_stats` by default; --sqlite for a SQLite file) is filled with
bulk inserts (executemany in chunks) of one year: --hospitals hospitals in 10 cities with 15
departments each, --users users, --caregivers caregivers, --orders orders (70 % registrations,
30 % care orders; care orders with their offers, earnings and reviews), and logins and searches
in user_events; today gets its share too (computed live by the dashboard). Then the nightly
job summarises the year (timed), and each dashboard query over the last 365 days runs --runs
times: printed one line per query with its median and slowest ms, and PASS / FAIL.

    .venv/bin/python bench/stats.py [--orders 1000000] [--users 100000] [--runs 7]
        [--sqlite] [--database-url mysql+pymysql://root@127.0.0.1/bench_stats]
        [--redis-url redis://127.0.0.1:6379/2]

The database must be empty or named bench_*: its tables are dropped and the migrations run.
"""
import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ensure_database, fresh_database  # noqa: E402

TARGET_MS = 200.0
CHUNK = 5000
CITIES = ["110100", "310100", "440100", "440300", "330100", "320100", "510100", "420100",
          "610100", "120100"]
DEPARTMENTS = ["内科", "外科", "儿科", "妇产科", "眼科", "耳鼻喉科", "口腔科", "皮肤科", "骨科",
               "神经内科", "心血管内科", "消化内科", "呼吸内科", "肿瘤科", "中医科"]


def _raw_table(model):
    """The model's table as a plain clause (untyped columns): values go in as given, so a
    ciphertext made once is stored as is (no encryption per row)."""
    from sqlalchemy import column, table

    return table(model.__table__.name, *[column(c.name) for c in model.__table__.columns])


def _defaults(model) -> dict:
    """Scalar defaults of the model's columns (what the ORM would fill)."""
    values = {}
    for c in model.__table__.columns:
        default = c.default
        if default is not None and default.is_scalar:
            values[c.name] = default.arg
        elif c.server_default is not None and not c.primary_key:
            text = str(getattr(c.server_default, "arg", "")).strip("'")
            values[c.name] = int(text) if text.lstrip("-").isdigit() else text
    return values


def insert(connection, model, rows, *, raw=False):
    if not rows:
        return
    target = _raw_table(model) if raw else model.__table__
    for start in range(0, len(rows), CHUNK):
        connection.execute(target.insert(), rows[start:start + CHUNK])


def cipher_of(model, column_name, value):
    column = model.__table__.columns[column_name]
    return column.type.process_bind_param(value, None)


def utc(day: date, seconds: int) -> datetime:
    from app.common.time import LOCAL_TZ

    local = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ) + timedelta(seconds=seconds)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def fill(app, args):
    """One year of rows, up to now. Returns a summary of what was made."""
    from app.booking.models import Registration
    from app.care_orders.models import CareAssignment, CareOrder
    from app.care_reviews.models import CareReview
    from app.caregivers.models import Caregiver
    from app.common.time import local_today
    from app.earnings.models import EarningEntry
    from app.extensions import db
    from app.hospitals.models import Department, Doctor, Hospital, Schedule
    from app.patients.models import Patient
    from app.stats.models import UserEvent
    from app.users.models import User

    rng = random.Random(16)
    today = local_today()
    first = today - timedelta(days=365)
    now_seconds = int((datetime.now(timezone.utc) + timedelta(hours=8)).timestamp()) % 86400
    days = [first + timedelta(days=n) for n in range(366)]

    def moment(day):
        limit = now_seconds if day == today else 86399
        return utc(day, rng.randint(0, max(limit - 1, 0)))

    with app.app_context(), db.engine.begin() as connection:
        if connection.dialect.name == "mysql":
            connection.exec_driver_sql("SET unique_checks=0")
        started = time.perf_counter()
        hospitals, departments, doctors, schedules = [], [], [], []
        for h in range(args.hospitals):
            hospitals.append({**_defaults(Hospital), "id": h + 1, "code": f"B{h + 1:04d}",
                              "name": f"第{h + 1}人民医院", "level": "3A",
                              "province_code": CITIES[h % 10][:2] + "0000",
                              "city_code": CITIES[h % 10], "district_code": CITIES[h % 10][:4] + "01",
                              "address": "测试路", "phone": "010-1", "is_active": True,
                              "created_at": utc(first, 0), "updated_at": utc(first, 0)})
            for d, name in enumerate(DEPARTMENTS):
                dep_id = h * len(DEPARTMENTS) + d + 1
                departments.append({**_defaults(Department), "id": dep_id, "hospital_id": h + 1,
                                    "code": f"D{d}", "name": name, "created_at": utc(first, 0),
                                    "updated_at": utc(first, 0)})
                doctors.append({**_defaults(Doctor), "id": dep_id, "hospital_id": h + 1,
                                "department_id": dep_id, "name": "李医生", "title": "主任医师",
                                "created_at": utc(first, 0), "updated_at": utc(first, 0)})
                schedules.append({**_defaults(Schedule), "id": dep_id, "hospital_id": h + 1,
                                  "department_id": dep_id, "doctor_id": dep_id,
                                  "work_date": today, "period": "morning",
                                  "start_time": datetime(2000, 1, 1, 8).time(),
                                  "end_time": datetime(2000, 1, 1, 12).time(), "total": 10,
                                  "available": 10, "numbers_issued": 0, "fee_fen": 5000,
                                  "status": "open", "created_at": utc(first, 0),
                                  "updated_at": utc(first, 0)})
        insert(connection, Hospital, hospitals)
        insert(connection, Department, departments)
        insert(connection, Doctor, doctors)
        insert(connection, Schedule, schedules)

        name_cipher = cipher_of(Patient, "name_encrypted", "王小明")
        phone_cipher = cipher_of(Patient, "phone_encrypted", "13800000000")
        id_cipher = cipher_of(Patient, "id_number_encrypted", "110101199003078515")
        users, patients, user_days = [], [], []
        for u in range(args.users + args.caregivers):
            day = days[min(int(rng.random() ** 0.7 * 366), 365)]
            at = moment(day)
            user_days.append(day)
            users.append({**_defaults(User), "id": u + 1, "openid": f"bench-{u + 1}",
                          "status": "active", "real_name_status": "verified",
                          "created_at": at, "updated_at": at})
            patients.append({**_defaults(Patient), "id": u + 1, "user_id": u + 1, "alive": True,
                             "name_encrypted": name_cipher, "id_type": "resident_id",
                             "id_number_encrypted": id_cipher, "id_number_index": f"i{u}",
                             "gender": "male", "birthday": date(1990, 3, 7),
                             "phone_encrypted": phone_cipher, "phone_index": f"p{u}",
                             "is_insured": False, "created_at": at, "updated_at": at})
        insert(connection, User, users)
        insert(connection, Patient, patients, raw=True)
        caregiver_ids = list(range(1, args.caregivers + 1))
        caregivers = [{**_defaults(Caregiver), "id": c, "user_id": args.users + c,
                       "status": "approved", "city_code": CITIES[c % 10], "years_experience": 3,
                       "created_at": utc(first, 0), "updated_at": utc(first, 0)}
                      for c in caregiver_ids]
        insert(connection, Caregiver, caregivers)
        print(f"  catalogue, {len(users)} users and {len(caregivers)} caregivers: "
              f"{time.perf_counter() - started:.1f} s", flush=True)

        # orders: spread over the year, more recently (growth); customers are the users who
        # existed by then (approximated: any user)
        weights = [1 + n / 365 for n in range(366)]
        order_days = rng.choices(days, weights=weights, k=args.orders)
        reg_cipher = cipher_of(Registration, "patient_name_encrypted", "王小明")
        care_cipher = cipher_of(CareOrder, "patient_name_encrypted", "王小明")
        n_reg = int(args.orders * 0.7)
        rows, started = [], time.perf_counter()
        for n in range(n_reg):
            day = order_days[n]
            at = moment(day)
            user = rng.randint(1, args.users)
            dep = rng.randint(1, len(departments))
            paid = rng.random() < 0.85
            rows.append({**REG_DEFAULTS, "order_no": f"R{n:09d}", "user_id": user,
                         "patient_id": user, "schedule_id": dep,
                         "hospital_id": departments[dep - 1]["hospital_id"],
                         "department_id": dep, "doctor_id": dep, "visit_date": day,
                         "period": "morning", "fee_fen": rng.choice((500, 1000, 3000, 5000)),
                         "patient_name_encrypted": reg_cipher,
                         "status": "visited" if paid else "closed", "active": None,
                         "paid_at": at + timedelta(minutes=2) if paid else None,
                         "created_at": at, "updated_at": at})
            if len(rows) == 50000:
                insert(connection, Registration, rows, raw=True)
                rows = []
        insert(connection, Registration, rows, raw=True)
        print(f"  {n_reg} registrations: {time.perf_counter() - started:.1f} s", flush=True)

        rows, assignments, reviews, earnings, started = [], [], [], [], time.perf_counter()
        order_id = 0
        for n in range(n_reg, args.orders):
            order_id += 1
            day = order_days[n]
            at = moment(day)
            user = rng.randint(1, args.users)
            hospital = rng.randint(1, args.hospitals)
            caregiver = rng.choice(caregiver_ids)
            fate = rng.random()
            status = ("completed" if fate < 0.7 else "cancelled" if fate < 0.8 else
                      "refunded" if fate < 0.85 else "closed")
            paid = status != "closed"
            total = rng.choice((12000, 18000, 30000, 60000))
            later = at + timedelta(hours=rng.randint(1, 40))
            rows.append({**CARE_DEFAULTS, "id": order_id, "order_no": f"C{n:09d}",
                         "user_id": user, "patient_id": user,
                         "patient_name_encrypted": care_cipher, "caregiver_id": caregiver,
                         "care_type": "full_day", "skills": "[]", "start_at": at + timedelta(days=1),
                         "end_at": at + timedelta(days=2),
                         "city_code": CITIES[(hospital - 1) % 10], "hospital_id": hospital,
                         "department": rng.choice(DEPARTMENTS), "units": 1,
                         "unit_price_fen": total, "base_fen": total, "total_fen": total,
                         "status": status, "paid_at": at if paid else None,
                         "completed_at": later if status == "completed" else None,
                         "cancelled_at": later if status == "cancelled" else None,
                         "refunded_at": later if status == "refunded" else None,
                         "created_at": at, "updated_at": at})
            if paid:
                decided = at + timedelta(minutes=rng.randint(1, 600))
                assignments.append({**ASSIGN_DEFAULTS, "order_id": order_id,
                                    "caregiver_id": caregiver,
                                    "status": ("accepted" if status in ("completed", "cancelled")
                                               else rng.choice(("rejected", "timed_out"))),
                                    "by": "family", "deadline": decided, "decided_at": decided,
                                    "quote_fen": total, "created_at": at, "updated_at": at})
            if status == "completed":
                net = total * 8 // 10
                earnings.append({**EARN_DEFAULTS, "caregiver_id": caregiver,
                                 "order_id": order_id, "kind": "service", "amount_fen": total,
                                 "commission_fen": total - net, "net_fen": net,
                                 "commission_bp": 2000, "status": "settled", "due_at": later,
                                 "created_at": later, "updated_at": later})
                if rng.random() < 0.5:
                    reviews.append({**REVIEW_DEFAULTS, "order_id": order_id,
                                    "caregiver_id": caregiver, "user_id": user,
                                    "stars": rng.choices((1, 2, 3, 4, 5), (2, 3, 10, 30, 55))[0],
                                    "tags": [], "created_at": later, "updated_at": later})
            if len(rows) == 20000:
                insert(connection, CareOrder, rows, raw=True)
                rows = []
        insert(connection, CareOrder, rows, raw=True)
        insert(connection, CareAssignment, assignments)
        insert(connection, EarningEntry, earnings)
        insert(connection, CareReview, reviews)
        print(f"  {order_id} care orders, {len(assignments)} offers, {len(earnings)} earnings, "
              f"{len(reviews)} reviews: {time.perf_counter() - started:.1f} s", flush=True)

        events, started = [], time.perf_counter()
        for n in range(args.events):
            day = days[min(int(rng.random() ** 0.8 * 366), 365)]
            kind = rng.choices(("login", "hospital_search", "caregiver_search"), (4, 3, 3))[0]
            events.append({"event_key": f"{n:032x}", "kind": kind,
                           "user_id": rng.randint(1, args.users) if rng.random() < 0.8 else None,
                           "occurred_at": moment(day)})
        insert(connection, UserEvent, events)
        print(f"  {len(events)} user events: {time.perf_counter() - started:.1f} s", flush=True)
    return {"registrations": n_reg, "care_orders": order_id}


REG_DEFAULTS: dict = {}
CARE_DEFAULTS: dict = {}
ASSIGN_DEFAULTS: dict = {}
EARN_DEFAULTS: dict = {}
REVIEW_DEFAULTS: dict = {}


def _prepare_defaults():
    from app.booking.models import Registration
    from app.care_orders.models import CareAssignment, CareOrder
    from app.care_reviews.models import CareReview
    from app.earnings.models import EarningEntry

    for target, model in ((REG_DEFAULTS, Registration), (CARE_DEFAULTS, CareOrder),
                          (ASSIGN_DEFAULTS, CareAssignment), (EARN_DEFAULTS, EarningEntry),
                          (REVIEW_DEFAULTS, CareReview)):
        values = _defaults(model)
        # every column present (one executemany shape), unset ones NULL
        target.update({c.name: values.get(c.name) for c in model.__table__.columns
                       if not c.primary_key})


def queries(today: date):
    start = (today - timedelta(days=364)).isoformat()
    span = f"from={start}&to={today.isoformat()}"
    return [
        ("overview", f"overview?{span}"),
        ("trend by day", f"trend?{span}"),
        ("trend by week", f"trend?{span}&granularity=week"),
        ("trend by month", f"trend?{span}&granularity=month"),
        ("orders by hospital", f"dimensions?{span}&dimension=hospital"),
        ("orders by department", f"dimensions?{span}&dimension=department"),
        ("orders by city", f"dimensions?{span}&dimension=city"),
        ("caregivers (rates, income)", f"caregivers?{span}"),
        ("satisfaction", f"satisfaction?{span}"),
        ("behaviour", f"behaviour?{span}"),
        ("export trend csv", f"export?{span}&table=trend&format=csv"),
        ("export departments xlsx", f"export?{span}&table=dimension&dimension=department&format=xlsx"),
        ("last 30 days overview", "overview"),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--caregivers", type=int, default=2_000)
    parser.add_argument("--hospitals", type=int, default=40)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1/bench_stats")
    parser.add_argument("--sqlite", action="store_true", help="a SQLite file instead")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the rows an earlier run filled; summarise them all again")
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="bench-stats-"))
    database_url = f"sqlite:///{instance / 'bench.db'}" if args.sqlite else args.database_url
    ensure_database(database_url)
    os.environ.update({"APP_ENV": "development", "INSTANCE_PATH": str(instance),
                       "DATABASE_URL": database_url, "REDIS_URL": args.redis_url,
                       "LOG_LEVEL": "WARNING"})
    from flask_migrate import upgrade
    from sqlalchemy import select

    from app import create_app
    from app.common.time import local_today
    from app.extensions import db, redis_client

    if not args.reuse:
        fresh_database(database_url)
    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        redis_client.conn.flushdb()
    _prepare_defaults()
    backend = "SQLite" if database_url.startswith("sqlite") else "MariaDB"
    print(f"Statistics on one year: {args.orders} orders, {args.users} users, {backend}")

    from app.stats import services
    from app.stats.models import StatsDay
    from app.staff.models import StaffUser
    from app.staff.services import create_staff, login as staff_login

    if args.reuse:
        with app.app_context():
            db.session.execute(StatsDay.__table__.delete())
            db.session.commit()
        print("reusing the rows of an earlier run")
    else:
        started = time.perf_counter()
        made = fill(app, args)
        print(f"filled in {time.perf_counter() - started:.1f} s: {made}")

    started = time.perf_counter()
    with app.app_context():
        done = services.run_nightly()
    print(f"nightly job over the year: {len(done)} days in {time.perf_counter() - started:.1f} s"
          f" ({(time.perf_counter() - started) / max(len(done), 1) * 1000:.0f} ms a day)")
    started = time.perf_counter()
    with app.app_context():
        again = services.run_nightly()
    print(f"nightly job again (the last {len(again)} days): {time.perf_counter() - started:.1f} s")

    with app.app_context():
        if not db.session.scalar(select(StaffUser.id).where(
                StaffUser.username == "bench-operator")):
            create_staff("bench-operator", "correct-horse-battery", "operator")
        token = staff_login("bench-operator", "correct-horse-battery")["token"]
        db.session.remove()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    today = local_today()
    failed = 0
    print(f"dashboard queries over 365 days, median of {args.runs} runs (target "
          f"{TARGET_MS:.0f} ms):")
    for label, path in queries(today):
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            response = client.get(f"/api/v1/staff/stats/{path}", headers=headers)
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{label}: {response.status_code} {response.get_data()[:300]}")
        median = statistics.median(times)
        verdict = "PASS" if median <= TARGET_MS else "FAIL"
        if label.startswith("export"):
            verdict = "(a download, not a dashboard query: no target)"
        failed += verdict == "FAIL"
        print(f"  {label:<28} {median:8.1f} ms  (max {max(times):7.1f})  {verdict}", flush=True)
    with app.app_context():
        body = client.get(f"/api/v1/staff/stats/{queries(today)[0][1]}", headers=headers).get_json()
    print(f"year totals: {body['registrations']} registrations, {body['care_orders']} care "
          f"orders, ¥{body['registration_fen'] / 100:,.2f} + ¥{body['care_fen'] / 100:,.2f}")
    print("ALL PASS" if not failed else f"{failed} FAIL")


if __name__ == "__main__":
    main()
