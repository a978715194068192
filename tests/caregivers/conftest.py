"""Helpers for the caregiver onboarding tests: rows the API under test does not create."""
import io
import os
from datetime import date, timedelta

import pytest

from app.extensions import db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64
REQUIRED = ("id_card", "health_certificate")


def upload(client, user, data=PNG, name="photo.png"):
    response = client.post("/api/v1/files", headers=user["headers"],
                           content_type="multipart/form-data",
                           data={"purpose": "attachment", "file": (io.BytesIO(data), name)})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def bind_phone(app, user_id, phone="13812345678"):
    from app.users.models import User

    with app.app_context():
        db.session.get(User, user_id).phone = phone
        db.session.commit()
        db.session.remove()


def add_hospital(app, *, city_code="110100", district_code="110101", active=True,
                 name=None) -> int:
    from app.hospitals.models import Hospital

    with app.app_context():
        hospital = Hospital(code=f"CG-{os.urandom(3).hex()}", name=name or "测试护理医院",
                            level="3A", province_code=city_code[:2] + "0000",
                            city_code=city_code, district_code=district_code,
                            address="测试路1号", phone="010-12345678", is_active=active)
        db.session.add(hospital)
        db.session.commit()
        hospital_id = hospital.id
        db.session.remove()
    return hospital_id


def add_qualifications(app, caregiver_id, *, status="approved", kinds=REQUIRED,
                       expires_on="future") -> list[int]:
    """Qualification rows straight in the database (the qualifications API is another area)."""
    from app.common.time import local_today
    from app.qualifications.models import Qualification

    if expires_on == "future":
        expires_on = local_today() + timedelta(days=365)
    with app.app_context():
        rows = [Qualification(caregiver_id=caregiver_id, kind=kind, title="证件",
                              number=f"N{os.urandom(4).hex()}",
                              number_index=os.urandom(16).hex(), status=status,
                              expires_on=expires_on, review_round=1) for kind in kinds]
        db.session.add_all(rows)
        db.session.commit()
        ids = [row.id for row in rows]
        db.session.remove()
    return ids


def set_qualifications(app, caregiver_id, **values):
    from sqlalchemy import update

    from app.qualifications.models import Qualification

    with app.app_context():
        db.session.execute(update(Qualification).where(Qualification.caregiver_id == caregiver_id)
                           .values(**values))
        db.session.commit()
        db.session.remove()


def link_staff_to_user(app, staff_id, user_id):
    from app.staff.models import StaffUser

    with app.app_context():
        db.session.get(StaffUser, staff_id).user_id = user_id
        db.session.commit()
        db.session.remove()


def caregiver_row(app, caregiver_id) -> dict:
    """The columns and children of a caregiver, read from the database."""
    from app.caregivers.models import Caregiver

    with app.app_context():
        c = db.session.get(Caregiver, caregiver_id)
        row = {column.key: getattr(c, column.key) for column in Caregiver.__mapper__.column_attrs}
        row.update(skills=[s.skill_code for s in c.skills],
                   districts=[d.district_code for d in c.districts],
                   hospitals=[h.hospital_id for h in c.hospitals],
                   prices={p.care_type: p.price_fen for p in c.prices})
        db.session.remove()
    return row


def notifications(app, user_id) -> list[tuple[str, str, int, str]]:
    from sqlalchemy import select

    from app.notifications.models import Notification

    with app.app_context():
        rows = db.session.execute(select(Notification.kind, Notification.ref_type,
                                         Notification.ref_id, Notification.body)
                                  .where(Notification.user_id == user_id)
                                  .order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def birth_years_ago(years: int, days: int = 0) -> date:
    from app.common.time import local_today

    today = local_today()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        born = today.replace(year=today.year - years, day=28)
    return born + timedelta(days=days)


@pytest.fixture
def hospital(app):
    return add_hospital(app)


FULL_PROFILE = {
    "name": "王秀英", "gender": "female", "birth_date": "1978-05-01", "city_code": "110100",
    "district_codes": ["110101", "110105"], "latitude": 39.91, "longitude": 116.40,
    "skills": ["elderly", "post_surgery"], "years_experience": 8, "bio": "耐心细致,擅长术后护理",
    "work_history": [{"start": "2015-03", "end": "2020-06", "employer": "北京某护理站",
                      "role": "护理员"},
                     {"start": "2020-07", "end": None, "employer": "自由执业", "role": "护工"}],
    "accepts_urgent": True, "night_service": True, "night_surcharge_fen": 5000,
}


@pytest.fixture
def applicant(client, app, alice, hospital):
    """alice with a bound phone and a complete draft profile (photo, hospital, one price)."""
    bind_phone(app, alice["id"])
    photo = upload(client, alice)
    body = {**FULL_PROFILE, "hospital_ids": [hospital], "photo_file_id": photo}
    created = client.post("/api/v1/caregiver/me", headers=alice["headers"], json=body)
    assert created.status_code == 201, created.get_json()
    prices = client.put("/api/v1/caregiver/me/prices", headers=alice["headers"],
                        json={"prices": [{"care_type": "full_day", "price_fen": 30000}]})
    assert prices.status_code == 200, prices.get_json()
    return {**alice, "caregiver_id": created.get_json()["id"], "photo": photo,
            "hospital": hospital}
