"""The `rq cron` table, loaded by `rq cron app.tasks.cron`. The cron process only enqueues;
the functions run in `flask worker`, inside the app context.

Time-based work is never left to a delayed job alone: every delayed job (payment TTL, offer
timeout, auto-completion, refund retry) has a sweep here that finds the same work in the
database, so a Redis flush or a lost job costs at most a minute (tested in
tests/platform/test_cron_sweeps_after_flush.py). Visit reminders run twice an evening, the
second run the backstop of the first; the other daily jobs catch up at their next run."""
from rq import cron
from rq import cron as rq_cron_module

from app.common.jobs import JobQueue, job_name
from app.tasks.announcements import resume_announcements
from app.tasks.availability import roll_forward_day_windows
from app.tasks.backups import nightly_backup
from app.tasks.booking import (mark_no_shows, rebuild_booking_gates, send_visit_reminders,
                               sweep_unpaid_registrations)
from app.tasks.care_orders import sweep_care_orders
from app.tasks.caregivers import check_qualification_expiry
from app.tasks.earnings import settle_earnings
from app.tasks.hospital_webhooks import sweep_hospital_webhooks
from app.tasks.maintenance import record_heartbeat
from app.tasks.notifications import sweep_pushes
from app.tasks.points import expire_points
from app.tasks.stats import flush_user_events, summarise_stats
from app.tasks.payments import reconcile_payments, sweep_expired_payments
from app.tasks.waitlist import sweep_waitlist

# rq 2.12's CronJob.enqueue builds a plain Queue and ignores `rq cron -S json`, so its jobs
# would be pickled while our workers read JSON, and would have no retries. Loading this table
# swaps in our queue: JSON, and the default retry policy (a sweep whose worker died is retried).
rq_cron_module.Queue = JobQueue


# job name → {name, label, interval | cron, run_now}: the table below as data, which the
# console's jobs page lists (app.common.jobs.periodic_jobs) and whose jobs it can run at once
PERIODIC_JOBS: dict[str, dict] = {}


def _every(function, label, *, run_now=True, **schedule):
    """`label` is what staff read; run_now=False for a job that is wrong off its schedule."""
    name = job_name(function)  # only declared jobs (@job) are scheduled
    PERIODIC_JOBS[name] = {"name": name, "function": function, "label": label,
                           "interval": schedule.get("interval"), "cron": schedule.get("cron"),
                           "run_now": run_now}
    cron.register(function, queue_name="default", **schedule)


_every(record_heartbeat, "定时任务心跳", interval=60)
_every(sweep_expired_payments, "关闭超时未付款的支付", interval=60)
# lost notifications, and refused refunds now due
_every(reconcile_payments, "支付对账与退款重试", interval=60)
_every(sweep_unpaid_registrations, "关闭未发起支付的挂号", interval=60)
_every(rebuild_booking_gates, "校正挂号号源", interval=60)
# holds past their deadline (job lost), waits whose booking day closed
_every(sweep_waitlist, "候补巡检(超时未付、截止结束)", interval=60)
# offer timeouts, dispatch, auto-completion, lost jobs
_every(sweep_care_orders, "陪护订单巡检(派单、超时、自动完成)", interval=60)
_every(sweep_pushes, "补发未送达的消息推送", interval=60)  # job lost or sender died
_every(resume_announcements, "续发中断的公告", interval=60)  # next batch job was lost
_every(sweep_hospital_webhooks, "补发医院回调(Webhook)", interval=60)  # job lost or sender died
# rq cron evaluates cron strings in UTC: 10:00 UTC is 18:00 and 15:55 UTC is 23:55 in Shanghai.
# Reminders at 18:00, and at 20:00 for what a lost run missed and tomorrow's later bookings.
_every(send_visit_reminders, "发送明日就诊提醒", cron="0 10,12 * * *")
# not by hand: before the day is over it would mark today's patients who are yet to come
_every(mark_no_shows, "标记当日爽约", cron="55 15 * * *", run_now=False)
_every(check_qualification_expiry, "检查护工证件到期", cron="30 1 * * *")  # 09:30 Shanghai
# 00:05 Shanghai: the new horizon day
_every(roll_forward_day_windows, "滚动护工可约日期", cron="5 16 * * *")
# Monday 02:00 Shanghai: the weekly settlement
_every(settle_earnings, "护工收入周结算", cron="0 18 * * 0")
# 00:10 Shanghai: points past their 12 months (FIFO lots) expire
_every(expire_points, "积分过期", cron="10 16 * * *")
# buffered logins and searches (Redis) into user_events, for the statistics
_every(flush_user_events, "写入用户行为记录(登录、搜索)", interval=60)
# 00:30 Shanghai: yesterday (and any missed day) into the statistics summary tables
_every(summarise_stats, "统计日汇总(含补算漏跑的日期)", cron="30 16 * * *")
# 03:30 Shanghai: the nightly backup (database and uploads), then retention (BACKUP_KEEP_DAYS)
# (quick: it queues the job that writes the archive, with BACKUP_JOB_TIMEOUT_SECONDS)
_every(nightly_backup, "每日备份(数据库与上传文件)并清理旧备份", cron="30 19 * * *")
