"""gunicorn hooks for `make run` (scripts/run.py passes `-c python:app.observability.
gunicorn_hooks`; production's deploy/gunicorn.conf.py has the same two). PROMETHEUS_MULTIPROC_DIR
comes from the environment; the launcher empties the directory before each start of the web
server, and on_starting does it again for a gunicorn started by hand."""
import os
import shutil


def _directory():
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def on_starting(server):
    directory = _directory()
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    """A dead worker's live gauges leave the sums (its counters stay: they were counted)."""
    directory = _directory()
    if directory:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, directory)
