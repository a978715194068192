"""The caregiver part of the demo data: about fifty listed caregivers across the demo cities,
the demo caregiver login, applications and documents waiting for review; idempotent."""
import math
from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select

from app.availability.models import BusyBlock, DayWindow, WeeklyWindow
from app.caregivers.models import CARE_TYPES, DEFAULT_SKILLS, Caregiver
from app.common.time import local_today
from app.extensions import db
from app.files.models import StoredFile
from app.files.storage import storage
from app.hospitals.models import Hospital
from app.qualifications.models import Qualification
from app.seed import (DEMO_CAREGIVER_LOGIN_CODE, DEMO_HOSPITAL_COORDINATES, seed_demo_data)
from app.users.models import User
from tests.conftest import auth, login, row_counts


def seed(app, now=None):
    with app.app_context():
        lines = seed_demo_data(now=now)
        db.session.remove()
    return lines


def km(lat1, lon1, lat2, lon2):
    """Great-circle distance (haversine), good enough at city scale."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 6371 * 2 * math.asin(math.sqrt(a))


def test_demo_caregivers_shape(app, client):
    lines = seed(app)
    assert any(line.startswith("created 51 approved demo caregivers in 7 cities")
               for line in lines), lines
    assert any(f"'{DEMO_CAREGIVER_LOGIN_CODE}'" in line for line in lines), lines
    with app.app_context():
        limits = app.config["CARE_PRICE_LIMITS"]
        skills = {code for code, _ in DEFAULT_SKILLS}
        hospitals = {h.id: h for h in db.session.scalars(select(Hospital))}
        assert all(h.latitude is not None and h.longitude is not None
                   for h in hospitals.values())
        for h in hospitals.values():  # the coordinates are in the hospital's own city
            assert (h.latitude, h.longitude) == DEMO_HOSPITAL_COORDINATES[h.code]
        beijing = [h for h in hospitals.values() if h.city_code == "110100"]
        assert all(39.8 < h.latitude < 40.1 and 116.2 < h.longitude < 116.6 for h in beijing)

        caregivers = db.session.scalars(select(Caregiver)).all()
        approved = [c for c in caregivers if c.status == "approved"]
        users = {u.id: u for u in db.session.scalars(select(User))}
        listed = [c for c in approved if users[c.user_id].status == "active"]
        assert 45 <= len(listed) <= 55
        per_city = Counter(c.city_code for c in listed)
        assert len(per_city) == 7 and min(per_city.values()) >= 5, per_city
        today = local_today()
        expiring = 0
        patterns = set()
        for c in listed:
            assert c.name and c.gender in ("male", "female") and c.birth_date
            assert c.bio and c.work_history and c.years_experience >= 1
            assert 1 <= len(c.skills) <= 4 and {s.skill_code for s in c.skills} <= skills
            assert 2 <= len(c.prices) <= 5
            for price in c.prices:
                low, high = limits[price.care_type]
                assert price.care_type in CARE_TYPES and low <= price.price_fen <= high
            assert 1 <= len(c.hospitals) <= 3
            mine = [hospitals[link.hospital_id] for link in c.hospitals]
            assert {h.city_code for h in mine} == {c.city_code}
            assert {d.district_code for d in c.districts} <= {h.district_code for h in mine}
            assert min(km(c.latitude, c.longitude, h.latitude, h.longitude) for h in mine) < 6
            assert 0 <= c.night_surcharge_fen <= app.config["CARE_NIGHT_SURCHARGE_MAX_FEN"]
            photo = db.session.get(StoredFile, c.photo_file_id)
            assert photo.owner_user_id == c.user_id and photo.content_type == "image/png"
            assert storage().read(photo.storage_key).startswith(b"\x89PNG\r\n\x1a\n")
            documents = db.session.scalars(select(Qualification).where(
                Qualification.caregiver_id == c.id)).all()
            valid = {q.kind for q in documents if q.status == "approved"
                     and (q.expires_on is None or q.expires_on >= today)}
            assert {"id_card", "health_certificate"} <= valid
            assert all(q.files for q in documents)
            expiring += any(q.kind == "nursing_certificate" and q.status == "approved"
                            and today <= q.expires_on <= today + timedelta(days=30)
                            for q in documents)
            windows = db.session.scalars(select(WeeklyWindow).where(
                WeeklyWindow.caregiver_id == c.id)).all()
            assert windows and all(0 <= w.start_minute < w.end_minute <= 1440
                                   and w.start_minute % 30 == 0 and w.end_minute % 30 == 0
                                   for w in windows)
            patterns.add(frozenset((w.weekday, w.start_minute, w.end_minute) for w in windows))
        assert expiring == 1
        assert len(patterns) >= 5  # day shifts, nights, live-in, part time, weekends …
        shapes = {(w.start_minute, w.end_minute) for w in db.session.scalars(select(WeeklyWindow))}
        assert {(0, 1440), (1200, 1440), (0, 480)} <= shapes  # live-in and nights
        assert len({p.price_fen for c in listed for p in c.prices}) >= 15
        # materialised working days for the horizon, and a few busy blocks
        days = db.session.execute(select(DayWindow.caregiver_id, func.min(DayWindow.day),
                                         func.max(DayWindow.day))
                                  .group_by(DayWindow.caregiver_id)).all()
        assert {cid for cid, _, _ in days} >= {c.id for c in listed}
        assert all(first <= today + timedelta(days=7) and last >= today + timedelta(days=30)
                   for _, first, last in days)
        # (the demo caregiver's care orders hold time too: tests/care_orders/test_demo.py)
        blocked = Counter(db.session.scalars(select(BusyBlock.caregiver_id).where(
            BusyBlock.ref_type == "manual")))
        assert len(blocked) >= 30 and max(blocked.values()) <= 3

        pending = [c for c in caregivers if c.status == "pending_review"]
        assert 3 <= len(pending) <= 4
        for c in pending:
            documents = db.session.scalars(select(Qualification).where(
                Qualification.caregiver_id == c.id)).all()
            assert {q.kind for q in documents if q.status == "pending"} >= {
                "id_card", "health_certificate"}
            assert all(q.files for q in documents) and c.submitted_at and c.review_round == 1
        waiting = db.session.scalars(select(Qualification).join(
            Caregiver, Caregiver.id == Qualification.caregiver_id).where(
            Caregiver.status == "approved", Qualification.status == "pending")).all()
        assert len(waiting) >= 2
        assert len({q.number_index for q in db.session.scalars(select(Qualification))}) == \
            db.session.scalar(select(func.count()).select_from(Qualification))
        demo_id = db.session.scalar(select(Caregiver.id).join(User).where(
            User.openid == _openid(DEMO_CAREGIVER_LOGIN_CODE)))
        db.session.remove()

    # the public search lists them, city by city
    for city, count in per_city.items():
        page = client.get(f"/api/v1/caregivers?city_code={city}&page_size=50")
        assert page.status_code == 200 and page.get_json()["total"] == count, city
    # the demo caregiver logs in with its code and sees its own profile
    token = login(client, DEMO_CAREGIVER_LOGIN_CODE)["token"]
    me = client.get("/api/v1/caregiver/me", headers=auth(token))
    assert me.status_code == 200, me.get_json()
    assert me.get_json()["id"] == demo_id and me.get_json()["status"] == "approved"
    # photos are served
    photo = client.get(f"/api/v1/caregivers/{demo_id}/photo")
    assert photo.status_code == 200 and photo.data.startswith(b"\x89PNG")


def _openid(code):
    from app.wechat.simulator.miniprogram import openid_for_code
    return openid_for_code(code)


def test_demo_caregivers_are_idempotent(app):
    seed(app)
    first = row_counts(app)
    assert first["caregivers"] == 55 and first["stored_files"] > 150
    assert seed(app) == ["demo data already present; nothing added"]
    assert row_counts(app) == first
    # a later day adds only schedules (the hospital part), no caregiver rows
    with app.app_context():
        from app.hospitals import rules
        later = rules.now_local() + timedelta(days=1)
        db.session.remove()
    lines = seed(app, later)
    assert all(not line.startswith("created") for line in lines), lines
    after = row_counts(app)
    assert {k: v for k, v in after.items() if k != "schedules"} == {
        k: v for k, v in first.items() if k != "schedules"}


def test_existing_demo_hospitals_get_their_coordinates(app):
    seed(app)
    with app.app_context():
        for code in ("DEMO-BJ01", "DEMO-SH02"):
            hospital = db.session.scalar(select(Hospital).where(Hospital.code == code))
            hospital.latitude = hospital.longitude = None
        moved = db.session.scalar(select(Hospital).where(Hospital.code == "DEMO-GZ01"))
        moved.latitude, moved.longitude = 23.0, 113.0  # staff corrected it: left alone
        db.session.commit()
        db.session.remove()
    before = row_counts(app)
    assert seed(app) == ["set the coordinates of 2 demo hospitals"]
    assert row_counts(app) == before
    with app.app_context():
        rows = dict(db.session.execute(select(Hospital.code, Hospital.latitude)).all())
        db.session.remove()
    assert rows["DEMO-BJ01"] == DEMO_HOSPITAL_COORDINATES["DEMO-BJ01"][0]
    assert rows["DEMO-SH02"] == DEMO_HOSPITAL_COORDINATES["DEMO-SH02"][0]
    assert rows["DEMO-GZ01"] == 23.0
