"""The `rq cron` table, loaded by `rq cron app.tasks.cron`. The cron process only enqueues;
the functions run in `flask worker`, inside the app context."""
from rq import Queue, cron
from rq import cron as rq_cron_module
from rq.serializers import JSONSerializer

from app.tasks.maintenance import record_heartbeat
from app.tasks.payments import reconcile_payments, sweep_expired_payments


class JsonQueue(Queue):
    """rq 2.12's CronJob.enqueue builds a plain Queue and ignores `rq cron -S json`, so its
    jobs would be pickled while our workers read JSON. Loading this table swaps in a queue
    that serialises as the workers expect."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("serializer", JSONSerializer)
        super().__init__(*args, **kwargs)


rq_cron_module.Queue = JsonQueue

cron.register(record_heartbeat, queue_name="default", interval=60)
cron.register(sweep_expired_payments, queue_name="default", interval=60)
cron.register(reconcile_payments, queue_name="default", interval=60)
