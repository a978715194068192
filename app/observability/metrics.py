"""Prometheus metrics (prometheus_client).

Process-global counters and histograms, counted where the outcome is known: request latency
by route (the URL rule, never the raw path, so ids do not multiply the series), booking and
care-order outcomes by error code, the booking gate's answers, WeChat Pay notifications. Queue
lengths and failed jobs are not counted here: they are read from Redis when /metrics is
scraped (QueueCollector), through the same function the console's jobs page uses.

Under gunicorn (several worker processes) PROMETHEUS_MULTIPROC_DIR must be set before this
module is imported: each process then writes its figures to files there and a scrape sums
them (deploy/gunicorn.conf.py and scripts/run.py set, clean and maintain the directory).

Counting never breaks the caller: every update goes through `_safely`, which logs and carries
on; counting happens after the service returned or raised (outside its transaction).
"""
import functools
import logging
import os
import time

from flask import g, request
from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter,
                               Histogram, generate_latest)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger("app.observability")

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

REQUEST_LATENCY = Histogram(
    "medapp_http_request_duration_seconds", "HTTP request latency by route and status",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
BOOKING_OUTCOMES = Counter(
    "medapp_booking_outcomes", "Registration booking attempts by outcome (success or the "
    "refusal's error code)", ["code"])
CARE_ORDER_OUTCOMES = Counter(
    "medapp_care_order_outcomes", "Care orders placed, by outcome (success or the refusal's "
    "error code)", ["code"])
GATE_HITS = Counter(
    "medapp_booking_gate", "Answers of the Redis booking gate: step check (early sold-out "
    "answer) or take (a ticket), result turned_away or passed", ["step", "result"])
PAYMENT_NOTIFICATIONS = Counter(
    "medapp_payment_notifications", "WeChat Pay payment notifications: applied, duplicate, "
    "refunding, ignored, or refused (with the error code)", ["outcome", "code"])


def _safely(update, *args):
    try:
        update(*args)
    except Exception:  # noqa: BLE001  (a metric must never break the request)
        log.warning("metric update failed", exc_info=True)


def count(counter, *labels) -> None:
    _safely(lambda: counter.labels(*labels).inc())


def count_outcomes(counter):
    """Service decorator: counts "success" when the call returns, the AppError's code when it
    refuses, "error" on anything else (the exception always propagates unchanged)."""
    from app.errors import AppError

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                result = function(*args, **kwargs)
            except AppError as error:
                count(counter, str(error.code))
                raise
            except Exception:
                count(counter, "error")
                raise
            count(counter, "success")
            return result
        return wrapper
    return decorate


# ---- request latency -------------------------------------------------------------------------

def install_request_metrics(app) -> None:
    @app.before_request
    def _start_timer():
        g._metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("_metrics_started", None)
        if started is not None:
            _safely(_observe_request, started, response.status_code)
        return response


def _observe_request(started: float, status: int) -> None:
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    method = request.method if request.method in _METHODS else "OTHER"
    REQUEST_LATENCY.labels(method, rule, str(status)).observe(time.perf_counter() - started)


# ---- queues (read at scrape time) ------------------------------------------------------------

class QueueCollector:
    """Queue lengths, failed jobs and workers per RQ queue, from jobs.queue_counts(): the
    numbers the console's jobs page shows (it reads them through the same function)."""

    def collect(self):
        from app.extensions import jobs

        up = GaugeMetricFamily("medapp_jobs_scrape_ok", "1 when the queue figures could be "
                               "read from Redis, else 0")
        try:
            counts = jobs.queue_counts()
        except Exception:  # noqa: BLE001  (Redis down: the rest of /metrics still answers)
            log.warning("queue figures unavailable for /metrics", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        length = GaugeMetricFamily("medapp_job_queue_length", "Jobs per queue and state "
                                   "(queued, scheduled, running)", labels=["queue", "state"])
        failed = GaugeMetricFamily("medapp_jobs_failed", "Failed jobs per queue (the failed "
                                   "registry, as the console's jobs page shows)",
                                   labels=["queue"])
        workers = GaugeMetricFamily("medapp_job_workers", "Workers listening on each queue",
                                    labels=["queue"])
        for name, figures in counts.items():
            for state in ("queued", "scheduled", "running"):
                length.add_metric([name, state], figures[state])
            failed.add_metric([name], figures["failed"])
            workers.add_metric([name], figures["workers"])
        yield length
        yield failed
        yield workers


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def render() -> tuple[bytes, str]:
    """The exposition text: this process's metrics (or every worker's, summed, in
    multiprocess mode) followed by the queue figures read now."""
    directory = multiprocess_dir()
    if directory:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    queues = CollectorRegistry()
    queues.register(QueueCollector())
    return body + generate_latest(queues), CONTENT_TYPE_LATEST
