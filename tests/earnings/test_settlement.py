"""The weekly settlement: due entries of orders not in dispute, one batch per caregiver per
ISO week, settled with it; a second run settles nothing new; the job is in the cron table."""
from datetime import datetime, timedelta

from sqlalchemy import select

from app.common.time import utcnow
from app.earnings import services
from app.earnings.models import EarningEntry, SettlementBatch
from app.extensions import db
from tests.care_disputes.conftest import (entries, family_dispute, notification_kinds, ok,
                                          order_at, resolve)


def settle(app, now):
    with app.app_context():
        result = services.settle_due_entries(now)
        db.session.remove()
    return result


def batches(app):
    with app.app_context():
        rows = db.session.execute(select(
            SettlementBatch.id, SettlementBatch.caregiver_id, SettlementBatch.period_key,
            SettlementBatch.entries, SettlementBatch.net_fen).order_by(SettlementBatch.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def entry_rows(app, order_id):
    with app.app_context():
        rows = db.session.scalars(select(EarningEntry).where(
            EarningEntry.order_id == order_id).order_by(EarningEntry.id)).all()
        result = [{"id": e.id, "status": e.status, "batch_id": e.batch_id, "net": e.net_fen,
                   "settled_at": e.settled_at} for e in rows]
        db.session.remove()
    return result


def set_due(app, order_id, due_at):
    with app.app_context():
        for entry in db.session.scalars(select(EarningEntry).where(
                EarningEntry.order_id == order_id)):
            entry.due_at = due_at
        db.session.commit()
        db.session.remove()


def test_only_due_entries_of_undisputed_orders_are_settled_once_a_week(
        app, client, care_world, staff_factory):
    operator = staff_factory("operator")
    mine = care_world["caregiver"]()
    yours = care_world["caregiver"]()
    family = care_world["family"]()
    due = order_at(app, client, care_world, "completed", caregiver=mine, family=family,
                   days_ahead=3)
    disputed = order_at(app, client, care_world, "completed", caregiver=mine, family=family,
                        days_ahead=5)
    not_yet = order_at(app, client, care_world, "completed", caregiver=mine, family=family,
                       days_ahead=7)
    other = order_at(app, client, care_world, "completed", caregiver=yours, family=family)
    ok(family_dispute(client, disputed), 201)
    run = utcnow() + timedelta(days=8)
    set_due(app, not_yet["id"], run + timedelta(days=2))

    assert settle(app, run) == {"batches": 2, "entries": 2, "net_fen": 48000}
    week = services.period_key(run)
    [(mine_batch, *mine_row), (yours_batch, *yours_row)] = sorted(
        batches(app), key=lambda row: row[1] != mine["id"])
    assert mine_row == [mine["id"], week, 1, 24000] and yours_row == [yours["id"], week, 1, 24000]
    [settled] = entry_rows(app, due["id"])
    assert settled["status"] == "settled" and settled["batch_id"] == mine_batch
    assert settled["settled_at"] is not None
    assert entry_rows(app, other["id"])[0]["batch_id"] == yours_batch
    assert [e["status"] for e in entry_rows(app, disputed["id"])] == ["pending"]
    assert [e["status"] for e in entry_rows(app, not_yet["id"])] == ["pending"]
    for caregiver in (mine, yours):
        assert notification_kinds(app, caregiver["user_id"]).count("earnings_settled") == 1

    # the same week again: nothing new, not even what fell due since (next week's batch)
    set_due(app, not_yet["id"], run)
    assert settle(app, run) == {"batches": 0, "entries": 0, "net_fen": 0}
    assert len(batches(app)) == 2
    assert [e["status"] for e in entry_rows(app, not_yet["id"])] == ["pending"]

    # a week later: what fell due, and the dispute once resolved (the correction with it)
    ok(resolve(client, operator, disputed["id"], "partial_refund", refund_fen=10000))
    next_week = run + timedelta(days=7)
    result = settle(app, next_week)
    assert result["batches"] == 1 and result["entries"] == 3
    correction = sum(entry[3] for entry in entries(app, disputed["id"]))
    assert result["net_fen"] == 24000 + correction
    [(_, caregiver_id, key, count, net)] = batches(app)[2:]
    assert (caregiver_id, key, count, net) == (mine["id"], services.period_key(next_week), 3,
                                              result["net_fen"])
    assert all(e["status"] == "settled" for e in entry_rows(app, disputed["id"])
               + entry_rows(app, not_yet["id"]))
    assert notification_kinds(app, mine["user_id"]).count("earnings_settled") == 2
    assert settle(app, next_week)["batches"] == 0


def test_the_week_is_the_local_iso_week():
    # Sunday 18:00 UTC is Monday 02:00 in Shanghai: the run belongs to the new week
    assert services.period_key(datetime(2026, 11, 29, 18, 0)) == "2026-W49"
    assert services.period_key(datetime(2026, 11, 29, 15, 59)) == "2026-W48"
    assert services.period_key(datetime(2027, 1, 3, 18, 0)) == "2027-W01"


def test_the_job_runs_weekly_from_the_cron_table_in_a_json_worker(app, client, care_world):
    from rq import SimpleWorker
    from rq.cron import CronScheduler
    from rq.registry import FailedJobRegistry
    from rq.serializers import JSONSerializer

    from app.common.jobs import declared_jobs
    from app.extensions import jobs, redis_client
    from app.tasks.earnings import settle_earnings

    assert "app.tasks.earnings.settle_earnings" in declared_jobs()
    order = order_at(app, client, care_world, "completed")
    set_due(app, order["id"], utcnow() - timedelta(minutes=1))
    with app.app_context():
        conn = redis_client.conn
        scheduler = CronScheduler(connection=conn)
        scheduler.load_config_from_file("app.tasks.cron")
        [weekly] = [job for job in scheduler.get_jobs()
                    if job.func_name == "app.tasks.earnings.settle_earnings"]
        # rq cron reads cron strings in UTC: Sunday 18:00 UTC = Monday 02:00 Shanghai
        assert weekly.cron == "0 18 * * 0" and weekly.interval is None
        jobs.queue().enqueue(settle_earnings.job_name)
        SimpleWorker(["default"], connection=conn, serializer=JSONSerializer).work(burst=True)
        assert FailedJobRegistry("default", connection=conn).count == 0
        db.session.remove()
    [entry] = entry_rows(app, order["id"])
    assert entry["status"] == "settled" and entry["batch_id"] is not None
    assert [row[1:4] for row in batches(app)] == [
        (order["caregiver"]["id"], services.period_key(utcnow()), 1)]
