"""The `rq cron` table, loaded by `rq cron app.tasks.cron`. The cron process only enqueues;
the functions run in `flask worker`, inside the app context."""
from rq import Queue, cron
from rq import cron as rq_cron_module
from rq.serializers import JSONSerializer

from app.tasks.booking import (mark_no_shows, rebuild_booking_gates, send_visit_reminders,
                               sweep_unpaid_registrations)
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
cron.register(sweep_unpaid_registrations, queue_name="default", interval=60)
cron.register(rebuild_booking_gates, queue_name="default", interval=60)
# rq cron evaluates cron strings in UTC: 10:00 UTC is 18:00 and 15:55 UTC is 23:55 in Shanghai
cron.register(send_visit_reminders, queue_name="default", cron="0 10 * * *")
cron.register(mark_no_shows, queue_name="default", cron="55 15 * * *")
