"""Small helpers the benchmarks share."""
import http.client
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def start_server(env, port, workers, threads, log_path):
    """This app under gunicorn (gthread, as in production) on 127.0.0.1:port, once /ping
    answers; its output appended to log_path."""
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-k", "gthread", "--threads",
         str(threads), "--backlog", "2048", "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=open(log_path, "a"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
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


def ensure_database(url):
    """CREATE DATABASE for a MySQL/MariaDB `url` (utf8mb4) when it is not there; SQLite files
    need nothing."""
    if not url.startswith("mysql"):
        return
    import pymysql

    name = url.rsplit("/", 1)[1].split("?")[0]
    connection = pymysql.connect(host="127.0.0.1", user="root")
    connection.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{name}` "
                                "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    connection.close()


def fresh_database(url):
    """Drop every table of `url` (only an empty or bench_* database); the caller migrates."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    with engine.begin() as connection:
        names = inspect(connection).get_table_names()
        database = engine.url.database or ""
        if names and not Path(database).name.startswith("bench"):
            raise SystemExit(f"{database} has tables and is not named bench_*: refusing to "
                             "drop them")
        if connection.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for name in names:
                connection.execute(text(f"DROP TABLE `{name}`"))
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        else:
            for name in names:
                connection.execute(text(f'DROP TABLE "{name}"'))
    engine.dispose()
