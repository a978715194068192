"""Observability: Prometheus metrics at /metrics (app/observability/metrics.py) and the request
latency hooks. Health checks live in app/health."""


def init_observability(app):
    from app.observability import views
    from app.observability.metrics import install_request_metrics

    install_request_metrics(app)
    app.register_blueprint(views.bp)
