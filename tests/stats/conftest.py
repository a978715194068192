"""A small platform with real orders for the statistics tests: registrations booked and paid
through the API in two hospitals (two cities), care orders booked, paid, served, completed and
reviewed through the API, logins and searches through the API; then some rows moved back in
time (as days passing would have it) so the nightly job has finished days to summarise."""
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from app.common.time import LOCAL_TZ, local_today
from app.extensions import db
from tests.booking.conftest import book as book_registration, catalogue, pay as pay_registration, verified  # noqa: F401
from tests.care_orders.conftest import API, CAREGIVER_API, care_world, paid_order  # noqa: F401
from tests.care_reviews.conftest import order_at
from tests.conftest import add_hospital_with_doctor, auth, login

STATS = "/api/v1/staff/stats"


def utc_at(day, hour=12):
    """Noon (or `hour`) of a Shanghai business day as naive UTC."""
    return datetime.combine(day, time(hour), LOCAL_TZ).astimezone(timezone.utc).replace(tzinfo=None)


def flush_events(app):
    from app.stats.events import flush_events as flush

    with app.app_context():
        moved = flush()
        db.session.remove()
    return moved


def run_nightly(app):
    from app.tasks.stats import summarise_stats

    with app.app_context():
        return summarise_stats()


def move(app, model, row_id, **values):
    with app.app_context():
        db.session.execute(update(model).where(model.id == row_id).values(**values))
        db.session.commit()
        db.session.remove()


@pytest.fixture
def world(app, client, catalogue, verified, care_world):
    """Returns the ids made and `today`, `past` (3 days ago) business days."""
    from app.booking.models import Registration
    from app.care_orders.models import CareOrder
    from app.hospitals.models import Schedule
    from app.users.models import User

    today = local_today()
    past = today - timedelta(days=3)
    with app.app_context():
        hospital, department, doctor = add_hospital_with_doctor("H-SH", "上海测试医院", "310100")
        work_date = today + timedelta(days=3)
        other = Schedule(hospital_id=hospital.id, department_id=department.id,
                         doctor_id=doctor.id, work_date=work_date, period="morning",
                         start_time=time(8), end_time=time(12), total=10, available=10,
                         numbers_issued=0, fee_fen=3000, status="open")
        db.session.add(other)
        db.session.commit()
        other_schedule = other.id
        db.session.remove()
    schedule = catalogue["schedule"](fee_fen=5000)
    people = verified(3)
    registrations = []
    for person, schedule_id, paid in ((people[0], schedule, True), (people[1], schedule, False),
                                      (people[2], other_schedule, True)):
        response = book_registration(client, person, schedule_id)
        assert response.status_code == 201, response.get_json()
        if paid:
            pay_registration(app, response.get_json())
        registrations.append(response.get_json()["registration"]["id"])

    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    completed = order_at(app, client, care_world, caregiver, family, days_ahead=3)
    reviewed = client.post(f"{API}/{completed}/review", json={"stars": 5},
                           headers=family["headers"])
    assert reviewed.status_code == 201, reviewed.get_json()
    second = care_world["family"]()
    rejected = paid_order(app, client, care_world, second, caregiver, days_ahead=5)
    answer = client.post(f"{CAREGIVER_API}/{rejected}/reject", json={"reason": "时间冲突"},
                         headers=caregiver["headers"])
    assert answer.status_code == 200, answer.get_json()

    # behaviour: a login, searches by a signed-in user (who ordered today) and anonymous ones
    alice = login(client, "wx-code-alice")
    assert client.get("/api/v1/hospitals?keyword=测试", headers=auth(alice["token"])).status_code == 200
    assert client.get("/api/v1/caregivers", headers=family["headers"]).status_code == 200
    assert client.get("/api/v1/caregivers").status_code == 200  # anonymous
    assert client.get("/api/v1/caregivers").status_code == 200  # the cache answers: counts too
    assert client.get("/api/v1/caregivers?page=2").status_code == 200  # not a new search
    flush_events(app)

    # history: one registration, one care order (with its review and user) 3 days ago
    move(app, Registration, registrations[1], created_at=utc_at(past, 9))
    move(app, User, people[1]["id"], created_at=utc_at(past, 8))
    move(app, CareOrder, rejected, created_at=utc_at(past, 10))
    with app.app_context():
        # the oldest row decides where the job starts: make it a week ago
        db.session.execute(update(User).where(User.id == people[0]["id"]).values(
            created_at=utc_at(today - timedelta(days=7), 7)))
        db.session.commit()
        db.session.remove()
    return {"today": today, "past": past, "registrations": registrations,
            "care_orders": [completed, rejected], "caregiver": caregiver, "family": family,
            "people": people, "alice": alice}


def direct_figures(app, start_day, end_day) -> dict:
    """The same figures counted straight over the rows of the whole range at once."""
    from app.booking.models import Registration
    from app.care_orders.models import CareAssignment, CareOrder
    from app.care_reviews.models import CareReview
    from app.hospitals.models import Hospital
    from app.stats.models import UserEvent
    from app.users.models import User

    start = utc_at(start_day, 0)
    end = utc_at(end_day + timedelta(days=1), 0)
    with app.app_context():
        s = db.session

        def count(model, *where):
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0

        regs = s.execute(select(Registration.fee_fen, Registration.points_discount_fen,
                                Registration.paid_at).where(
            Registration.created_at >= start, Registration.created_at < end)).all()
        cares = s.execute(select(CareOrder.total_fen, CareOrder.paid_at).where(
            CareOrder.created_at >= start, CareOrder.created_at < end)).all()
        decided = s.execute(select(CareAssignment.status).where(
            CareAssignment.decided_at >= start, CareAssignment.decided_at < end)).scalars().all()
        stars = s.execute(select(CareReview.stars).where(
            CareReview.created_at >= start, CareReview.created_at < end)).scalars().all()
        events = s.execute(select(UserEvent.kind, UserEvent.user_id).where(
            UserEvent.occurred_at >= start, UserEvent.occurred_at < end)).all()
        figures = {
            "new_users": count(User, User.created_at >= start, User.created_at < end),
            "total_users": count(User, User.created_at < end),
            "hospitals": count(Hospital, Hospital.created_at < end, Hospital.is_active.is_(True)),
            "registrations": len(regs),
            "registrations_paid": sum(1 for r in regs if r.paid_at),
            "registration_fen": sum(r.fee_fen - r.points_discount_fen for r in regs if r.paid_at),
            "care_orders": len(cares),
            "care_orders_paid": sum(1 for c in cares if c.paid_at),
            "care_fen": sum(c.total_fen for c in cares if c.paid_at),
            "offers": {status: decided.count(status) for status in set(decided)},
            "completed": count(CareOrder, CareOrder.completed_at >= start,
                               CareOrder.completed_at < end),
            "cancelled": count(CareOrder, CareOrder.cancelled_at >= start,
                               CareOrder.cancelled_at < end, CareOrder.paid_at.is_not(None))
            + count(CareOrder, CareOrder.status == "refunded", CareOrder.refunded_at >= start,
                    CareOrder.refunded_at < end),
            "stars": {n: stars.count(n) for n in range(1, 6)},
            "logins": sum(1 for kind, _ in events if kind == "login"),
            "searches": sum(1 for kind, _ in events if kind.endswith("_search")),
        }
        db.session.remove()
    return figures
