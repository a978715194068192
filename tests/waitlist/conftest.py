from datetime import datetime

import pytest
from sqlalchemy import update

from app.extensions import db
from tests.booking.conftest import catalogue, verified  # noqa: F401  (fixtures used here)


def join(client, person, schedule_id, patient_id=None):
    return client.post("/api/v1/waitlist", headers=person["headers"], json={
        "schedule_id": schedule_id, "patient_id": patient_id or person["patient_id"]})


def entries(app, schedule_id=None):
    """Every entry (of one schedule), as plain dicts in id order."""
    from app.waitlist.models import WaitlistEntry

    with app.app_context():
        query = db.session.query(WaitlistEntry)
        if schedule_id is not None:
            query = query.filter_by(schedule_id=schedule_id)
        rows = [{"id": e.id, "user_id": e.user_id, "patient_id": e.patient_id,
                 "status": e.status, "active": e.active, "priority": e.priority,
                 "registration_id": e.registration_id, "end_reason": e.end_reason,
                 "hold_expires_at": e.hold_expires_at}
                for e in query.order_by(WaitlistEntry.id)]
        db.session.remove()
        return rows


def entry(app, entry_id):
    return next(row for row in entries(app) if row["id"] == entry_id)


def make_due(app, entry_id):
    """The hold's deadline (and its payment's, if any) is now past."""
    from app.payments.models import Payment
    from app.waitlist.models import WaitlistEntry

    past = datetime(2000, 1, 1)
    with app.app_context():
        row = db.session.get(WaitlistEntry, entry_id)
        db.session.execute(update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                           .values(hold_expires_at=past))
        db.session.execute(update(Payment).where(Payment.order_type == "registration",
                                                 Payment.order_id == row.registration_id)
                           .values(expires_at=past))
        db.session.commit()
        db.session.remove()


def expire_hold_now(app, entry_id):
    """The hold's deadline passes, then its job runs."""
    from app.waitlist import services

    make_due(app, entry_id)
    with app.app_context():
        outcome = services.expire_hold(entry_id)
        db.session.remove()
        return outcome


@pytest.fixture
def sold_out(app, client, catalogue, verified):  # noqa: F811
    """A schedule with one slot, booked (unpaid) by `holder`: {"schedule_id", "holder",
    "registration_id"}."""
    def make(total=1, **schedule_kwargs):
        schedule_id = catalogue["schedule"](total=total, **schedule_kwargs)
        holders = verified(total, prefix=f"holder-{schedule_id}")
        ids = []
        for person in holders:
            response = client.post("/api/v1/registrations", headers=person["headers"], json={
                "schedule_id": schedule_id, "patient_id": person["patient_id"]})
            assert response.status_code == 201, response.get_json()
            ids.append(response.get_json()["registration"]["id"])
        return {"schedule_id": schedule_id, "holders": holders, "registration_ids": ids,
                "holder": holders[0], "registration_id": ids[0]}
    return make
