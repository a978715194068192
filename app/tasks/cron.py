"""The `rq cron` table, loaded by `rq cron app.tasks.cron`. The cron process only enqueues;
the functions run in `flask worker`, inside the app context."""
from rq import Queue, cron
from rq import cron as rq_cron_module
from rq.serializers import JSONSerializer

from app.common.jobs import job_name
from app.tasks.availability import roll_forward_day_windows
from app.tasks.booking import (mark_no_shows, rebuild_booking_gates, send_visit_reminders,
                               sweep_unpaid_registrations)
from app.tasks.care_orders import sweep_care_orders
from app.tasks.caregivers import check_qualification_expiry
from app.tasks.earnings import settle_earnings
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

def _every(function, **schedule):
    job_name(function)  # only declared jobs (@job) are scheduled
    cron.register(function, queue_name="default", **schedule)


_every(record_heartbeat, interval=60)
_every(sweep_expired_payments, interval=60)
_every(reconcile_payments, interval=60)  # lost notifications, and refused refunds now due
_every(sweep_unpaid_registrations, interval=60)
_every(rebuild_booking_gates, interval=60)
_every(sweep_care_orders, interval=60)  # offer timeouts, dispatch, auto-completion, lost jobs
# rq cron evaluates cron strings in UTC: 10:00 UTC is 18:00 and 15:55 UTC is 23:55 in Shanghai
_every(send_visit_reminders, cron="0 10 * * *")
_every(mark_no_shows, cron="55 15 * * *")
_every(check_qualification_expiry, cron="30 1 * * *")  # 09:30 Shanghai
_every(roll_forward_day_windows, cron="5 16 * * *")  # 00:05 Shanghai: the new horizon day
_every(settle_earnings, cron="0 18 * * 0")  # Monday 02:00 Shanghai: the weekly settlement
