from datetime import date, datetime, time, timedelta

import pytest
import requests

from app.common.auth import issue_token
from app.common.time import LOCAL_TZ
from app.extensions import db
from app.hospitals.models import Department, Doctor, Hospital, Schedule
from app.patients.models import Patient
from app.users.models import User
from tests.conftest import ID_ALICE, auth, resident_id


def local_now():
    return datetime.now(LOCAL_TZ)


@pytest.fixture
def catalogue(app):
    """One hospital (7-day window, release 08:30, stop 15:00 the day before, cancel until
    15:30 the day before), a department, a doctor; `schedule(...)` adds schedules."""
    with app.app_context():
        hospital = Hospital(code="H-TEST", name="测试第一人民医院", level="3A",
                            province_code="110000", city_code="110100", district_code="110101",
                            address="北京市东城区测试路1号", phone="010-12345678", is_active=True,
                            booking_days_ahead=7, release_time=time(8, 30), stop_time=time(15, 0),
                            cancel_days_before=1, cancel_time=time(15, 30))
        db.session.add(hospital)
        db.session.flush()
        parent = Department(hospital_id=hospital.id, code="NK", name="内科", sort_order=1)
        db.session.add(parent)
        db.session.flush()
        department = Department(hospital_id=hospital.id, parent_id=parent.id, code="XNK",
                                name="心血管内科", sort_order=1)
        db.session.add(department)
        db.session.flush()
        doctor = Doctor(hospital_id=hospital.id, department_id=department.id, name="李医生",
                        title="主任医师", specialty="冠心病")
        db.session.add(doctor)
        db.session.commit()
        ids = {"hospital_id": hospital.id, "department_id": department.id, "doctor_id": doctor.id}
        db.session.remove()

    def schedule(days_ahead=3, total=10, fee_fen=5000, period="morning", doctor_id=None):
        with app.app_context():
            work_date = local_now().date() + timedelta(days=days_ahead)
            doctor_id = doctor_id or ids["doctor_id"]
            row = Schedule(hospital_id=ids["hospital_id"], department_id=ids["department_id"],
                           doctor_id=doctor_id, work_date=work_date, period=period,
                           start_time=time(8) if period == "morning" else time(13, 30),
                           end_time=time(12) if period == "morning" else time(17),
                           total=total, available=total, numbers_issued=0, fee_fen=fee_fen,
                           status="open")
            db.session.add(row)
            db.session.commit()
            schedule_id = row.id
            db.session.remove()
        return schedule_id

    def another_doctor():
        with app.app_context():
            doctor = Doctor(hospital_id=ids["hospital_id"], department_id=ids["department_id"],
                            name="王医生", title="主治医师")
            db.session.add(doctor)
            db.session.commit()
            doctor_id = doctor.id
            db.session.remove()
        return doctor_id

    return {**ids, "schedule": schedule, "another_doctor": another_doctor}


def person_id_number(n: int) -> str:
    """A valid resident ID of its own for every n (a birth date and a sequence number)."""
    born = date(1960, 1, 1) + timedelta(days=n // 1000)
    return resident_id(f"110101{born:%Y%m%d}{n % 1000:03d}")


def make_patient(user_id, id_number=ID_ALICE, name="王小明"):
    from app.common.identity import parse_resident_id

    patient = Patient(user_id=user_id, alive=True, name=name, is_insured=False)
    patient.set_id("resident_id", id_number)
    patient.birthday, patient.gender = parse_resident_id(id_number)
    patient.phone = "13800000000"
    db.session.add(patient)
    db.session.flush()
    return patient.id


@pytest.fixture
def verified(app):
    """Make verified users with one patient each, fast (real-name review is tested elsewhere)."""
    def make(count=1, prefix="booker"):
        people = []
        with app.app_context():
            for index in range(count):
                user = User(openid=f"{prefix}-{index}", status="active", token_version=1,
                            real_name_status="verified")
                db.session.add(user)
                db.session.flush()
                # each a different person (the ID-number caps count people across accounts)
                id_number = person_id_number(user.id)
                patient_id = make_patient(user.id, id_number)
                people.append({"id": user.id, "patient_id": patient_id, "id_number": id_number,
                               "headers": auth(issue_token("user", user.id, 1))})
            db.session.commit()
            db.session.remove()
        return people
    return make


def book(client, person, schedule_id, patient_id=None):
    return client.post("/api/v1/registrations", headers=person["headers"], json={
        "schedule_id": schedule_id, "patient_id": patient_id or person["patient_id"]})


def pay(app, booking_body):
    prepay_id = booking_body["pay_params"]["package"].split("=", 1)[1]
    response = requests.post(app.config["LIVE_URL"] + "/_sim/pay", json={"prepay_id": prepay_id},
                             timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def schedule_row(app, schedule_id):
    with app.app_context():
        row = db.session.get(Schedule, schedule_id)
        state = {"available": row.available, "total": row.total, "status": row.status,
                 "numbers_issued": row.numbers_issued}
        db.session.remove()
        return state


def registration_row(app, registration_id):
    from app.booking.models import Registration

    with app.app_context():
        row = db.session.get(Registration, registration_id)
        state = {"status": row.status, "visit_number": row.visit_number, "active": row.active,
                 "reminded_at": row.reminded_at}
        db.session.remove()
        return state
