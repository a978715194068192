import time

from app.common.jobs import job
from app.extensions import redis_client


@job
def record_heartbeat(component: str = "cron"):
    """Proves the cron → queue → worker path is alive; /healthz reports its age."""
    redis_client.conn.set(f"heartbeat:{component}", int(time.time()))
