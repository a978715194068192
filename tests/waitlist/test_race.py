"""200 concurrent cancels and joins on one sold-out schedule, through the live HTTP server:
every returned slot goes to exactly one waiter, in order (priority, then join order), or, when
nobody waited at that moment, to the public; never two holds for one slot; 0 oversell."""
import secrets
import threading
from datetime import timedelta

import requests

from app.common.time import utcnow
from app.extensions import db
from tests.waitlist.conftest import make_due

SLOTS = 100     # each booked, then cancelled by its holder: 100 cancels
JOINERS = 100   # 100 joins racing them (after 10 who queued before)


def _fill(app, schedule_id, holders):
    """Every slot taken: half booked and paid, half unpaid (with an open payment)."""
    from app.booking.models import Registration
    from app.hospitals.models import Schedule
    from app.payments.models import Payment

    ids = []
    with app.app_context():
        schedule = db.session.get(Schedule, schedule_id)
        now = utcnow()
        for index, person in enumerate(holders):
            paid = index % 2 == 0
            registration = Registration(
                order_no="G" + secrets.token_hex(8), user_id=person["id"],
                patient_id=person["patient_id"], schedule_id=schedule_id,
                hospital_id=schedule.hospital_id, department_id=schedule.department_id,
                doctor_id=schedule.doctor_id, visit_date=schedule.work_date,
                period=schedule.period, fee_fen=schedule.fee_fen, patient_name="王小明",
                status="booked" if paid else "pending_payment", active=True,
                visit_number=index + 1 if paid else None, paid_at=now if paid else None)
            db.session.add(registration)
            db.session.flush()
            db.session.add(Payment(
                out_trade_no="P" + secrets.token_hex(10), order_type="registration",
                order_id=registration.id, user_id=person["id"], payer_openid="o-test",
                description="挂号费", amount_fen=schedule.fee_fen, refunded_fen=0,
                status="paid" if paid else "created",
                transaction_id=("42" + secrets.token_hex(12)) if paid else None,
                paid_at=now if paid else None, expires_at=now + timedelta(minutes=15)))
            ids.append(registration.id)
        schedule.available, schedule.numbers_issued = 0, SLOTS // 2
        db.session.commit()
        db.session.remove()
    return ids


def _race(calls):
    """Run every call at once (a barrier), each in its own thread; their results."""
    barrier = threading.Barrier(len(calls))
    answers, lock = [], threading.Lock()

    def run(call):
        barrier.wait()
        answer = call()
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _interleave(first, second):
    mixed = []
    for index in range(max(len(first), len(second))):
        mixed += first[index:index + 1] + second[index:index + 1]
    return mixed


def _state(app, schedule_id, original_ids):
    from app.booking.models import Registration
    from app.hospitals.models import Schedule
    from app.waitlist.models import WaitlistEntry

    with app.app_context():
        schedule = db.session.get(Schedule, schedule_id)
        state = {
            "total": schedule.total, "available": schedule.available,
            "entries": [{"id": e.id, "status": e.status, "priority": e.priority,
                         "user_id": e.user_id, "patient_id": e.patient_id,
                         "registration_id": e.registration_id}
                        for e in db.session.query(WaitlistEntry).filter_by(
                            schedule_id=schedule_id).order_by(WaitlistEntry.id)],
            "holds": {r.id: (r.status, r.active, r.patient_id, r.user_id)
                      for r in db.session.query(Registration).filter(
                          Registration.schedule_id == schedule_id,
                          Registration.id.notin_(original_ids))},
            "active": db.session.query(Registration).filter_by(
                schedule_id=schedule_id, active=True).count(),
        }
        db.session.remove()
    return state


def _check(state, returned):
    """The invariants after a race; `returned`: slots given back so far."""
    offered = [e for e in state["entries"] if e["status"] == "offered"]
    waiting = [e for e in state["entries"] if e["status"] == "waiting"]
    # every returned slot is held by exactly one waiter, or went to the public
    assert len(offered) + state["available"] == returned, (len(offered), state["available"])
    # never two holds for one slot; each hold is its waiter's own pending registration; a
    # lapsed hold's registration is closed and no longer holds anything
    assert len({e["registration_id"] for e in offered}) == len(offered)
    for e in offered:
        assert state["holds"][e["registration_id"]] == (
            "pending_payment", True, e["patient_id"], e["user_id"])
    for e in state["entries"]:
        if e["status"] == "lapsed":
            assert state["holds"][e["registration_id"]][:2] == ("closed", None)
    assert sum(1 for hold in state["holds"].values() if hold[1]) == len(offered)
    # 0 oversell: held + booked + free == total
    assert state["active"] + state["available"] == state["total"]
    # a slot is public only while nobody waits
    if state["available"]:
        assert waiting == []
    # in order: an entry already waiting when another got a slot (a smaller id: entries are
    # written under the schedule's lock, in that order) never ranks above or with it
    for hold in offered:
        for wait in waiting:
            if wait["id"] < hold["id"]:
                assert wait["priority"] < hold["priority"], (wait, hold)
    return offered, waiting


def test_two_hundred_concurrent_cancels_and_joins(app, client, catalogue, verified,
                                                   staff_factory):
    from app.waitlist import services
    from tests.membership.test_membership import ladder, paid, save

    # silver (waitlist priority 1) from 10 yuan paid, gold (priority 2) from 50
    save(client, staff_factory("admin"), ladder(app))
    schedule_id = catalogue["schedule"](total=SLOTS)
    holders = verified(SLOTS, prefix="race-holder")
    joiners = verified(JOINERS + 10 + 40, prefix="race-joiner")
    original_ids = _fill(app, schedule_id, holders)
    # every third joiner is a member with priority (the live server runs in this process)
    members = {person["id"]: 1 + index % 2 for index, person in enumerate(joiners)
               if index % 3 == 0}
    for user_id, priority in members.items():
        paid(app, user_id, 1000 if priority == 1 else 5000)
    live = app.config["LIVE_URL"]

    def cancel(person, registration_id):
        def call():
            response = requests.post(f"{live}/api/v1/registrations/{registration_id}/cancel",
                                     headers=person["headers"], timeout=300)
            return "cancel", response.status_code, _code(response)
        return call

    def join(person):
        def call():
            response = requests.post(f"{live}/api/v1/waitlist", headers=person["headers"],
                                     timeout=300, json={"schedule_id": schedule_id,
                                                        "patient_id": person["patient_id"]})
            return "join", response.status_code, _code(response)
        return call

    # a queue is there when the race starts
    for person in joiners[:10]:
        assert join(person)()[1] == 201

    # round 1: 100 cancels and 100 joins at once
    answers = _race(_interleave(
        [cancel(person, rid) for person, rid in zip(holders, original_ids)],
        [join(person) for person in joiners[10:10 + JOINERS]]))
    cancels = [a for a in answers if a[0] == "cancel"]
    joins = [a for a in answers if a[0] == "join"]
    assert cancels == [("cancel", 200, None)] * SLOTS, sorted(set(cancels))
    # a join waits, or finds a seat that went public while nobody waited
    assert set(joins) <= {("join", 201, None), ("join", 409, "waitlist_schedule_has_seats")}
    state = _state(app, schedule_id, original_ids)
    assert len(state["entries"]) == 10 + joins.count(("join", 201, None))
    offered, _ = _check(state, SLOTS)
    assert offered, "no slot went to a waiter"

    # round 2: every hold lapses unpaid (its close job) while 40 more join
    for entry in offered:
        make_due(app, entry["id"])

    def expire(entry_id):
        def call():
            with app.app_context():
                try:
                    return "expire", services.expire_hold(entry_id), None
                finally:
                    db.session.remove()
        return call

    answers = _race(_interleave([expire(entry["id"]) for entry in offered],
                                [join(person) for person in joiners[10 + JOINERS:]]))
    assert [a for a in answers if a[0] == "expire"] == [("expire", "closed", None)] * len(
        offered)
    joins = [a for a in answers if a[0] == "join"]
    assert set(joins) <= {("join", 201, None), ("join", 409, "waitlist_schedule_has_seats")}
    state = _state(app, schedule_id, original_ids)
    _check(state, SLOTS)
    lapsed = [e for e in state["entries"] if e["status"] == "lapsed"]
    assert {e["id"] for e in lapsed} == {e["id"] for e in offered}


def _code(response):
    return response.json()["error"]["code"] if response.status_code >= 400 else None
