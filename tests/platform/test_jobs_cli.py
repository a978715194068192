"""`flask jobs status` and `flask jobs retry-failed`, through Flask's CLI runner against the real
Redis: a queued, a scheduled, a running and a failed job are all reported; the failed one is
requeued and then runs."""
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from app.extensions import db, jobs, redis_client
from tests.platform import jobs_for_tests as test_jobs


def enqueue(app, target, *args, **options):
    """Through the app's one way in: enqueue_after_commit, then a commit."""
    with app.app_context():
        jobs.enqueue_after_commit(db.session, target, *args, **options)
        db.session.commit()
        db.session.remove()


def burst(app, scheduler=False):
    """Every job on our queues, in this process, as `flask worker --burst` would."""
    with app.app_context():
        SimpleWorker(app.config["RQ_QUEUES"], connection=redis_client.conn,
                     serializer=JSONSerializer).work(burst=True, with_scheduler=scheduler)
        db.session.remove()


def start_as_a_worker_would(app, job_id, expires_in=60):
    """Take the job off its queue and register its execution, as a worker does when it starts
    one; the entry lives `expires_in` seconds unless the worker's heartbeat renews it."""
    with app.app_context():
        conn = redis_client.conn
        job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
        jobs.queue(job.origin).remove(job)
        with conn.pipeline() as pipeline:
            execution = Execution.create(job, ttl=60, pipeline=pipeline, worker_name="w-test")
            job.prepare_for_execution("w-test", pipeline)
            pipeline.execute()
        conn.zadd(job.started_job_registry.key,
                  {execution.composite_key: conn.time()[0] + expires_in})
        return job


def only_job_id(app, queue="default"):
    with app.app_context():
        ids = jobs.queue(queue).job_ids
    assert len(ids) == 1, ids
    return ids[0]


def test_status_lists_each_kind_and_retry_failed_runs_the_failed_job_again(app):
    runner = app.test_cli_runner()
    # a job that fails twice: it is retried once (interval 0), then lands among the failed
    enqueue(app, test_jobs.flaky, "f", 2, retry_intervals=[0])
    failed_id = only_job_id(app)
    burst(app)
    with app.app_context():
        assert redis_client.conn.get("test:flaky:f") == b"2"
        assert FailedJobRegistry(queue=jobs.queue()).get_job_ids() == [failed_id]
    enqueue(app, test_jobs.remember, "running", "1")
    running = start_as_a_worker_would(app, only_job_id(app))
    enqueue(app, test_jobs.remember, "queued", "1")
    queued_id = only_job_id(app)
    enqueue(app, test_jobs.remember, "later", "1", queue="push", delay_seconds=3600)

    result = runner.invoke(args=["jobs", "status"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("default: 1 queued, 0 scheduled, 1 running, 1 failed"), lines
    assert any(line.split()[:3] == ["running", running.id,
                                    "tests.platform.jobs_for_tests.remember"]
               and "on w-test" in line for line in lines), lines
    failed_line, = [line for line in lines if line.split()[0] == "failed"]
    assert failed_id in failed_line and "tests.platform.jobs_for_tests.flaky" in failed_line
    assert failed_line.endswith("RuntimeError: flaky failure 2")
    push_line = next(line for line in lines if line.startswith("push:"))
    assert push_line.startswith("push: 0 queued, 1 scheduled, 0 running, 0 failed")
    assert any(line.startswith("  scheduled ") and "remember" in line for line in lines)
    assert lines[-1].startswith("cron heartbeat: never")

    with app.app_context():  # the same data, for the staff console
        report = jobs.queue_report()
    default = report["queues"][0]
    assert (default["name"], default["queued"], default["running"], default["failed"]) == (
        "default", 1, 1, 1)
    assert default["latest_failures"][0]["id"] == failed_id
    assert default["latest_failures"][0]["failed_at"].endswith("+08:00")  # business clock
    assert default["running_jobs"][0]["abandoned"] is False

    refused = runner.invoke(args=["jobs", "retry-failed", "--queue", "nope"])
    assert refused.exit_code == 2  # click names the valid queues
    retried = runner.invoke(args=["jobs", "retry-failed"])
    assert retried.exit_code == 0 and retried.output.strip() == "requeued 1 failed job"
    with app.app_context():
        assert jobs.queue().job_ids == [queued_id, failed_id]  # at the end of its queue
        job = Job.fetch(failed_id, connection=redis_client.conn, serializer=JSONSerializer)
        assert job.retries_left == 3  # a fresh policy: a dead worker would not fail it again
    burst(app)
    with app.app_context():
        assert redis_client.conn.get("test:flaky-done:f") == b"3"  # its third run succeeded
        assert redis_client.conn.get("test:remember:queued") == b"1"
    after = runner.invoke(args=["jobs", "status"]).output.splitlines()
    assert after[0].startswith("default: 0 queued, 0 scheduled, 1 running, 0 failed")
    assert runner.invoke(args=["jobs", "retry-failed", "--queue", "push"]).output.strip() == (
        "requeued 0 failed jobs")


def test_status_reports_the_cron_heartbeat(app):
    from app.tasks.maintenance import record_heartbeat

    with app.app_context():
        record_heartbeat()
    output = app.test_cli_runner().invoke(args=["jobs", "status"]).output
    assert output.splitlines()[-1] in ("cron heartbeat: 0 s ago", "cron heartbeat: 1 s ago")
