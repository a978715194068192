"""Expiry: the warning 30 days ahead (once), suspension when a required document lapses,
reinstatement when its renewal is approved; badges and missing kinds."""
from datetime import timedelta

from app.common.jobs import declared_jobs
from app.common.time import local_today
from app.extensions import db
from app.qualifications import services
from app.qualifications.models import Qualification
from tests.conftest import make_caregiver
from tests.qualifications.helpers import (BASE, approved_caregiver, caregiver_state, create,
                                          decide, health_body, inbox, later, nursing_body,
                                          set_columns, yesterday)


def run_job(app, today=None):
    with app.app_context():
        if today is None:
            from app.tasks.caregivers import check_qualification_expiry
            result = check_qualification_expiry()
        else:
            result = services.check_qualification_expiry(today)
        db.session.remove()
    return result


def test_the_job_is_scheduled_daily_and_runs_in_a_worker(app, alice, client, staff_factory):
    """Declared with @job, in the `rq cron` table at 01:30 UTC (09:30 Shanghai), and a JSON
    worker runs it to completion."""
    from rq import SimpleWorker
    from rq.cron import CronScheduler
    from rq.registry import FailedJobRegistry
    from rq.serializers import JSONSerializer

    from app.extensions import jobs, redis_client
    from app.tasks.caregivers import check_qualification_expiry

    assert "app.tasks.caregivers.check_qualification_expiry" in declared_jobs()
    reviewer = staff_factory("reviewer")
    cg = approved_caregiver(client, app, alice, reviewer)
    set_columns(app, Qualification, cg["health"], expires_on=yesterday())
    with app.app_context():
        conn = redis_client.conn
        scheduler = CronScheduler(connection=conn)
        scheduler.load_config_from_file("app.tasks.cron")
        [daily] = [job for job in scheduler.get_jobs()
                   if job.func_name == "app.tasks.caregivers.check_qualification_expiry"]
        assert daily.cron == "30 1 * * *" and daily.interval is None
        jobs.queue().enqueue(check_qualification_expiry.job_name)
        SimpleWorker(["default"], connection=conn, serializer=JSONSerializer).work(burst=True)
        assert FailedJobRegistry("default", connection=conn).count == 0
        db.session.remove()
    assert caregiver_state(app, cg["caregiver_id"])[:2] == ("suspended", "expiry")


def test_warning_once_at_thirty_days(client, app, alice, bob, staff_factory):
    reviewer = staff_factory("reviewer")
    approved_caregiver(client, app, alice, reviewer, health_expires=later(30))
    approved_caregiver(client, app, bob, reviewer, health_expires=later(31))
    before = inbox(app, alice["id"])
    assert run_job(app) == {"warned": 1, "suspended": 0}
    assert run_job(app) == {"warned": 0, "suspended": 0}  # idempotent
    new = inbox(app, alice["id"])[len(before):]
    assert [(kind, ref_type) for kind, ref_type, _, _ in new] == [
        ("qualification_expiring", "qualification")]
    assert "健康证" in new[0][3] and later(30) in new[0][3]
    assert [m[0] for m in inbox(app, bob["id"])].count("qualification_expiring") == 0
    # the next day bob's is within 30 days too
    tomorrow = local_today() + timedelta(days=1)
    assert run_job(app, tomorrow) == {"warned": 1, "suspended": 0}
    assert run_job(app, tomorrow) == {"warned": 0, "suspended": 0}
    with app.app_context():
        warned = db.session.query(Qualification).filter(
            Qualification.expiry_warned_at.is_not(None)).count()
        db.session.remove()
    assert warned == 2


def test_pending_and_renewed_documents_are_not_warned(client, app, alice, bob, staff_factory):
    """A renewal still pending: the old one is warned about. A renewal already approved (valid
    past the warning horizon): nothing to warn about."""
    reviewer = staff_factory("reviewer")
    approved_caregiver(client, app, alice, reviewer, health_expires=later(10))
    create(client, alice, health_body(client, alice, expires_on=later(400)))  # pending
    approved_caregiver(client, app, bob, reviewer, health_expires=later(10))
    renewal = create(client, bob, health_body(client, bob, expires_on=later(400)))
    decide(client, reviewer, renewal["id"], approve=True)
    assert run_job(app)["warned"] == 1
    assert [m[0] for m in inbox(app, alice["id"])].count("qualification_expiring") == 1
    assert [m[0] for m in inbox(app, bob["id"])].count("qualification_expiring") == 0


def test_required_expiry_suspends_and_renewal_reinstates(client, app, alice, staff_factory):
    reviewer = staff_factory("reviewer")
    cg = approved_caregiver(client, app, alice, reviewer)
    set_columns(app, Qualification, cg["health"], expires_on=yesterday())  # time passed
    assert services_missing(app, cg["caregiver_id"]) == ["health_certificate"]
    assert run_job(app) == {"warned": 0, "suspended": 1}
    assert run_job(app) == {"warned": 0, "suspended": 0}  # idempotent
    status, by, reason = caregiver_state(app, cg["caregiver_id"])
    assert (status, by) == ("suspended", "expiry") and "健康证" in reason
    suspended = [m for m in inbox(app, alice["id"]) if m[0] == "caregiver_suspended"]
    assert len(suspended) == 1 and suspended[0][1:3] == ("caregiver_suspension", 1)

    # a renewal approved: reinstated, with a message
    renewal = create(client, alice, health_body(client, alice, expires_on=later(300)))
    decide(client, reviewer, renewal["id"], approve=True)
    assert caregiver_state(app, cg["caregiver_id"]) == ("approved", None, None)
    kinds = [m[0] for m in inbox(app, alice["id"])]
    assert kinds.count("caregiver_reinstated") == 1
    assert run_job(app) == {"warned": 0, "suspended": 0}  # the old expired one no longer counts


def test_suspended_by_staff_is_not_reinstated_by_a_renewal(client, app, alice, staff_factory):
    from app.caregivers.models import Caregiver

    reviewer = staff_factory("reviewer")
    cg = approved_caregiver(client, app, alice, reviewer)
    with app.app_context():
        caregiver = db.session.get(Caregiver, cg["caregiver_id"])
        caregiver.suspend("staff", "投诉核查中")
        db.session.commit()
        db.session.remove()
    set_columns(app, Qualification, cg["health"], expires_on=yesterday())
    assert run_job(app)["suspended"] == 0  # already suspended: nothing to do
    renewal = create(client, alice, health_body(client, alice, expires_on=later(300)))
    decide(client, reviewer, renewal["id"], approve=True)
    assert caregiver_state(app, cg["caregiver_id"]) == ("suspended", "staff", "投诉核查中")


def test_reinstatement_waits_for_every_required_kind(client, app, alice, staff_factory):
    reviewer = staff_factory("reviewer")
    cg = approved_caregiver(client, app, alice, reviewer)
    set_columns(app, Qualification, cg["health"], expires_on=yesterday())
    set_columns(app, Qualification, cg["id_card"], expires_on=yesterday())
    assert run_job(app)["suspended"] == 1
    reason = caregiver_state(app, cg["caregiver_id"])[2]
    assert "身份证" in reason and "健康证" in reason
    renewal = create(client, alice, health_body(client, alice, expires_on=later(300)))
    decide(client, reviewer, renewal["id"], approve=True)
    assert caregiver_state(app, cg["caregiver_id"])[0] == "suspended"  # ID card still lapsed


def test_non_required_expiry_only_drops_the_badge(client, app, alice, staff_factory):
    reviewer = staff_factory("reviewer")
    cg = approved_caregiver(client, app, alice, reviewer)
    nursing = create(client, alice, nursing_body(client, alice))
    decide(client, reviewer, nursing["id"], approve=True)
    assert badge_kinds(app, cg["caregiver_id"]) == ["id_card", "nursing_certificate",
                                                   "health_certificate"]
    set_columns(app, Qualification, nursing["id"], expires_on=yesterday())
    assert run_job(app) == {"warned": 0, "suspended": 0}
    assert caregiver_state(app, cg["caregiver_id"])[0] == "approved"
    assert badge_kinds(app, cg["caregiver_id"]) == ["id_card", "health_certificate"]
    listed = client.get(BASE, headers=alice["headers"]).get_json()["items"]
    assert [item["expired"] for item in listed if item["id"] == nursing["id"]] == [True]


def test_badges_and_missing_kinds(client, app, alice, bob, staff_factory):
    reviewer = staff_factory("reviewer")
    cg = approved_caregiver(client, app, alice, reviewer, health_expires=later(5))
    bob_cg = make_caregiver(app, user_id=bob["id"], status="draft")
    create(client, bob, health_body(client, bob))  # pending: no badge
    empty = make_caregiver(app)
    with app.app_context():
        badges = services.verified_badges([cg["caregiver_id"], bob_cg, empty, 999999])
        assert badges == {
            cg["caregiver_id"]: [{"kind": "id_card", "kind_name": "身份证"},
                                 {"kind": "health_certificate", "kind_name": "健康证"}],
            bob_cg: [], empty: [], 999999: []}
        # on a later day the health certificate has lapsed
        later_day = local_today() + timedelta(days=6)
        assert services.verified_badges([cg["caregiver_id"]], later_day) == {
            cg["caregiver_id"]: [{"kind": "id_card", "kind_name": "身份证"}]}
        assert services.missing_required_kinds(cg["caregiver_id"]) == []
        assert services.missing_required_kinds(cg["caregiver_id"], later_day) == [
            "health_certificate"]
        assert services.missing_required_kinds(bob_cg) == ["id_card", "health_certificate"]
        assert services.verified_badges([]) == {}
        db.session.remove()


def test_many_caregivers_in_batches(client, app, alice, staff_factory, monkeypatch):
    """More candidates than one batch: every one is suspended, each exactly once."""
    monkeypatch.setattr(services, "BATCH", 3)
    ids = []
    for index in range(7):
        caregiver_id = make_caregiver(app)
        ids.append(caregiver_id)
        with app.app_context():
            for kind, expires in (("id_card", None), ("health_certificate", yesterday())):
                qualification = Qualification(
                    caregiver_id=caregiver_id, kind=kind, title="证件", number=f"NO-{index}",
                    number_index=f"idx-{kind}-{index}", expires_on=expires, status="approved",
                    review_round=1)
                db.session.add(qualification)
            db.session.commit()
            db.session.remove()
    assert run_job(app) == {"warned": 0, "suspended": 7}
    assert {caregiver_state(app, i)[:2] for i in ids} == {("suspended", "expiry")}
    assert run_job(app) == {"warned": 0, "suspended": 0}


def services_missing(app, caregiver_id):
    with app.app_context():
        result = services.missing_required_kinds(caregiver_id)
        db.session.remove()
    return result


def badge_kinds(app, caregiver_id):
    with app.app_context():
        result = [b["kind"] for b in services.verified_badges([caregiver_id])[caregiver_id]]
        db.session.remove()
    return result


def test_two_job_runs_at_once_warn_and_suspend_once(client, app, alice, bob, staff_factory):
    """The cron process may enqueue the job twice (a restart, a manual run): each caregiver is
    handled under its row lock, so the second run finds nothing left to do."""
    import threading

    reviewer = staff_factory("reviewer")
    warned = approved_caregiver(client, app, alice, reviewer, health_expires=later(20))
    lapsed = approved_caregiver(client, app, bob, reviewer)
    set_columns(app, Qualification, lapsed["health"], expires_on=yesterday())
    barrier = threading.Barrier(2)
    results = []

    def run():
        barrier.wait()
        results.append(run_job(app))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["warned"] for r in results) == 1, results
    assert sum(r["suspended"] for r in results) == 1, results
    assert [m[0] for m in inbox(app, alice["id"])].count("qualification_expiring") == 1
    assert [m[0] for m in inbox(app, bob["id"])].count("caregiver_suspended") == 1
    assert caregiver_state(app, lapsed["caregiver_id"])[:2] == ("suspended", "expiry")
    assert caregiver_state(app, warned["caregiver_id"])[0] == "approved"
