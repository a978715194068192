"""GET /metrics for Prometheus: only with the bearer METRICS_TOKEN or from an address in
METRICS_ALLOWED_NETWORKS; anyone else gets a 404 (its existence is not advertised). The
public nginx site does not pass /metrics through at all (deploy/nginx/medapp.conf)."""
import hmac
import ipaddress
import logging

from flask import Blueprint, Response, current_app, request

from app.errors import NotFound
from app.observability.metrics import render

bp = Blueprint("observability", __name__)
log = logging.getLogger("app.observability")


def _networks(value) -> list:
    if isinstance(value, str):
        value = [part for part in value.replace(" ", ",").split(",") if part]
    networks = []
    for entry in value or ():
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            log.warning("METRICS_ALLOWED_NETWORKS: %r is not a network; ignored", entry)
    return networks


def allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(
            header[len("Bearer "):].strip().encode(), str(token).encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network
               for network in _networks(current_app.config.get("METRICS_ALLOWED_NETWORKS")))


@bp.get("/metrics")
def metrics():
    if not allowed():
        raise NotFound()
    body, content_type = render()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
