"""In-process profile of the cold-user sold-out booking, next to /ping.

Makes --users verified users (bulk, as bench/hot_slot.py does) and a schedule with no slots,
then through the Flask test client alternates rounds of GET /ping and of sold-out bookings,
each booking from a user not seen before (cold per-user caches), and prints the mean cost of
each and their ratio; with --profile, cProfile's top functions of the booking rounds.

    .venv/bin/python bench/sold_out_profile.py [--users 3000 --rounds 6 --profile]

Needs MariaDB at 127.0.0.1 (root; creates and drops `bench_profile`) and Redis at
127.0.0.1:6379 db 13 (flushed). Single-threaded: it measures CPU and round trips per request,
not concurrency.
"""
import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import pymysql

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.hot_slot import REDIS_URL, booking_items, bulk_people, make_schedule  # noqa: E402

DB_NAME = "bench_profile"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    connection = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    cursor = connection.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")
    cursor.execute(f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4")
    os.environ.update({"APP_ENV": "development", "INSTANCE_PATH": tempfile.mkdtemp(),
                       "DATABASE_URL": f"mysql+pymysql://root@127.0.0.1/{DB_NAME}",
                       "REDIS_URL": REDIS_URL})
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import redis_client

    app = create_app("development", {"LOG_LEVEL": "WARNING"})
    try:
        with app.app_context():
            redis_client.conn.flushdb()
            upgrade()
        schedule_id = make_schedule(app, 0, 3)
        items = booking_items(schedule_id, bulk_people(app, args.users, "profile"))
        client = app.test_client()
        for body, headers, _ in items[:20]:  # warm the code paths, not the users
            client.post("/api/v1/registrations", data=body, headers=headers)
        items = items[20:]
        per_round = len(items) // args.rounds
        profiler = cProfile.Profile() if args.profile else None
        ping_time = book_time = 0.0
        pings = books = 0
        for index in range(args.rounds):
            started = time.perf_counter()
            for _ in range(per_round):
                assert client.get("/ping").status_code == 200
            ping_time += time.perf_counter() - started
            pings += per_round
            chunk = items[index * per_round:(index + 1) * per_round]
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            for body, headers, _ in chunk:
                response = client.post("/api/v1/registrations", data=body, headers=headers)
                assert response.status_code == 409, response.get_data()
                assert response.get_json()["error"]["code"] == "slot_sold_out"
            book_time += time.perf_counter() - started
            if profiler:
                profiler.disable()
            books += len(chunk)
        ping_us, book_us = ping_time / pings * 1e6, book_time / books * 1e6
        print(f"/ping {ping_us:.0f} us, sold-out booking from a new user {book_us:.0f} us "
              f"(ratio ping/booking {ping_us / book_us:.2f}); {books} bookings, {pings} pings")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    finally:
        cursor.execute(f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
