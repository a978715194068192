"""RQ queues, the one way to declare a job, and the rule that jobs are enqueued only after
the transaction commits.

A job is a function in app/tasks/ marked with `@job`; callers enqueue the function itself
(`jobs.enqueue_after_commit(db.session, tasks.submit_refund, refund_id)`), never a dotted
string. RQ stores the function's import path, which is also what `rq cron` and the workers
resolve, so a declared job is at the same time the cron table's entry.

Every job is created with a retry policy (RQ_JOB_RETRY_INTERVALS): one that raised, or whose
worker died under it, runs again instead of landing among the failed (jobs are idempotent).
`queue_report()` and `retry_failed()` are what `flask jobs status / retry-failed` print.
"""
import importlib
import logging
import time
from datetime import datetime, timedelta, timezone

from flask import current_app, has_app_context
from rq import Queue, Retry, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from rq.serializers import JSONSerializer
from rq.utils import as_text, parse_composite_key
from sqlalchemy import event

from app.common.time import to_local
from app.errors import AppError, ValidationFailed

log = logging.getLogger("app.jobs")
_declared: dict[str, object] = {}


def job(function):
    """Declare `function` an RQ job. Jobs take ids (JSON-serialisable arguments only) and are
    idempotent: running one twice has the effect of running it once."""
    name = f"{function.__module__}.{function.__qualname__}"
    function.job_name = name
    _declared[name] = function
    return function


def job_name(target) -> str:
    """The import path RQ stores for a declared job. A string is accepted only when it names
    a declared job (old callers and RQ's own records), so a typo fails here, not in a worker."""
    name = getattr(target, "job_name", None)
    if name is None and isinstance(target, str):
        module, _, _attr = target.rpartition(".")
        if module and target not in _declared:
            importlib.import_module(module)
        name = target if target in _declared else None
    if name is None:
        raise TypeError(f"{target!r} is not a declared job (mark it with @job in app/tasks)")
    return name


def declared_jobs() -> list[str]:
    return sorted(_declared)


def periodic_jobs() -> list[dict]:
    """The cron table (app/tasks/cron.py) in its order: name, label, interval (seconds) or
    cron (UTC), run_now (whether staff may run it off its schedule), function."""
    from app.tasks.cron import PERIODIC_JOBS  # the table itself: the app imports it lazily

    return list(PERIODIC_JOBS.values())


class UnknownJob(ValidationFailed):
    code = "unknown_job"
    message = "没有这个定时任务"


class JobNotRunnableNow(AppError):
    status = 409
    code = "job_not_runnable_now"
    message = "该任务只能按计划运行"


def _open_transaction(session):
    """The plain Session behind db.session, inside a transaction, so that a rollback which
    follows is seen (and drops what was registered)."""
    if not hasattr(session, "in_transaction"):
        session = session()
    if not session.in_transaction():
        session.begin()
    return session


def _setting(name):
    if has_app_context():
        return current_app.config[name]
    from config import BaseConfig  # the `rq cron` process has no app

    return getattr(BaseConfig, name)


def retry_policy(intervals=None) -> Retry | None:
    """One retry per interval (seconds to wait before it); RQ_JOB_RETRY_INTERVALS by default."""
    intervals = list(_setting("RQ_JOB_RETRY_INTERVALS") if intervals is None else intervals)
    return Retry(max=len(intervals), interval=intervals) if intervals else None


class JobQueue(Queue):
    """A JSON queue whose jobs get the default retry policy unless the caller gives one
    (`rq cron` builds its queues from this class too, see app/tasks/cron.py)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("serializer", JSONSerializer)
        super().__init__(*args, **kwargs)

    def create_job(self, *args, retry=None, **kwargs):
        return super().create_job(*args, retry=retry or retry_policy(), **kwargs)


class JobQueues:
    def __init__(self, redis_client):
        self._redis_client = redis_client

    def queue(self, name="default") -> Queue:
        return JobQueue(name, connection=self._redis_client.conn,
                        is_async=current_app.config.get("RQ_ASYNC", True))

    def enqueue_after_commit(self, session, target, *args, queue="default",
                             delay_seconds=None, job_id=None, retry_intervals=None, **kwargs):
        """Enqueue the declared job `target(*args)` once `session` commits; nothing is sent on
        rollback. `delay_seconds` makes it a delayed job (the worker's scheduler runs it);
        `retry_intervals` (a non-empty list) replaces RQ_JOB_RETRY_INTERVALS for this job."""
        func_path = job_name(target)
        session = _open_transaction(session)
        pending = session.info.setdefault("pending_jobs", [])
        pending.append((func_path, args, kwargs, queue, delay_seconds, job_id, retry_intervals))

    def run_periodic_now(self, session, name: str) -> dict:
        """Enqueue the periodic job `name` (a name from the cron table, nothing else) once
        `session` commits, on the queue rq cron uses; it runs as if its time had come."""
        entry = next((entry for entry in periodic_jobs() if entry["name"] == name), None)
        if entry is None:
            raise UnknownJob(details={"name": ["不在定时任务表中"]})
        if not entry["run_now"]:
            raise JobNotRunnableNow()
        self.enqueue_after_commit(session, entry["function"])
        return entry

    def call_after_commit(self, session, function, *args):
        """Run a quick in-process side effect (a Redis counter, a cache purge) once `session`
        commits; dropped on rollback. Errors are logged, never raised into the request."""
        session = _open_transaction(session)
        session.info.setdefault("after_commit_calls", []).append((function, args))

    def flush(self, session):
        pending = session.info.pop("pending_jobs", [])
        for func_path, args, kwargs, queue_name, delay_seconds, job_id, intervals in pending:
            try:
                q = self.queue(queue_name)
                options = {"job_id": job_id} if job_id else {}
                if intervals is not None:
                    options["retry"] = retry_policy(intervals)
                if delay_seconds:
                    q.enqueue_in(timedelta(seconds=delay_seconds), func_path, args=args,
                                 kwargs=kwargs, **options)
                else:
                    q.enqueue(func_path, args=args, kwargs=kwargs, **options)
            except Exception:  # the commit stands; cron sweeps are the backstop for lost jobs
                log.exception("could not enqueue %s%r", func_path, args)

    # -- what `flask jobs status` and `flask jobs retry-failed` do ----------------------------

    def _counts(self, queue) -> dict:
        """A queue's counts: the one source of the console's jobs page (queue_report) and of
        the queue figures in /metrics (queue_counts), so both always tell the same numbers."""
        return {
            "queued": queue.count,
            "scheduled": ScheduledJobRegistry(queue=queue).get_job_count(cleanup=False),
            "running": StartedJobRegistry(queue=queue).get_job_count(cleanup=False),
            "failed": FailedJobRegistry(queue=queue).get_job_count(cleanup=False),
            "workers": Worker.count(queue=queue),
        }

    def queue_counts(self) -> dict:
        """{queue name: its counts (_counts)} for every configured queue; a few Redis reads."""
        return {name: self._counts(self.queue(name)) for name in current_app.config["RQ_QUEUES"]}

    def queue_report(self, limit=5) -> dict:
        """Per queue: counts of queued, scheduled (delayed or waiting for a retry), running and
        failed jobs; the running jobs, the next scheduled and the latest failures (at most
        `limit` each); and the age of the cron heartbeat. Read-only: a running entry whose
        worker died shows as abandoned until a worker's maintenance retries it."""
        conn = self._redis_client.conn
        now = time.time()
        queues = []
        for name in current_app.config["RQ_QUEUES"]:
            queue = self.queue(name)
            started = StartedJobRegistry(queue=queue)
            scheduled = ScheduledJobRegistry(queue=queue)
            failed = FailedJobRegistry(queue=queue)
            running = []
            for member, expires in conn.zrange(started.key, 0, limit - 1, withscores=True):
                job_id, _execution = parse_composite_key(as_text(member))
                job = self._job(job_id)
                running.append({**_describe(job_id, job), "worker": job and job.worker_name,
                                "started_at": _iso(job and job.started_at),
                                "abandoned": expires < now})
            upcoming = [{**_describe(as_text(job_id), self._job(as_text(job_id))),
                         "due_at": _iso(datetime.fromtimestamp(due, timezone.utc))}
                        for job_id, due in conn.zrange(scheduled.key, 0, limit - 1,
                                                       withscores=True)]
            failures = []
            # the score is the failure time + failure TTL: the highest are the latest
            for job_id in failed.get_job_ids(0, limit - 1, desc=True, cleanup=False):
                job = self._job(job_id)
                result = job.latest_result() if job else None
                error = (result.exc_string or "") if result else ""
                failures.append({**_describe(job_id, job),
                                 "failed_at": _iso(result.created_at if result else None),
                                 "error": (error.strip().splitlines() or [""])[-1][:300]})
            queues.append({
                "name": name, **self._counts(queue),
                "running_jobs": running, "next_scheduled": upcoming, "latest_failures": failures,
            })
        beat = conn.get("heartbeat:cron")
        return {"queues": queues,
                "cron_heartbeat_age_seconds": int(now - int(beat)) if beat else None}

    def retry_failed(self, queue=None) -> int:
        """Put every failed job of `queue` (every queue when None) back at the end of its queue,
        with a fresh retry policy. Returns how many were requeued."""
        names = [queue] if queue else current_app.config["RQ_QUEUES"]
        requeued = 0
        for name in names:
            registry = FailedJobRegistry(queue=self.queue(name))
            for job_id in registry.get_job_ids(cleanup=False):
                job = self._job(job_id)
                if job is None:  # its data expired: nothing left to run
                    registry.remove(job_id)
                    continue
                policy = retry_policy()
                if policy is not None:
                    job.retries_left, job.retry_intervals = policy.max, policy.intervals
                try:
                    registry.requeue(job)  # saves the job, then enqueues it
                except InvalidJobOperation:  # requeued meanwhile by someone else
                    continue
                requeued += 1
        return requeued

    def _job(self, job_id: str) -> Job | None:
        try:
            return Job.fetch(job_id, connection=self._redis_client.conn,
                             serializer=JSONSerializer)
        except NoSuchJobError:
            return None

    def install(self, db):
        jobs = self

        @event.listens_for(db.session, "after_commit")
        def _after_commit(session):
            for function, args in session.info.pop("after_commit_calls", []):
                try:
                    function(*args)
                except Exception:
                    log.exception("after-commit call %s failed", getattr(function, "__name__", function))
            if session.info.get("pending_jobs"):
                jobs.flush(session)

        # after_soft_rollback fires on every rollback() (and on close), even when no SQL ran
        @event.listens_for(db.session, "after_soft_rollback")
        def _after_rollback(session, previous_transaction):
            if previous_transaction.parent is None:
                session.info.pop("pending_jobs", None)
                session.info.pop("after_commit_calls", None)


def _describe(job_id: str, job: Job | None) -> dict:
    try:
        function = job.func_name if job else None
    except Exception:  # data this worker cannot read (another serializer): still list the job
        function = "(unreadable)"
    return {"id": job_id, "function": function}


def _iso(moment) -> str | None:
    return to_local(moment).isoformat(timespec="seconds") if moment else None
