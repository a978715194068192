"""The `rq cron` table, loaded by `rq cron app.tasks.cron`. The cron process only enqueues;
the functions run in `flask worker`, inside the app context."""
from rq import cron

from app.tasks.maintenance import record_heartbeat

cron.register(record_heartbeat, queue_name="default", interval=60)
