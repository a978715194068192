"""Who an announcement reaches, per segment, on a small hand-made dataset: active users only,
never the banned; caregivers approved or suspended; a city's patients, families and
caregivers; a visit-date range's booked, visited or no-show registrations."""
import os
from datetime import date, datetime, time, timedelta

import pytest

from app.booking.models import Registration
from app.care_orders.models import CareOrder
from app.common.time import utcnow
from app.extensions import db
from app.hospitals.models import Schedule
from app.patients.models import Patient
from app.users.models import User
from tests.announcements.conftest import announce, inbox_counts, run_worker
from tests.conftest import ID_MOTHER, add_hospital_with_doctor, make_caregiver

SHANGHAI, BEIJING = "310100", "110100"
DAY = date(2026, 12, 10)


class World:
    """Users, hospitals, registrations and care orders made straight in the database."""

    def __init__(self, app):
        self.app = app
        self.hospitals: dict[str, tuple[int, int, int]] = {}
        self.schedules: dict[tuple, int] = {}
        self.patients: dict[int, int] = {}

    def user(self, status="active", created_at=None) -> int:
        with self.app.app_context():
            user = User(openid=f"seg-{os.urandom(6).hex()}", status=status,
                        ban_reason="违规" if status == "banned" else None)
            if created_at is not None:
                user.created_at = created_at
            db.session.add(user)
            db.session.commit()
            user_id = user.id
            db.session.remove()
        return user_id

    def _hospital(self, city):
        if city not in self.hospitals:
            hospital, department, doctor = add_hospital_with_doctor(
                f"H{city}", f"测试医院{city}", city)
            self.hospitals[city] = (hospital.id, department.id, doctor.id)
        return self.hospitals[city]

    def _schedule(self, city, day):
        hospital_id, department_id, doctor_id = self._hospital(city)
        if (city, day) not in self.schedules:
            schedule = Schedule(hospital_id=hospital_id, department_id=department_id,
                                doctor_id=doctor_id, work_date=day, period="morning",
                                start_time=time(8), end_time=time(12), total=10, available=10,
                                numbers_issued=0, fee_fen=5000, status="open")
            db.session.add(schedule)
            db.session.flush()
            self.schedules[(city, day)] = schedule.id
        return self.schedules[(city, day)]

    def _patient(self, user_id):
        from app.common.identity import parse_resident_id

        if user_id in self.patients:
            return self.patients[user_id]
        patient = Patient(user_id=user_id, alive=True, name="王小明", is_insured=False)
        patient.set_id("resident_id", ID_MOTHER)
        patient.birthday, patient.gender = parse_resident_id(ID_MOTHER)
        patient.phone = "13800000000"
        db.session.add(patient)
        db.session.flush()
        self.patients[user_id] = patient.id
        return patient.id

    def registration(self, user_id, *, city=BEIJING, day=DAY, status="booked"):
        with self.app.app_context():
            schedule_id = self._schedule(city, day)
            hospital_id, department_id, doctor_id = self.hospitals[city]
            db.session.add(Registration(
                order_no=f"R{os.urandom(6).hex()}", user_id=user_id,
                patient_id=self._patient(user_id), schedule_id=schedule_id,
                hospital_id=hospital_id, department_id=department_id, doctor_id=doctor_id,
                visit_date=day, period="morning", fee_fen=5000, patient_name="王小明",
                status=status, active=True if status in ("pending_payment", "booked") else None))
            db.session.commit()
            db.session.remove()

    def care_order(self, user_id, *, city):
        with self.app.app_context():
            start = datetime(2026, 12, 1, 0, 0)
            db.session.add(CareOrder(
                order_no=f"C{os.urandom(6).hex()}", user_id=user_id,
                patient_id=self._patient(user_id), patient_name="王小明", care_type="full_day",
                start_at=start, end_at=start + timedelta(days=1), city_code=city, units=1,
                unit_price_fen=30000, base_fen=30000, total_fen=30000, status="completed"))
            db.session.commit()
            db.session.remove()


@pytest.fixture
def world(app):
    return World(app)


def reached(client, app, staff, **body) -> set[int]:
    """Send an announcement, run the worker; the users whose inbox got it (and the total must
    say the same)."""
    response = announce(client, staff, **body)
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    run_worker(app)
    inbox = inbox_counts(app, created["id"])
    assert set(inbox.values()) <= {1}
    assert created["total"] == len(inbox)
    return set(inbox)


def test_all_is_every_active_user_and_never_the_banned(client, app, operator, world):
    active = {world.user(), world.user()}
    banned = world.user(status="banned")
    world.registration(banned)
    assert reached(client, app, operator, segment="all") == active


def test_caregivers_are_the_approved_and_the_suspended(client, app, operator, world):
    approved, suspended = world.user(), world.user()
    make_caregiver(app, user_id=approved, status="approved")
    make_caregiver(app, user_id=suspended, status="suspended")
    for status in ("draft", "pending_review", "rejected"):
        make_caregiver(app, user_id=world.user(), status=status)
    banned = world.user(status="banned")
    make_caregiver(app, user_id=banned, status="approved")
    world.user()  # not a caregiver
    assert reached(client, app, operator, segment="caregivers") == {approved, suspended}


def test_a_city_is_its_patients_families_and_caregivers(client, app, operator, world):
    patient, cancelled, family, caregiver = (world.user() for _ in range(4))
    world.registration(patient, city=SHANGHAI, status="visited")
    world.registration(cancelled, city=SHANGHAI, status="cancelled")  # still one of its patients
    world.care_order(family, city=SHANGHAI)
    make_caregiver(app, user_id=caregiver, status="approved", city_code=SHANGHAI,
                   districts=("310101",))
    elsewhere = world.user()
    world.registration(elsewhere, city=BEIJING)
    world.care_order(elsewhere, city=BEIJING)
    make_caregiver(app, user_id=world.user(), status="approved", city_code=BEIJING)
    make_caregiver(app, user_id=world.user(), status="rejected", city_code=SHANGHAI,
                   districts=("310101",))
    banned = world.user(status="banned")
    world.registration(banned, city=SHANGHAI)
    assert reached(client, app, operator, segment="city", city_code=SHANGHAI) == {
        patient, cancelled, family, caregiver}


def test_a_booking_range_is_who_booked_a_visit_in_it(client, app, operator, world):
    booked, visited, no_show = world.user(), world.user(), world.user()
    world.registration(booked, day=DAY, status="booked")
    world.registration(visited, day=DAY + timedelta(days=6), status="visited")  # last day
    world.registration(no_show, day=DAY + timedelta(days=3), status="no_show")
    for status in ("pending_payment", "closed", "cancelled", "refunded", "stopped"):
        world.registration(world.user(), day=DAY + timedelta(days=1), status=status)
    world.registration(world.user(), day=DAY - timedelta(days=1))  # the day before
    world.registration(world.user(), day=DAY + timedelta(days=7))  # the day after
    twice = world.user()  # two bookings in the range: still one message
    world.registration(twice, day=DAY)
    world.registration(twice, day=DAY + timedelta(days=2), city=SHANGHAI)
    banned = world.user(status="banned")
    world.registration(banned, day=DAY)
    assert reached(client, app, operator, segment="booking_range", date_from=DAY.isoformat(),
                   date_to=(DAY + timedelta(days=6)).isoformat()) == {
        booked, visited, no_show, twice}


def test_users_who_join_or_are_banned_after_the_announcement(client, app, operator, world):
    """Recipients are who was there when staff sent it: a user registering meanwhile is not
    added (the total stays true); one banned before their batch is skipped."""
    stays, banned_later = world.user(), world.user()
    response = announce(client, operator, segment="all")
    created = response.get_json()
    assert created["total"] == 2
    world.user(created_at=utcnow() + timedelta(seconds=5))  # a newcomer
    with app.app_context():
        db.session.get(User, banned_later).ban("违规")
        db.session.commit()
        db.session.remove()
    run_worker(app)
    assert set(inbox_counts(app, created["id"])) == {stays}
    done = client.get(f"/api/v1/staff/announcements/{created['id']}",
                      headers=operator["headers"]).get_json()
    assert done["status"] == "completed" and done["total"] == 2 and done["inbox_count"] == 1
