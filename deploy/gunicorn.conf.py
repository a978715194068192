"""gunicorn settings for production (deploy/systemd/medapp-web.service runs
`gunicorn -c deploy/gunicorn.conf.py wsgi:app`). Values come from the environment file
(/etc/medapp/env) where a deployment wants them different."""
import os

# only nginx on this host talks to gunicorn; it sets X-Forwarded-For / -Proto, which the app
# believes for TRUSTED_PROXY_HOPS hops (set it to 1 here)
bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("WEB_WORKERS", "4"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# WeChat waits 5 s for a callback; nothing the app serves should take 30
timeout = 30
graceful_timeout = 20
keepalive = 5
# the kernel's accept queue for a release's crowd (nginx's own backlog comes first)
backlog = 2048
# a worker is replaced after this many requests (with jitter), bounding slow leaks
max_requests = 10000
max_requests_jitter = 1000
accesslog = "-"
errorlog = "-"
# forwarded headers are the app's business (werkzeug ProxyFix, TRUSTED_PROXY_HOPS), not gunicorn's
forwarded_allow_ips = "127.0.0.1"

# Prometheus multiprocess mode (app/observability/metrics.py): every worker writes its figures
# to files in this directory and /metrics sums them. raw_env puts it into the workers'
# environment before the app (and prometheus_client) is imported; on_starting empties it
# (figures of a previous run would be summed in); child_exit drops a dead worker's live
# gauges. /run/medapp-web is systemd's RuntimeDirectory of medapp-web.service.
prometheus_multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "/run/medapp-web/metrics")
raw_env = [f"PROMETHEUS_MULTIPROC_DIR={prometheus_multiproc_dir}"]


def on_starting(server):
    import shutil

    shutil.rmtree(prometheus_multiproc_dir, ignore_errors=True)
    os.makedirs(prometheus_multiproc_dir, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, prometheus_multiproc_dir)
