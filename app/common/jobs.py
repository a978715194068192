"""RQ queues, the one way to declare a job, and the rule that jobs are enqueued only after
the transaction commits.

A job is a function in app/tasks/ marked with `@job`; callers enqueue the function itself
(`jobs.enqueue_after_commit(db.session, tasks.submit_refund, refund_id)`), never a dotted
string. RQ stores the function's import path, which is also what `rq cron` and the workers
resolve, so a declared job is at the same time the cron table's entry.
"""
import importlib
import logging
from datetime import timedelta

from flask import current_app
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import event

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


def _open_transaction(session):
    """The plain Session behind db.session, inside a transaction, so that a rollback which
    follows is seen (and drops what was registered)."""
    if not hasattr(session, "in_transaction"):
        session = session()
    if not session.in_transaction():
        session.begin()
    return session


class JobQueues:
    def __init__(self, redis_client):
        self._redis_client = redis_client

    def queue(self, name="default") -> Queue:
        return Queue(name, connection=self._redis_client.conn, serializer=JSONSerializer,
                     is_async=current_app.config.get("RQ_ASYNC", True))

    def enqueue_after_commit(self, session, target, *args, queue="default",
                             delay_seconds=None, job_id=None, **kwargs):
        """Enqueue the declared job `target(*args)` once `session` commits; nothing is sent on
        rollback. `delay_seconds` makes it a delayed job (the worker's scheduler runs it)."""
        func_path = job_name(target)
        session = _open_transaction(session)
        pending = session.info.setdefault("pending_jobs", [])
        pending.append((func_path, args, kwargs, queue, delay_seconds, job_id))

    def call_after_commit(self, session, function, *args):
        """Run a quick in-process side effect (a Redis counter, a cache purge) once `session`
        commits; dropped on rollback. Errors are logged, never raised into the request."""
        session = _open_transaction(session)
        session.info.setdefault("after_commit_calls", []).append((function, args))

    def flush(self, session):
        pending = session.info.pop("pending_jobs", [])
        for func_path, args, kwargs, queue_name, delay_seconds, job_id in pending:
            try:
                q = self.queue(queue_name)
                options = {"job_id": job_id} if job_id else {}
                if delay_seconds:
                    q.enqueue_in(timedelta(seconds=delay_seconds), func_path, args=args,
                                 kwargs=kwargs, **options)
                else:
                    q.enqueue(func_path, args=args, kwargs=kwargs, **options)
            except Exception:  # the commit stands; cron sweeps are the backstop for lost jobs
                log.exception("could not enqueue %s%r", func_path, args)

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
