"""Caregiver search at scale: 10,000 caregivers, 1,000,000 busy blocks of as many real care
orders, on MariaDB + Redis.

Generates (or reuses) a marketplace of --caregivers caregivers across the demo cities (users,
skills, prices, districts, hospitals with coordinates, documents, weekly hours and their
materialised day windows for the horizon), --families families (users with a patient each)
and --busy-blocks care orders, ~100 per caregiver over the past 60 and the next 60 days, 2–72 h
each on the half-hour grid, none overlapping within a caregiver. Every busy block is one of
those orders' (ref_type "care_order", ref_id the order), exactly its window, as the app keeps
it: past orders completed, one under way in service, future ones accepted (most), awaiting
the caregiver's answer or unpaid; the money is the app's quote at the caregiver's price
(app/care_orders/pricing.py). Payments, timelines and ledgers are not generated: search reads
none of them. A database left by the bench before its busy blocks came from orders is
regenerated. Then it starts the real server under gunicorn (4 workers x 4 threads gthread, as
bench/hot_slot.py and production), waits until every worker answers from its in-process
search index (loaded at boot; the database answers until then) and alternates short rounds
of, at the same --clients concurrency:

  ping     GET /ping, the same server's no-op JSON endpoint;
  typical  city + care_type + sort=rating, page 1–3, varying cities: the list page;
  worst    a free-time window of 4–8 h on a varying day of the next 14 + 2 skills (all) +
           sort=distance from a varying point, no city filter: every listed caregiver is a
           candidate and each needs the day-window and busy-block checks;
  cold-*   the same two kinds with every request a query string never sent before (an
           unused price floor below every price standard, a start minute, a point), so the
           result cache cannot answer: what a cache miss costs;
  writes-worst  new worst-case searches while --writes-per-second care orders are placed
           through the app (place_order, as booking does: the order and its busy block in one
           commit; a refusal such as caregiver_busy is tried again elsewhere): each worker
           patches its index per commit; the orders are removed after each round;
  hot-*    (reference, no target) 100 popular query strings per kind asked over and over:
           what the result cache gives.

The typical and worst loads come from --users simulated users per kind in every round (new
users each round), every user with the search they make drawn as the mini-program asks (see
Queries.users: popular choices more often, so users share query strings as real users do),
sent in order: all once, then a second and a third time (the cache helps only within its TTL).
Every answer must be 200 with a valid page ({items, page, page_size, total}).

Latency is SERVER-SIDE: each request carries its own X-Request-ID and the app's access log
(JSON, one line per request, `duration_ms` from before_request to after_request) is read back
from the gunicorn log; the client-side p50/p95 are printed next to it. Requests/s are what
the clients got; each kind is held against the /ping rate of the same round (the machine's
speed drifts between rounds): ÷ping = its requests / the sum over its rounds of time taken x
that round's /ping requests/s. Targets: p95 <= 50 ms and ÷ping >= 0.5, printed PASS/FAIL;
exit status 1 unless all pass. --explain prints MariaDB's EXPLAIN of every statement one
typical and one worst search run (also done when a latency target fails).

    .venv/bin/python bench/caregiver_search.py [--regenerate] [--database bench_caregivers]
        [--caregivers 10000 --busy-blocks 1000000 --families 3000 --clients 16]
        [--seconds 24 --rounds 4 --users 3000 --workers 4 --threads 4 --redis-db 9]
        [--explain] [--generate-only]

Needs MariaDB at 127.0.0.1:3306 (root, no password; the database is created, and dropped
and recreated by --regenerate or when its data does not match the arguments; never `test`)
and Redis at 127.0.0.1:6379 (--redis-db, flushed before the load). The load comes from
separate processes on the same machine; on a busy machine the throughput figures are noise.
"""
import argparse
import collections
import http.client
import json
import multiprocessing
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlencode

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port, percentile, start_server  # noqa: E402

SEARCH = "/api/v1/caregivers"
BENCH_OPENID = "bench-cg-"
FAMILY_OPENID = "bench-family-"
ORDER_PREFIX = "BENCH"  # order numbers of generated care orders (the writer's are the app's)
CHUNK = 5000
ORDER_BATCH_CAREGIVERS = 500  # caregivers whose orders go in one round of inserts
# what a future window's order is: mostly accepted, some still offered, a few unpaid
FUTURE_STATUSES, FUTURE_WEIGHTS = ("accepted", "awaiting_acceptance", "pending_payment"), \
    (85, 13, 2)
PATIENT_NAMES = ("王秀兰", "李建国", "张桂英", "刘德明", "陈玉珍", "杨志强", "赵淑芬", "黄国庆",
                 "周凤英", "吴永福", "徐秀珍", "孙立新")
DEPARTMENTS = ("心血管内科", "神经内科", "普通外科", "骨科", "呼吸内科", "内分泌科", "肿瘤科")
ORDER_NEEDS = ("术后第 2 天,需协助翻身、下床活动,注意切口。",
               "脑梗死恢复期,右侧肢体无力,需协助进食、如厕。",
               "糖尿病、高血压,餐前测血糖,按时提醒服药。",
               "骨折术后卧床,需协助擦浴、更换体位,预防压疮。",
               "肺部感染住院,需拍背排痰,夜间注意血氧。")
# care-type mix (a caregiver offers 2–5 of them) and how often a status other than approved
# occurs (suspended / pending / rejected rows must be filtered out by search)
OTHER_STATUSES = (("suspended", 0.02), ("pending_review", 0.01), ("rejected", 0.01))


# ------------------------------------------------------------------------------- generation

def say(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def fast_insert(cursor, table, columns, rows):
    """Multi-row INSERTs (pymysql folds executemany into ~1 MB statements), in transactions of
    50,000 rows. Used for the big tables; the rest goes through SQLAlchemy Core so column
    types (encryption) apply."""
    sql = (f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
           f"({', '.join(['%s'] * len(columns))})")
    for offset in range(0, len(rows), 50000):
        cursor.execute("BEGIN")
        cursor.executemany(sql, rows[offset:offset + 50000])
        cursor.execute("COMMIT")


def core_insert(table, rows):
    from app.extensions import db

    for offset in range(0, len(rows), CHUNK):
        db.session.execute(table.insert(), rows[offset:offset + CHUNK])


def weighted_patterns(rng):
    from app.seed import _CG_PATTERNS  # the demo data's weekly shapes
    names = sorted(_CG_PATTERNS)
    weights = {"day_shifts": 4, "weekday_days": 4, "live_in": 2, "nights": 2, "part_time": 2,
               "weekends": 1, "days_and_weekend_live_in": 2}
    return _CG_PATTERNS, names, [weights.get(name, 1) for name in names]


def generate(app, args, cursor):
    """Everything but the care orders, their busy blocks and the day windows through
    SQLAlchemy Core (multi-row INSERTs); those three (the million-row tables) through pymysql
    directly."""
    from sqlalchemy import select

    from app.availability.models import WeeklyWindow
    from app.caregivers.models import (CARE_TYPES, DEFAULT_SKILLS, Caregiver,
                                       CaregiverDistrict, CaregiverHospital, CaregiverPrice,
                                       CaregiverSkill)
    from app.common.crypto import cipher
    from app.common.time import utcnow
    from app.extensions import db
    from app.hospitals.models import Hospital
    from app.qualifications.models import Qualification
    from app.seed import DEMO_HOSPITALS, seed_demo_hospitals
    from app.users.models import User

    timings = {}
    started = time.monotonic()
    rng = random.Random(20261124)
    now = utcnow()
    with app.app_context():
        seed_demo_hospitals()
        hospitals = db.session.execute(select(
            Hospital.id, Hospital.city_code, Hospital.district_code, Hospital.latitude,
            Hospital.longitude).where(Hospital.code.in_([h[0] for h in DEMO_HOSPITALS]))).all()
        cities = {}
        for row in hospitals:
            cities.setdefault(row.city_code, []).append(row)
        city_codes = sorted(cities)
        city_weights = [len(cities[c]) for c in city_codes]
        limits = {k: tuple(v) for k, v in app.config["CARE_PRICE_LIMITS"].items()}
        skill_codes = [code for code, _ in DEFAULT_SKILLS]
        patterns, pattern_names, pattern_weights = weighted_patterns(rng)
        timings["hospitals"] = time.monotonic() - started

        mark = time.monotonic()
        core_insert(User.__table__, [
            {"openid": f"{BENCH_OPENID}{i}", "status": "banned" if i % 500 == 499 else "active",
             "token_version": 1, "real_name_status": "verified", "created_at": now,
             "updated_at": now} for i in range(args.caregivers)])
        user_ids = dict(db.session.execute(select(User.openid, User.id).where(
            User.openid.like(f"{BENCH_OPENID}%"))).all())
        people = []
        for i in range(args.caregivers):
            city = rng.choices(city_codes, city_weights)[0]
            chosen = rng.sample(cities[city], min(len(cities[city]), rng.randint(1, 3)))
            draw, status = rng.random(), "approved"
            for other, share in OTHER_STATUSES:
                if draw < share:
                    status = other
                    break
                draw -= share
            rated = rng.random() < 0.8
            orders = rng.randint(0, 300)
            people.append({
                "user_id": user_ids[f"{BENCH_OPENID}{i}"], "status": status,
                "name_encrypted": rng.choice("王李张刘陈杨黄赵吴周") + rng.choice(
                    ("秀英", "桂兰", "建军", "春燕", "丽娟", "志刚", "玉梅", "海霞")),
                "gender": "female" if rng.random() < 0.8 else "male",
                "birth_date": date(rng.randint(1966, 1998), rng.randint(1, 12),
                                   rng.randint(1, 28)),
                "city_code": city, "latitude": chosen[0].latitude + rng.uniform(-0.05, 0.05),
                "longitude": chosen[0].longitude + rng.uniform(-0.05, 0.05),
                "years_experience": rng.randint(0, 25), "bio": "耐心细致,经验丰富。",
                "accepts_urgent": rng.random() < 0.4, "night_service": rng.random() < 0.3,
                "night_surcharge_fen": 0, "review_round": 1, "suspension_count": 0,
                "rating_avg": round(rng.uniform(3.5, 5.0), 1) if rated else None,
                "rating_count": rng.randint(1, max(orders, 1)) if rated else 0,
                "completed_orders": orders, "created_at": now, "updated_at": now,
                "_hospitals": chosen,
                "_pattern": rng.choices(pattern_names, pattern_weights)[0]})
        core_insert(Caregiver.__table__, [{k: v for k, v in p.items() if not k.startswith("_")}
                                          for p in people])
        caregiver_ids = dict(db.session.execute(select(Caregiver.user_id, Caregiver.id).where(
            Caregiver.user_id.in_(list(user_ids.values())))).all())
        skills, districts, links, prices, documents, weekly = [], [], [], [], [], []
        for number, p in enumerate(people):
            cid = p["_id"] = caregiver_ids[p["user_id"]]
            p["_skills"] = rng.sample(skill_codes, rng.randint(1, 4))
            skills += [{"caregiver_id": cid, "skill_code": code} for code in p["_skills"]]
            districts += [{"caregiver_id": cid, "district_code": code}
                          for code in sorted({h.district_code for h in p["_hospitals"]})]
            links += [{"caregiver_id": cid, "hospital_id": h.id} for h in p["_hospitals"]]
            p["_prices"] = {}
            for care_type in rng.sample(list(CARE_TYPES), rng.randint(2, 5)):
                low, high = limits[care_type]
                price = (low + int((high - low) * rng.random() ** 2)) // 100 * 100
                p["_prices"][care_type] = price
                prices.append({"caregiver_id": cid, "care_type": care_type, "price_fen": price,
                               "created_at": now, "updated_at": now})
            kinds = ["id_card", "health_certificate"] + (
                ["nursing_certificate"] if rng.random() < 0.4 else [])
            for kind in kinds:
                value = f"BENCH{kind[:2].upper()}{number:08d}"
                documents.append({
                    "caregiver_id": cid, "kind": kind, "title": kind, "number_encrypted": value,
                    "number_index": cipher().blind_index(value, f"qualification:{kind}"),
                    "status": "approved", "review_round": 1,
                    "issued_on": date.today() - timedelta(days=400),
                    "expires_on": (date.today() + timedelta(days=rng.randint(-20, 900))
                                   if kind != "id_card" else None),
                    "created_at": now, "updated_at": now})
            for weekday, windows in patterns[p["_pattern"]].items():
                weekly += [{"caregiver_id": cid, "weekday": weekday, "start_minute": s,
                            "end_minute": e, "created_at": now, "updated_at": now}
                           for s, e in windows]
        for table, rows in ((CaregiverSkill.__table__, skills),
                            (CaregiverDistrict.__table__, districts),
                            (CaregiverHospital.__table__, links),
                            (CaregiverPrice.__table__, prices),
                            (Qualification.__table__, documents),
                            (WeeklyWindow.__table__, weekly)):
            core_insert(table, rows)
        db.session.commit()
        db.session.remove()
        timings["caregivers"] = time.monotonic() - mark
        say(f"{args.caregivers} caregivers with {len(skills)} skills, {len(prices)} prices, "
            f"{len(documents)} documents, {len(weekly)} weekly windows in "
            f"{timings['caregivers']:.1f} s")

    mark = time.monotonic()
    timings["day_windows_rows"] = write_day_windows(app, cursor)
    timings["day_windows"] = time.monotonic() - mark
    say(f"{timings['day_windows_rows']} day windows in {timings['day_windows']:.1f} s")

    mark = time.monotonic()
    families = generate_families(app, args, now)
    timings["families"] = time.monotonic() - mark
    say(f"{len(families)} families with a patient each in {timings['families']:.1f} s")

    mark = time.monotonic()
    timings["orders_rows"] = write_orders(app, args, cursor, people, families, rng, now)
    timings["orders"] = time.monotonic() - mark
    say(f"{timings['orders_rows']} care orders and their busy blocks in "
        f"{timings['orders']:.1f} s")
    timings["total"] = time.monotonic() - started
    return timings


def generate_families(app, args, now):
    """--families users with one patient each, through SQLAlchemy Core (the column types
    encrypt and the blind indexes are the app's). Returns [(user id, patient id, name)]."""
    from sqlalchemy import select

    from app.common.crypto import cipher
    from app.common.identity import resident_id_check_char
    from app.extensions import db
    from app.patients.models import Patient
    from app.users.models import User

    rng = random.Random(20261125)
    with app.app_context():
        core_insert(User.__table__, [
            {"openid": f"{FAMILY_OPENID}{i}", "status": "active", "token_version": 1,
             "real_name_status": "verified", "created_at": now, "updated_at": now}
            for i in range(args.families)])
        user_ids = db.session.execute(select(User.id, User.openid).where(
            User.openid.like(f"{FAMILY_OPENID}%"))).all()
        patients = []
        for user_id, openid in user_ids:
            number = int(openid[len(FAMILY_OPENID):])
            name = PATIENT_NAMES[number % len(PATIENT_NAMES)]
            birth = date(1930 + number % 60, number % 12 + 1, number % 28 + 1)
            first17 = f"110101{birth:%Y%m%d}{number % 1000:03d}"
            id_number = first17 + resident_id_check_char(first17)
            phone = f"139{number:08d}"
            patients.append({
                "user_id": user_id, "alive": True, "name_encrypted": name,
                "id_type": "resident_id", "id_number_encrypted": id_number,
                "id_number_index": cipher().blind_index(id_number, "id:resident_id"),
                "gender": "male" if int(first17[-1]) % 2 else "female", "birthday": birth,
                "phone_encrypted": phone, "phone_index": cipher().blind_index(phone, "phone"),
                "is_insured": rng.random() < 0.6, "created_at": now, "updated_at": now})
        core_insert(Patient.__table__, patients)
        db.session.commit()
        names = dict(db.session.execute(select(User.id, User.openid).where(
            User.openid.like(f"{FAMILY_OPENID}%"))).all())
        families = [(user_id, patient_id,
                     PATIENT_NAMES[int(names[user_id][len(FAMILY_OPENID):]) % len(PATIENT_NAMES)])
                    for patient_id, user_id in db.session.execute(select(
                        Patient.id, Patient.user_id).where(Patient.user_id.in_(list(names))))]
        db.session.remove()
    return sorted(families)


ORDER_COLUMNS = (
    "id", "order_no", "user_id", "patient_id", "patient_name_encrypted", "caregiver_id",
    "dispatch_mode", "care_type", "start_at", "end_at", "city_code", "hospital_id", "department",
    "bed_encrypted", "latitude", "longitude", "skills", "needs_encrypted", "units",
    "unit_price_fen", "base_fen", "night_fen", "urgent_fen", "discount_fen", "total_fen",
    "refunded_fen", "status", "dispatch_count", "acceptance_deadline", "paid_at", "accepted_at",
    "started_at", "ended_at", "completed_at", "completed_by", "created_at", "updated_at")
BLOCK_COLUMNS = ("caregiver_id", "start_at", "end_at", "ref_type", "ref_id", "created_at",
                 "updated_at")


def write_orders(app, args, cursor, people, families, rng, now):
    """~--busy-blocks / --caregivers care orders per caregiver (the windows `order_windows`
    draws), each with the busy block the app keeps for it: exactly its window. Past windows are
    completed, one under way is in service, future ones accepted (most), awaiting the
    caregiver's answer or unpaid; the money is the app's own quote (pricing.quote) at the
    caregiver's price as of when the order was placed. Encrypted columns reuse a few
    ciphertexts made once with the app's cipher (encrypting a million values would take
    longer than the rest). Written with pymysql executemany in batches of caregivers, foreign
    key and unique checks off for the session (the ids are fresh and consistent by
    construction)."""
    from app.care_orders import pricing
    from app.common.crypto import cipher

    with app.app_context():
        policy = pricing.care_policy()
        accept = timedelta(minutes=int(policy["accept_minutes"]))
        encrypt = cipher().encrypt
        names = {name: encrypt(name) for name in PATIENT_NAMES}
        beds = [encrypt(f"{ward} 病区 {bed} 床") for ward in (3, 6, 9) for bed in (2, 12, 27)]
        needs = [encrypt(text) for text in ORDER_NEEDS]
    quotes = {}

    def priced(care_type, start, end, created, price):
        # the quote depends on the window's length, the urgency and the price only (bench
        # caregivers take no night surcharge), so one call serves every such order
        key = (care_type, end - start, start - created < timedelta(
            hours=policy["urgent_hours"]), price)
        if key not in quotes:
            quotes[key] = pricing.quote(
                care_type=care_type, start=start.replace(tzinfo=timezone.utc),
                end=end.replace(tzinfo=timezone.utc),
                now=created.replace(tzinfo=timezone.utc), unit_price_fen=price,
                night_surcharge_fen=0, policy=policy)
        return quotes[key]

    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM care_orders")
    next_id = cursor.fetchone()[0] + 1
    cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
    per = max(args.busy_blocks // args.caregivers, 1)
    base = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=60)
    span = 120 * 24 * 60  # minutes
    written = 0
    for offset in range(0, len(people), ORDER_BATCH_CAREGIVERS):
        orders, blocks = [], []
        for p in people[offset:offset + ORDER_BATCH_CAREGIVERS]:
            windows = order_windows(rng, per, base, span)[:args.busy_blocks - written]
            written += len(windows)
            types = [t for t in ("full_day", "day_shift", "night_shift", "hourly", "escort")
                     if t in p["_prices"]]
            # a long window is booked by the day or shift when the caregiver prices one
            long_types = [t for t in types if t in ("full_day", "day_shift", "night_shift")]
            for start, end in windows:
                order_id, next_id = next_id, next_id + 1
                care_type = rng.choice(
                    long_types if end - start > timedelta(hours=12) and long_types else
                    [t for t in types if t != "escort" or end - start <= timedelta(hours=12)])
                hospital = rng.choice(p["_hospitals"])
                user_id, patient_id, name = rng.choice(families)
                paid = accepted = started = ended = completed = deadline = None
                if start > now:
                    status = rng.choices(FUTURE_STATUSES, FUTURE_WEIGHTS)[0]
                    if status == "accepted":
                        created = min(start - timedelta(hours=rng.randint(24, 168)),
                                      now - timedelta(minutes=rng.randint(10, 600)))
                    else:
                        created = now - timedelta(minutes=rng.randint(2, 25))
                else:
                    status = "completed" if end <= now else "in_service"
                    created = start - timedelta(hours=rng.randint(24, 168))
                if status != "pending_payment":
                    paid = created + timedelta(minutes=rng.randint(1, 5))
                    if status == "awaiting_acceptance":
                        deadline = min(paid + accept, start)
                    else:
                        accepted = paid + timedelta(minutes=rng.randint(3, 30))
                if status in ("in_service", "completed"):
                    started = start - timedelta(minutes=rng.randint(0, 15))
                if status == "completed":
                    ended = end
                    completed = min(end + timedelta(hours=rng.randint(1, 24)), now)
                quote = priced(care_type, start, end, created, p["_prices"][care_type])
                orders.append((
                    order_id, f"{ORDER_PREFIX}{order_id:09d}", user_id, patient_id, names[name],
                    p["_id"], "chosen", care_type, start, end, p["city_code"], hospital.id,
                    rng.choice(DEPARTMENTS), rng.choice(beds), hospital.latitude,
                    hospital.longitude, json.dumps(p["_skills"][:1]), rng.choice(needs),
                    quote.units, quote.unit_price_fen, quote.base_fen, quote.night_fen,
                    quote.urgent_fen, quote.discount_fen, quote.total_fen, 0, status,
                    0 if paid is None else 1, deadline, paid, accepted, started, ended,
                    completed, "family" if completed else None, created,
                    max(t for t in (created, paid, accepted, started, ended, completed) if t)))
                blocks.append((p["_id"], start, end, "care_order", order_id, created, created))
        fast_insert(cursor, "care_orders", ORDER_COLUMNS, orders)
        fast_insert(cursor, "availability_busy_blocks", BLOCK_COLUMNS, blocks)
        if written >= args.busy_blocks:
            break
    cursor.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
    # the profiles' order counts follow the orders (ratings stay drawn: no reviews here)
    cursor.execute("UPDATE caregivers c JOIN (SELECT caregiver_id, COUNT(*) AS n FROM care_orders "
                   "WHERE status = 'completed' GROUP BY caregiver_id) done "
                   "ON done.caregiver_id = c.id SET c.completed_orders = done.n, "
                   "c.rating_count = LEAST(c.rating_count, done.n)")
    return written


def order_windows(rng, count, base, span):
    """`count` windows inside [base, base + span minutes): lengths 2–72 h (mostly short),
    random gaps between them, so no two overlap; on the half-hour grid."""
    lengths = []
    for _ in range(count):
        draw = rng.random()
        hours = (rng.randint(2, 12) if draw < 0.7 else rng.randint(12, 24) if draw < 0.92
                 else rng.randint(24, 72))
        lengths.append(hours * 60)
    while sum(lengths) > span * 0.8:  # never in practice; keeps room for gaps
        longest = lengths.index(max(lengths))
        lengths[longest] = max(120, lengths[longest] // 2)
    free = span - sum(lengths)
    weights = [rng.random() for _ in range(count + 1)]
    scale = free / sum(weights)
    windows, cursor = [], 0
    for length, weight in zip(lengths, weights):
        cursor += int(weight * scale) // 30 * 30
        start = base + timedelta(minutes=cursor)
        cursor += length
        windows.append((start, base + timedelta(minutes=cursor)))
    return windows


def write_day_windows(app, cursor):
    """The horizon's DayWindow rows, computed by the app's own merge (as rebuild_day_windows
    does for a caregiver without exceptions), written in bulk."""
    from sqlalchemy import select

    from app.availability.models import WeeklyWindow
    from app.availability.services import horizon_days, merge_intervals
    from app.common.time import local_today
    from app.extensions import db

    with app.app_context():
        weekly = {}
        for cid, weekday, start, end in db.session.execute(select(
                WeeklyWindow.caregiver_id, WeeklyWindow.weekday, WeeklyWindow.start_minute,
                WeeklyWindow.end_minute)):
            weekly.setdefault(cid, {}).setdefault(weekday, []).append((start, end))
        today = local_today()
        days = [today + timedelta(days=n) for n in range(horizon_days())]
        db.session.remove()
    cursor.execute("DELETE FROM availability_day_windows")
    rows = []
    for cid in sorted(weekly):
        merged = {weekday: merge_intervals(spans) for weekday, spans in weekly[cid].items()}
        for day in days:
            rows += [(cid, day, s, e) for s, e in merged.get(day.weekday(), ())]
    fast_insert(cursor, "availability_day_windows",
                ("caregiver_id", "day", "start_minute", "end_minute"), rows)
    return len(rows)


def existing_data(cursor, database, args):
    """What a previous run left: None when it does not match (regenerate), else whether the
    day windows still cover today's horizon. A database of the bench before its busy blocks
    came from care orders (blocks without an order) does not match."""
    cursor.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
                   "AND table_name IN ('availability_busy_blocks', 'care_orders')", (database,))
    if cursor.fetchone()[0] != 2:
        return None
    cursor.execute(f"USE `{database}`")
    cursor.execute("SELECT COUNT(*) FROM caregivers")
    caregivers = cursor.fetchone()[0]
    cursor.execute("SELECT COUNT(*) FROM availability_busy_blocks")
    blocks = cursor.fetchone()[0]
    cursor.execute("SELECT COUNT(*) FROM care_orders WHERE order_no LIKE %s",
                   (f"{ORDER_PREFIX}%",))
    orders = cursor.fetchone()[0]
    cursor.execute("SELECT COUNT(*) FROM users WHERE openid LIKE %s", (f"{FAMILY_OPENID}%",))
    families = cursor.fetchone()[0]
    if (caregivers, blocks, orders, families) != (args.caregivers, args.busy_blocks,
                                                  args.busy_blocks, args.families):
        return None
    # every block is its order's window
    cursor.execute("SELECT COUNT(*) FROM availability_busy_blocks b JOIN care_orders o "
                   "ON b.ref_type = 'care_order' AND o.id = b.ref_id "
                   "AND o.caregiver_id = b.caregiver_id AND o.start_at = b.start_at "
                   "AND o.end_at = b.end_at")
    if cursor.fetchone()[0] != blocks:
        return None
    cursor.execute("SELECT MIN(day), MAX(day) FROM availability_day_windows")
    return cursor.fetchone()


# --------------------------------------------------------------------------------- the load

def valid_page(status, payload):
    if status != 200:
        return False
    try:
        page = json.loads(payload)
    except ValueError:
        return False
    return (isinstance(page, dict) and isinstance(page.get("items"), list)
            and isinstance(page.get("total"), int) and isinstance(page.get("page"), int)
            and isinstance(page.get("page_size"), int)
            and len(page["items"]) <= page["page_size"]
            and all(isinstance(item, dict) and isinstance(item.get("id"), int)
                    for item in page["items"]))


def _load_worker(port, items, threads, seconds, out):
    """One load process: `threads` keep-alive clients for `seconds`, each through its share
    of `items` ((request id, path, expect page)), stopping early when it runs out. Answers are
    checked after the clock stops (parsing every page would take the clients' CPU from the
    server on this shared machine)."""
    results, bad = [], []
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(offset):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for request_id, path, page in items[offset::threads]:
            if time.perf_counter() >= deadline:
                break
            started = time.perf_counter()
            source = None
            try:
                conn.request("GET", path, headers={"X-Request-ID": request_id})
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                source = response.getheader("X-Search-Source")
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                status, payload = 0, repr(exc).encode()
            elapsed = (time.perf_counter() - started) * 1000
            mine.append((request_id, status, elapsed, source, path, page, payload))
        with lock:
            results.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    took = time.perf_counter() - started
    checked = []
    for request_id, status, elapsed, source, path, page, payload in results:
        ok = valid_page(status, payload) if page else status == 200
        checked.append((request_id, status, elapsed, ok, source))
        if not ok and len(bad) < 3:
            bad.append((status, path, payload[:300].decode(errors="replace")))
    out.put((checked, bad, took))


def load(port, items, clients, seconds, processes=4):
    queue = multiprocessing.Queue()
    per_process = max(clients // processes, 1)
    procs = [multiprocessing.Process(target=_load_worker, args=(
        port, items[i::processes], per_process, seconds, queue)) for i in range(processes)]
    for proc in procs:
        proc.start()
    results, bad, elapsed = [], [], []
    for _ in procs:
        part, wrong, took = queue.get()
        results.extend(part)
        bad.extend(wrong)
        elapsed.append(took)
    for proc in procs:
        proc.join()
    return {"results": results, "bad": bad, "elapsed": max(elapsed)}


def wait_for_index(port, queries, clients, limit_seconds=300.0):
    """Send new worst-case searches until every one of 400 in a row was answered by the
    in-process index (each worker loads its own at boot; SQL answers until then). Returns the
    seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < limit_seconds:
        run = load(port, [(f"ready-{i}", path, True) for i, path in
                          enumerate(queries.cold("worst", 400))], clients, 30.0)
        if all(source == "index" for *_, source in run["results"]):
            return time.monotonic() - started
        time.sleep(1.0)
    raise SystemExit(f"the search index did not serve within {limit_seconds:.0f} s")


class BusyWriter(threading.Thread):
    """Places `per_second` real care orders through the app (`place_order`, as the booking
    endpoint does: the caregiver's row locked, the order and its busy block in one commit),
    each by a generated family for a listed caregiver, 全天 or 钟点, in a window of the next
    14 days on the half-hour grid inside the caregiver's weekly hours. Each commit records the
    caregiver in the change log and the workers patch their index. A refusal (the caregiver
    is busy then, does not work nights, …) counts as an attempt and another caregiver and
    window are tried. `finish` removes what it placed, so the data can be reused."""

    TRIES_PER_ORDER = 20

    def __init__(self, app, per_second: float):
        super().__init__(daemon=True)
        self.app, self.interval = app, 1.0 / per_second
        self.stop = threading.Event()
        self.written = self.attempts = 0
        self.reasons = collections.Counter()
        self.placed = []

    def _world(self):
        """Listed caregivers who price 全天 or 钟点 (id → their types, hospitals, weekly
        hours), and the families (user id, patient id)."""
        from sqlalchemy import select

        from app.availability.models import WeeklyWindow
        from app.caregivers.models import Caregiver, CaregiverHospital, CaregiverPrice
        from app.extensions import db
        from app.patients.models import Patient
        from app.users.models import User

        listed = dict(db.session.execute(select(Caregiver.id, Caregiver.night_service).join(
            User, User.id == Caregiver.user_id).where(Caregiver.status == "approved",
                                                      User.status == "active")).all())
        caregivers = {}
        for cid, care_type in db.session.execute(select(
                CaregiverPrice.caregiver_id, CaregiverPrice.care_type).where(
                CaregiverPrice.care_type.in_(("full_day", "hourly")))):
            if cid in listed:
                caregivers.setdefault(cid, {"types": [], "hospitals": [], "weekly": {},
                                            "nights": listed[cid]})["types"].append(care_type)
        for cid, hospital_id in db.session.execute(select(CaregiverHospital.caregiver_id,
                                                          CaregiverHospital.hospital_id)):
            if cid in caregivers:
                caregivers[cid]["hospitals"].append(hospital_id)
        for cid, weekday, low, high in db.session.execute(select(
                WeeklyWindow.caregiver_id, WeeklyWindow.weekday, WeeklyWindow.start_minute,
                WeeklyWindow.end_minute)):
            if cid in caregivers:
                caregivers[cid]["weekly"].setdefault(weekday, []).append((low, high))
        families = db.session.execute(select(Patient.user_id, Patient.id).join(
            User, User.id == Patient.user_id).where(User.openid.like(f"{FAMILY_OPENID}%"))
        ).all()
        db.session.remove()
        return ({cid: c for cid, c in caregivers.items() if c["hospitals"]},
                [tuple(row) for row in families])

    def _body(self, rng, ids, caregivers, families, midnight):
        """One booking as the mini-program sends it, for a caregiver's working time as their
        profile shows it: 全天 (a day from 08:00, when they work round the clock) or 钟点
        (2–8 h inside one of a working day's windows, by day unless they take nights), at one
        of their hospitals. Whether they are free is for place_order to say."""
        cid = rng.choice(ids)
        caregiver = caregivers[cid]
        weekly = caregiver["weekly"]
        days = [midnight + timedelta(days=n) for n in range(1, 15)]
        whole = [d for d in days if d.weekday() in weekly and d + timedelta(days=1) in days
                 and (0, 1440) in weekly[d.weekday()]
                 and (0, 1440) in weekly.get((d.weekday() + 1) % 7, ())]
        care_type = rng.choice(caregiver["types"])
        if care_type == "full_day" and whole:
            start = rng.choice(whole) + timedelta(hours=8)
            end = start + timedelta(hours=24)
        else:
            care_type = "hourly" if "hourly" in caregiver["types"] else care_type
            day = rng.choice([d for d in days if d.weekday() in weekly] or days)
            low, high = rng.choice(weekly.get(day.weekday()) or [(480, 1080)])
            if not caregiver["nights"]:
                low, high = max(low, 360), min(high, 1320)
                low, high = (low, high) if low < high else (480, 1080)
            length = min(rng.randint(2, 8) * 60, high - low)
            start = day + timedelta(minutes=low + 30 * rng.randint(0, (high - low - length) // 30))
            end = start + timedelta(minutes=length)
        user_id, patient_id = rng.choice(families)
        return user_id, {"caregiver_id": cid, "care_type": care_type, "start": start,
                         "end": end, "patient_id": patient_id,
                         "hospital_id": rng.choice(caregiver["hospitals"]),
                         "department": rng.choice(DEPARTMENTS), "bed": "6 病区 12 床",
                         "needs": rng.choice(ORDER_NEEDS)}

    def run(self):
        from app.care_orders.services import place_order
        from app.common.time import LOCAL_TZ
        from app.errors import AppError
        from app.extensions import db
        from app.users.models import User

        rng = random.Random(3)
        with self.app.app_context():
            caregivers, families = self._world()
            ids = sorted(caregivers)
            midnight = datetime.now(LOCAL_TZ).replace(hour=0, minute=0, second=0,
                                                      microsecond=0)
            while not self.stop.wait(self.interval):
                for _ in range(self.TRIES_PER_ORDER):
                    user_id, body = self._body(rng, ids, caregivers, families, midnight)
                    self.attempts += 1
                    try:
                        self.placed.append(place_order(db.session.get(User, user_id), **body))
                    except AppError as refused:  # busy, off duty, no nights …: another one
                        db.session.rollback()
                        self.reasons[refused.code] += 1
                        continue
                    finally:
                        db.session.remove()
                    self.written += 1
                    break

    def finish(self):
        from sqlalchemy import delete

        from app.availability.models import BusyBlock
        from app.care_orders.models import CareOrder, CareOrderEvent
        from app.extensions import db

        self.stop.set()
        self.join()
        with self.app.app_context():
            for offset in range(0, len(self.placed), 1000):
                ids = self.placed[offset:offset + 1000]
                db.session.execute(delete(BusyBlock).where(BusyBlock.ref_type == "care_order",
                                                           BusyBlock.ref_id.in_(ids)))
                db.session.execute(delete(CareOrderEvent).where(CareOrderEvent.order_id.in_(ids)))
                db.session.execute(delete(CareOrder).where(CareOrder.id.in_(ids)))
            db.session.commit()
            db.session.remove()


class Queries:
    """Query strings of the simulated users (see users: popular choices repeat) and of cold
    requests (each never sent before)."""

    def __init__(self, app, args):
        from sqlalchemy import select

        from app.caregivers.models import CARE_TYPES, DEFAULT_SKILLS
        from app.extensions import db
        from app.hospitals.models import Hospital
        from app.seed import DEMO_HOSPITALS

        with app.app_context():
            rows = db.session.execute(select(Hospital.city_code, Hospital.latitude,
                                             Hospital.longitude).where(
                Hospital.code.in_([h[0] for h in DEMO_HOSPITALS]))).all()
            db.session.remove()
        self.cities = sorted({r.city_code for r in rows})
        self.points = [(r.latitude, r.longitude) for r in rows]
        self.care_types = list(CARE_TYPES)
        self.skills = [code for code, _ in DEFAULT_SKILLS]
        self.rng = random.Random(7)
        self.cold_floor = 0
        self.cold_minute = 0

    def typical(self, page_size=None, floor=None):
        rng = self.rng
        query = {"city_code": rng.choice(self.cities), "care_type": rng.choice(self.care_types),
                 "sort": "rating", "page": rng.randint(1, 3)}
        if page_size:
            query["page_size"] = page_size
        if floor is not None:
            query["min_price_fen"] = floor  # below every price standard: filters nothing
        return f"{SEARCH}?{urlencode(query)}"

    def worst(self, minute=None):
        rng = self.rng
        from app.common.time import LOCAL_TZ

        today = datetime.now(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        start = today + timedelta(days=rng.randint(1, 14),
                                  minutes=minute if minute is not None
                                  else rng.randrange(0, 24 * 60, 30))
        end = start + timedelta(hours=rng.randint(4, 8))
        lat, lng = rng.choice(self.points)
        query = {"start": start.isoformat(), "end": end.isoformat(),
                 "skills": ",".join(rng.sample(self.skills, 2)), "skills_match": "all",
                 "sort": "distance", "lat": round(lat + rng.uniform(-0.05, 0.05), 5),
                 "lng": round(lng + rng.uniform(-0.05, 0.05), 5)}
        return f"{SEARCH}?{urlencode(query)}"

    def users(self, kind, count, round_number=0):
        """`count` simulated users of a kind, each with the search they make, drawn the way the
        mini-program asks (page size 20; popular choices more often), so different users often
        send the same query string, as real users do.

        typical: a city, a care type (全天 and 陪诊 most asked), page 1 (70 %), 2 or 3;
        worst: near one of the demo hospitals (its coordinates, as the hospital picker sends
        them), a day in the next 7 (nearer more often), a start at 08:00, 09:00, 14:00 or
        20:00, 4, 8 or 12 hours, one of 6 popular skill pairs (all): 20 × 7 × 4 × 3 × 6 =
        10,080 possible query strings."""
        rng = random.Random(f"users-{kind}-{count}-{round_number}")
        paths = []
        if kind == "typical":
            care_weights = {"full_day": 35, "escort": 25, "hourly": 15, "day_shift": 15,
                            "night_shift": 10}
            for _ in range(count):
                query = {"city_code": rng.choice(self.cities),
                         "care_type": rng.choices(list(care_weights),
                                                  list(care_weights.values()))[0],
                         "sort": "rating", "page": rng.choices((1, 2, 3), (70, 20, 10))[0]}
                paths.append(f"{SEARCH}?{urlencode(query)}")
            return paths
        from app.common.time import LOCAL_TZ

        today = datetime.now(LOCAL_TZ).replace(hour=0, minute=0, second=0, microsecond=0)
        pairs = [("elderly", "disability"), ("post_surgery", "rehabilitation"),
                 ("elderly", "dementia"), ("post_surgery", "oncology"),
                 ("escort", "elderly"), ("stroke", "rehabilitation")]
        for _ in range(count):
            start = today + timedelta(days=rng.choices(range(1, 8), (30, 20, 15, 12, 9, 8, 6))[0],
                                      hours=rng.choice((8, 9, 14, 20)))
            end = start + timedelta(hours=rng.choice((4, 8, 12)))
            lat, lng = rng.choice(self.points)
            query = {"start": start.isoformat(), "end": end.isoformat(),
                     "skills": ",".join(rng.choice(pairs)), "skills_match": "all",
                     "sort": "distance", "lat": lat, "lng": lng}
            paths.append(f"{SEARCH}?{urlencode(query)}")
        return paths

    def cold(self, kind, count):
        """Never sent before: a fresh price floor (typical) or a start minute + point (worst)."""
        paths = []
        for _ in range(count):
            if kind == "typical":
                self.cold_floor += 1
                paths.append(self.typical(floor=self.cold_floor % 2999 + 1,
                                          page_size=10 + self.cold_floor // 2999))
            else:
                self.cold_minute += 1
                paths.append(self.worst(minute=self.cold_minute % 1440))
        return paths


def access_durations(log_path):
    """request id → duration_ms from the app's JSON access log lines."""
    durations = {}
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if '"request_id"' not in line or '"duration_ms"' not in line:
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("message") == "request" and entry.get("request_id"):
                durations[entry["request_id"]] = entry.get("duration_ms")
    return durations



def summarize(runs, durations):
    results = [r for run in runs for r in run["results"]]
    elapsed = sum(run["elapsed"] for run in runs)
    # what /ping would have answered in the same time, at the rate of the same round's ping:
    # the machine's speed drifts between rounds, so each part is held against its own round
    ping_equivalent = sum(run["elapsed"] * run["round_ping_rps"] for run in runs)
    client = [e for _, status, e, _, _ in results if status] or [0.0]
    server = [durations[rid] for rid, status, *_ in results
              if status and durations.get(rid) is not None]
    statuses, sources = {}, {}
    for _, status, _, _, source in results:
        statuses[status] = statuses.get(status, 0) + 1
        if source:
            sources[source] = sources.get(source, 0) + 1
    return {"requests": len(results), "rps": len(results) / elapsed if elapsed else 0.0,
            "ratio": len(results) / ping_equivalent if ping_equivalent else 0.0,
            "p50": statistics.median(server) if server else float("nan"),
            "p95": percentile(server, 0.95) if server else float("nan"),
            "client_p50": statistics.median(client), "client_p95": percentile(client, 0.95),
            "server_samples": len(server), "statuses": statuses, "sources": sources,
            "wrong": sum(1 for *_, ok, _ in results if not ok),
            "bad": [b for run in runs for b in run["bad"]][:3]}


def run_load(args, env, app, instance):
    queries = Queries(app, args)
    # each round has its own --users users per kind (all send once, then again, then a third
    # time): every round measures users, not only the first one's
    users = {kind: [queries.users(kind, args.users, round_number=number)
                    for number in range(args.rounds)] for kind in ("typical", "worst")}
    port = free_port()
    log_path = Path(instance) / "gunicorn.log"
    server = start_server({**env, "PORT": str(port)}, port, args.workers, args.threads, log_path)
    per_round = args.seconds / args.rounds
    runs = {kind: [] for kind in ("ping", "typical", "worst", "cold-typical", "cold-worst",
                                  "writes-worst", "hot-typical", "hot-worst")}
    writes = {"written": 0, "seconds": 0.0, "attempts": 0, "refused": 0,
              "reasons": collections.Counter()}
    # popular pages: 100 query strings per kind asked again and again (what the cache is for)
    hot = {"typical": [f"{SEARCH}?{urlencode(q)}" for q in (
               {"city_code": city, "care_type": care_type, "sort": "rating", "page": page}
               for city in queries.cities for care_type in queries.care_types
               for page in (1, 2, 3))][:100],
           "worst": queries.users("worst", 100)}
    ping_counter = iter(range(10 ** 9))
    try:
        # warm every worker (pools, imports) on both kinds, queries outside the measured sets
        warm = [(f"warm-{i}", path, True) for i, path in enumerate(
            queries.cold("typical", 200) + queries.cold("worst", 200))]
        load(port, warm, args.clients, 3.0)
        ready = wait_for_index(port, queries, args.clients)
        say(f"every worker answers from its search index after {ready:.0f} s more")
        for number in range(args.rounds):
            pings = [(f"ping-{next(ping_counter):08d}", "/ping", False)
                     for _ in range(200000)]
            runs["ping"].append(load(port, pings, args.clients, per_round))
            for kind in ("typical", "worst"):
                sequence = [(f"{kind[0]}{number}-{repeat}-{index:06d}", path, True)
                            for repeat in range(3)
                            for index, path in enumerate(users[kind][number])]
                runs[kind].append(load(port, sequence, args.clients, per_round))
            for kind in ("typical", "worst"):
                cold = [(f"c{kind[0]}{number}-{i:06d}", path, True)
                        for i, path in enumerate(queries.cold(kind, 20000))]
                runs[f"cold-{kind}"].append(load(port, cold, args.clients, per_round / 2))
            # new worst-case searches while care orders are placed (the index is patched)
            writer = BusyWriter(app, args.writes_per_second)
            writer.start()
            mark = time.monotonic()
            cold = [(f"cw{number}-{i:06d}", path, True)
                    for i, path in enumerate(queries.cold("worst", 20000))]
            runs["writes-worst"].append(load(port, cold, args.clients, per_round / 2))
            writes["seconds"] += time.monotonic() - mark
            writer.finish()
            writes["written"] += writer.written
            writes["attempts"] += writer.attempts
            writes["refused"] += writer.attempts - writer.written
            writes["reasons"].update(writer.reasons)
            for kind in ("typical", "worst"):
                popular = [(f"h{kind[0]}{number}-{i:07d}", hot[kind][i % len(hot[kind])], True)
                           for i in range(200000)]
                runs[f"hot-{kind}"].append(load(port, popular, args.clients, per_round / 2))
            ping = runs["ping"][-1]
            ping_rps = len(ping["results"]) / ping["elapsed"]
            for parts in runs.values():
                if parts and "round_ping_rps" not in parts[-1]:
                    parts[-1]["round_ping_rps"] = ping_rps
            say(f"round {number + 1}: ping {ping_rps:.0f}/s; " + ", ".join(
                f"{kind} {len(parts[-1]['results']) / parts[-1]['elapsed']:.0f}/s "
                f"({len(parts[-1]['results']) / parts[-1]['elapsed'] / ping_rps:.2f}x)"
                for kind, parts in runs.items() if kind != "ping" and parts[-1]["results"]))
    finally:
        server.terminate()
        server.wait(timeout=30)
    durations = access_durations(log_path)
    return {kind: summarize(parts, durations) for kind, parts in runs.items()}, {
        "typical": args.users, "worst": args.users,
        "typical_distinct": len(set(users["typical"][0])),
        "worst_distinct": len(set(users["worst"][0])),
        "ready_seconds": ready, "writes": writes, "index_loads": index_loads(log_path)}


def index_loads(log_path):
    """The workers' "caregiver search index loaded" log lines (size, memory, time)."""
    lines = []
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if "caregiver search index loaded" in line:
                try:
                    lines.append(json.loads(line).get("message", line.strip()))
                except ValueError:
                    lines.append(line.strip())
    return lines


# ------------------------------------------------------------------------------- EXPLAIN

def explain(app):
    """Run one typical and one worst search in-process and EXPLAIN every SELECT it sends."""
    from sqlalchemy import event, text

    from app.extensions import db, redis_client

    queries = Queries(app, None)
    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            captured.append((statement, parameters))

    print("\nEXPLAIN (MariaDB) of the statements one search runs:")
    with app.app_context():
        redis_client.conn.flushdb()
        engine = db.engine
        client = app.test_client()
        for label, path in (("typical", queries.typical()), ("worst", queries.worst())):
            captured.clear()
            event.listen(engine, "before_cursor_execute", capture)
            started = time.perf_counter()
            response = client.get(path)
            took = (time.perf_counter() - started) * 1000
            event.remove(engine, "before_cursor_execute", capture)
            print(f"\n[{label}] GET {path} → {response.status_code} in {took:.1f} ms, "
                  f"{len(captured)} statements")
            with engine.connect() as connection:
                raw = connection.connection.cursor()
                for statement, parameters in captured:
                    literal = raw.mogrify(statement, parameters)
                    mark = time.perf_counter()
                    raw.execute(literal)
                    raw.fetchall()
                    ms = (time.perf_counter() - mark) * 1000
                    print(f"\n  -- {ms:.1f} ms: {' '.join(literal.split())[:1500]}")
                    raw.execute("EXPLAIN " + literal)
                    names = [d[0] for d in raw.description]
                    for row in raw.fetchall():
                        entry = dict(zip(names, row))
                        print("     " + " | ".join(f"{k}={entry[k]}" for k in (
                            "id", "select_type", "table", "type", "key", "key_len", "rows",
                            "Extra") if k in entry))
                connection.execute(text("SELECT 1"))
        db.session.remove()


# ------------------------------------------------------------------------------------ main

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="bench_caregivers")
    parser.add_argument("--regenerate", action="store_true",
                        help="drop and regenerate the data even if it matches")
    parser.add_argument("--caregivers", type=int, default=10000)
    parser.add_argument("--busy-blocks", type=int, default=1000000,
                        help="care orders generated, each holding its caregiver's time with one "
                             "busy block")
    parser.add_argument("--families", type=int, default=3000,
                        help="generated users (one patient each) who placed the care orders")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=24,
                        help="load time per kind over all rounds (cold and hot rounds take half)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--users", type=int, default=3000,
                        help="simulated users per search kind and round (each sends its search up to 3 times)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--writes-per-second", type=float, default=5.0,
                        help="care orders placed per second (through the app's place_order) "
                             "during the writes-worst rounds")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--generate-only", action="store_true")
    args = parser.parse_args()
    database = args.database
    if not database.replace("_", "").isalnum() or database.lower().startswith("test"):
        parser.error("--database must be a plain name, and never a test database")

    instance = tempfile.mkdtemp(prefix="bench-caregivers-")
    connection = pymysql.connect(host="127.0.0.1", user="root", autocommit=True,
                                 charset="utf8mb4")
    cursor = connection.cursor()
    reuse = None if args.regenerate else existing_data(cursor, database, args)
    if reuse is None:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    cursor.execute(f"USE `{database}`")
    env = {**os.environ, "APP_ENV": "development", "INSTANCE_PATH": instance,
           "DATABASE_URL": f"mysql+pymysql://root@127.0.0.1/{database}?charset=utf8mb4",
           "REDIS_URL": f"redis://127.0.0.1:6379/{args.redis_db}"}
    os.environ.update(env)
    from flask_migrate import upgrade

    from app import create_app
    from app.availability.services import horizon_days
    from app.common.time import local_today
    from app.extensions import redis_client

    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    with app.app_context():
        upgrade()
        horizon = horizon_days()
    if reuse is None:
        say(f"generating {args.caregivers} caregivers and {args.busy_blocks} care orders with "
            f"their busy blocks in `{database}`")
        timings = generate(app, args, cursor)
        generated = (f"generated in {timings['total']:.1f} s (caregivers and the rest "
                     f"{timings['caregivers']:.1f} s, {timings['day_windows_rows']} day windows "
                     f"{timings['day_windows']:.1f} s, {args.families} families "
                     f"{timings['families']:.1f} s, {timings['orders_rows']} care orders and "
                     f"as many busy blocks {timings['orders']:.1f} s)")
    else:
        first, last = reuse
        today = local_today()
        if first != today or last != today + timedelta(days=horizon - 1):
            mark = time.monotonic()
            rows = write_day_windows(app, cursor)
            generated = (f"reused `{database}`; day windows rewritten for today's horizon "
                         f"({rows} rows, {time.monotonic() - mark:.1f} s)")
        else:
            generated = f"reused `{database}` (--regenerate to rebuild it)"
    cursor.execute("ANALYZE TABLE caregivers, caregiver_skills, caregiver_prices, "
                   "availability_day_windows, availability_busy_blocks, care_orders")
    cursor.fetchall()
    say(generated)
    if args.generate_only:
        print(generated)
        return
    with app.app_context():
        redis_client.conn.flushdb()  # no cached page from an earlier run or data version
    cursor.execute("SELECT COUNT(*) FROM caregivers c JOIN users u ON u.id = c.user_id "
                   "WHERE c.status = 'approved' AND u.status = 'active'")
    listed = cursor.fetchone()[0]

    started = time.monotonic()
    results, users = run_load(args, env, app, instance)
    print(f"Caregiver search: {args.caregivers} caregivers ({listed} listed), "
          f"{args.busy_blocks} busy blocks of as many care orders, gunicorn "
          f"{args.workers}x{args.threads} gthread on "
          f"MariaDB + Redis, {os.cpu_count()} cores (load generator on the same machine), "
          f"{args.clients} clients; {time.monotonic() - started:.0f} s of load")
    print(f"data: {generated}")
    print(f"users: {users['typical']} typical and {users['worst']} worst-case users per round "
          f"(distinct query strings among the first round's: {users['typical_distinct']} and "
          f"{users['worst_distinct']}), each sending its search up to 3 times; cold rounds: "
          "every query string new")
    print(f"index: every worker answered from it {users['ready_seconds']:.0f} s after the "
          f"warm-up; loads: " + "; ".join(users["index_loads"][:args.workers]))
    writes = users["writes"]
    print(f"writes-worst: {writes['written']} care orders placed (each with its busy block) in "
          f"{writes['seconds']:.0f} s ({writes['written'] / max(writes['seconds'], 1e-9):.1f}/s) "
          f"while searching; {writes['refused']} of {writes['attempts']} attempts refused "
          f"({', '.join(f'{code} {n}' for code, n in writes['reasons'].most_common()) or 'none'})")
    print(f"\n{'load':<14}{'requests':>9}{'req/s':>9}{'÷ping':>7}{'srv p50':>9}{'srv p95':>9}"
          f"{'cli p50':>9}{'cli p95':>9}  answers")
    for kind, result in results.items():
        print(f"{kind:<14}{result['requests']:>9}{result['rps']:>9.0f}{result['ratio']:>7.2f}"
              f"{result['p50']:>9.1f}{result['p95']:>9.1f}{result['client_p50']:>9.1f}"
              f"{result['client_p95']:>9.1f}  {result['statuses']} {result['sources']}"
              + (f", {result['requests'] - result['server_samples']} without a log line"
                 if result['server_samples'] != result['requests'] else ""))
        for status, path, payload in result["bad"]:
            print(f"    e.g. {status} {path}: {payload}")
    print("(÷ping = requests / what /ping answered per second in the same round x the time "
          "taken, summed over rounds; latencies in ms; srv = the app's own duration from its "
          "access log, "
          "cli = what the client waited; hot-* = 100 popular query strings per kind asked "
          "over and over, and writes-worst = cold worst-case searches during writes, for "
          "reference: not targets)")
    targets = {}
    for kind in ("typical", "worst"):
        targets[f"{kind}: p95 <= 50 ms (server-side)"] = results[kind]["p95"] <= 50
        targets[f"{kind}: >= 0.5x /ping req/s"] = results[kind]["ratio"] >= 0.5
        cold = f"cold-{kind}"
        targets[f"{cold}: p95 <= 50 ms (server-side)"] = results[cold]["p95"] <= 50
        targets[f"{cold}: >= 0.5x /ping req/s"] = results[cold]["ratio"] >= 0.5
    targets["every answer 200 with a valid page"] = all(
        r["wrong"] == 0 and r["requests"] > 0 for r in results.values())
    print()
    for name, ok in targets.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    latency_failed = any(not ok for name, ok in targets.items() if "p95" in name)
    if args.explain or latency_failed:
        explain(app)
    sys.exit(0 if all(targets.values()) else 1)


if __name__ == "__main__":
    main()
