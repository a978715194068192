"""A push whose worker is killed with -9 while WeChat has the request: the job is run again by
the next worker within 2 minutes, and the user gets the message once.

The simulator holds the first send (a slow answer it never processes, as a request WeChat
lost); the test kills the worker and its work-horse while the horse waits for that answer,
then starts a new worker, as the supervisor of `make run` does."""
import os
import signal
import time

from app.extensions import db
from tests.notifications.conftest import calls, fault, messages, openid_of, pushes, subscribe
from tests.notifications.test_delivery import _notify
from tests.platform.test_jobs_reliability import (gone, start_worker, stop, wait_until,
                                                  worker_env)


def _horse_pids(worker_pid):
    """The worker's work-horse: a child of the worker in a process group of its own."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open(f"/proc/{entry}/stat").read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == worker_pid and int(fields[2]) == int(entry):
            pids.append(int(entry))
    return pids


def test_a_push_whose_worker_was_killed_mid_send_arrives_once_within_two_minutes(
        client, app, alice, tmp_path):
    subscribe(client, app, alice, "TMPL_CARE_ORDER_STATUS")
    fault(app, delay_seconds=100)  # the first send is never answered in time, nor processed
    env = worker_env(app, tmp_path)
    env["WECHAT_API_BASE"] = app.config["WECHAT_API_BASE"]
    log_path = tmp_path / "workers.log"
    _notify(app, alice["id"])
    first = start_worker(env, log_path)
    second = None
    try:
        wait_until(lambda: calls(app, "subscribe_send") == 1, 60,
                   "the first worker did not send", log_path)
        horses = wait_until(lambda: _horse_pids(first.pid), 5, "no work-horse", log_path)
        killed_at = time.time()
        os.killpg(first.pid, signal.SIGKILL)
        for horse in horses:
            os.killpg(horse, signal.SIGKILL)
        first.wait(10)
        wait_until(lambda: all(gone(horse) for horse in horses), 10, "the horse lives", log_path)
        [push] = pushes(app)
        assert push["status"] == "sending" and messages(app) == []

        second = start_worker(env, log_path)
        wait_until(lambda: messages(app), 150, "the push was not sent again", log_path)
        seconds = time.time() - killed_at
        print(f"\npush whose worker was killed with -9 mid-send arrived {seconds:.1f} s "
              f"after the kill")
        assert seconds < 120
        time.sleep(1)  # anything sent twice would show now
        sent = messages(app, touser=openid_of(app, alice["id"]))
        assert len(sent) == 1 and calls(app, "subscribe_send") == 2
        [push] = pushes(app)
        assert push["status"] == "sent" and push["attempts"] == 2
        with app.app_context():
            db.session.remove()
    finally:
        stop(first)
        if second is not None:
            stop(second)
