"""RQ queues, and the rule that jobs are enqueued only after the transaction commits."""
import logging
from datetime import timedelta

from flask import current_app
from rq import Queue
from rq.serializers import JSONSerializer
from sqlalchemy import event

log = logging.getLogger("app.jobs")


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

    def enqueue_after_commit(self, session, func_path: str, *args, queue="default",
                             delay_seconds=None, job_id=None, **kwargs):
        """Enqueue `func_path(*args)` once `session` commits; nothing is sent on rollback.

        Jobs take ids (JSON-serialisable arguments only) and must be idempotent.
        """
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
