"""Workers you can trust: every job carries a retry policy, so a job whose worker died under it
(kill -9) is run again by another worker instead of landing among the failed jobs; with
config.py's timings that happens within 2 minutes. The last test measures it with real
`flask worker` processes."""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from rq import Queue
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry
from rq.serializers import JSONSerializer

from app.extensions import db, jobs, redis_client
from tests.platform import jobs_for_tests as test_jobs
from tests.platform.test_jobs_cli import burst, enqueue, only_job_id, start_as_a_worker_would

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_RETRY = [10, 30, 60]


def fetch(job_id):
    return Job.fetch(job_id, connection=redis_client.conn, serializer=JSONSerializer)


def test_every_job_has_the_retry_policy(app):
    """After-commit jobs (now or delayed), a queue's own enqueue (sweeps re-enqueue that way)
    and what `rq cron` enqueues; a caller may give its own intervals."""
    from rq.cron import CronScheduler

    assert app.config["RQ_QUEUES"] == ["default", "push"]
    assert app.config["RQ_JOB_RETRY_INTERVALS"] == DEFAULT_RETRY
    enqueue(app, test_jobs.remember, "now", "1")
    enqueue(app, test_jobs.remember, "later", "1", queue="push", delay_seconds=600)
    enqueue(app, test_jobs.remember, "own", "1", queue="push", retry_intervals=[5])
    with app.app_context():
        direct = jobs.queue().enqueue(test_jobs.remember.job_name, args=("direct", "1"))
        scheduler = CronScheduler(connection=redis_client.conn)
        scheduler.load_config_from_file("app.tasks.cron")
        from_cron = scheduler.enqueue_jobs()
        assert from_cron
        queued = jobs.queue().get_jobs() + jobs.queue("push").get_jobs()
        delayed = [fetch(job_id) for job_id in ScheduledJobRegistry(
            queue=jobs.queue("push")).get_job_ids()]
        policies = {job.args[0] if job.args else job.func_name: (
            job.retries_left, tuple(job.retry_intervals)) for job in queued + delayed}
    assert policies.pop("own") == (1, (5,))
    assert {"now", "later", direct.args[0]} <= set(policies)
    assert {job.func_name for job in from_cron} <= set(policies)
    assert set(policies.values()) == {(3, tuple(DEFAULT_RETRY))}


def test_a_job_whose_worker_died_is_retried_not_failed(app):
    """The dead worker's started-registry entry runs out; the next worker's maintenance puts
    the job back (after the first retry interval), and it runs. The same without a retry
    policy (a plain rq enqueue) would be failed: that is what the policy prevents."""
    enqueue(app, test_jobs.remember, "abandoned", "done")
    job = start_as_a_worker_would(app, only_job_id(app), expires_in=-1)
    with app.app_context():
        plain = Queue("default", connection=redis_client.conn, serializer=JSONSerializer)
        no_policy = plain.enqueue(test_jobs.remember.job_name, args=("plain", "done"))
    start_as_a_worker_would(app, no_policy.id, expires_in=-1)
    status = app.test_cli_runner().invoke(args=["jobs", "status"]).output
    assert status.count("ABANDONED") == 2, status

    before = time.time()
    burst(app)  # a worker starting up runs its maintenance first
    with app.app_context():
        retried = fetch(job.id)
        assert retried.get_status() == "scheduled" and retried.retries_left == 2
        scheduled = ScheduledJobRegistry(queue=jobs.queue())
        due = scheduled.get_scheduled_time(retried).timestamp()
        assert before + 9 <= due <= time.time() + 11  # the first interval, 10 s
        failed = FailedJobRegistry(queue=jobs.queue())
        assert failed.get_job_ids() == [no_policy.id]
        assert redis_client.conn.get("test:remember:abandoned") is None
        # skip the 10 s wait: make it due now, as the clock would
        scheduled.schedule(retried, datetime.now(timezone.utc) - timedelta(seconds=1))
    burst(app, scheduler=True)
    with app.app_context():
        assert redis_client.conn.get("test:remember:abandoned") == b"done"
        assert fetch(job.id).get_status() == "finished"


# -- real processes ------------------------------------------------------------------------------

def worker_env(app, tmp_path):
    """`flask worker` on this test run's database and Redis (embedded or MariaDB + Redis)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "FLASK_APP", "APP_ENV")}
    env.update(FLASK_APP="wsgi.py", APP_ENV="testing", PYTHONUNBUFFERED="1",
               TEST_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               TEST_REDIS_URL=app.config["REDIS_URL"], INSTANCE_PATH=str(tmp_path / "instance"))
    return env


def start_worker(env, log_path):
    log = open(log_path, "ab")
    # its own process group, as scripts/run.py starts it; RQ's scheduler process joins it,
    # while a work-horse makes a group of its own
    process = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                               stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    log.close()
    return process


def gone(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def stop(process):
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    try:  # whatever is left in its group (the scheduler process)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_until(predicate, seconds, what, log_path):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {seconds} s; the workers said:\n"
                         f"{log_path.read_text(errors='replace')[-4000:]}")


def test_a_job_whose_worker_was_killed_runs_again_within_two_minutes(app, tmp_path):
    env, log_path = worker_env(app, tmp_path), tmp_path / "workers.log"
    conn = redis_client.conn
    enqueue(app, test_jobs.slow_first_run, "kill", 600)
    job_id = only_job_id(app)
    first = start_worker(env, log_path)
    second = None
    try:
        runs = wait_until(lambda: conn.lrange("test:runs:kill", 0, -1), 60,
                          "the first worker did not start the job", log_path)
        _started, horse_pid, horse_group = (int(float(part)) for part in runs[0].split())
        assert horse_group == horse_pid != first.pid  # the work-horse's own process group
        killed_at = time.time()
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its scheduler process
        os.killpg(horse_group, signal.SIGKILL)
        first.wait(10)
        wait_until(lambda: gone(horse_pid), 10, "the work-horse did not die", log_path)
        second = start_worker(env, log_path)  # as the supervisor restarts it

        done = wait_until(lambda: conn.get("test:done:kill"), 150,
                          "the job did not run again", log_path)
        rerun_at = float(conn.lrange("test:runs:kill", 1, 1)[0].split()[0])
        seconds = rerun_at - killed_at
        print(f"\njob whose worker was killed with -9 ran again {seconds:.1f} s after the kill")
        assert done == b"2" and conn.llen("test:runs:kill") == 2  # once killed, once whole
        assert seconds < 120
        with app.app_context():
            job = fetch(job_id)
            assert job.get_status() == "finished" and job.retries_left == 2  # one retry used
            assert FailedJobRegistry(queue=jobs.queue()).count == 0
            db.session.remove()
    finally:
        stop(first)
        if second is not None:
            stop(second)
