"""The demo catalogue: about twenty hospitals across regions, two-level departments, doctors,
and schedules for every day of each booking window; idempotent, and a later run adds only the
days that came into the window."""
from collections import Counter, defaultdict
from datetime import time, timedelta

from sqlalchemy import select

from app.extensions import db
from app.hospitals import rules
from app.hospitals.models import (DOCTOR_TITLES, HOSPITAL_LEVELS, Department, Doctor, Hospital,
                                  Schedule)
from app.seed import seed_demo_data
from tests.conftest import row_counts


def seed(app, now):
    with app.app_context():
        lines = seed_demo_data(now=now)
        db.session.remove()
    return lines


def schedule_rows(app):
    with app.app_context():
        rows = {(s.doctor_id, s.work_date, s.period): (s.total, s.available, s.fee_fen, s.id)
                for s in db.session.scalars(select(Schedule))}
        db.session.remove()
    return rows


def test_demo_catalogue_shape(app, client):
    now = rules.now_local()
    lines = seed(app, now)
    assert any(line.startswith("created 20 demo hospitals") for line in lines), lines
    assert any(line.startswith("added ") and "demo schedules" in line for line in lines), lines
    with app.app_context():
        hospitals = db.session.scalars(select(Hospital)).all()
        departments = db.session.scalars(select(Department)).all()
        doctors = db.session.scalars(select(Doctor)).all()
        schedules = db.session.scalars(select(Schedule)).all()
        assert 18 <= len(hospitals) <= 22
        assert len({h.province_code for h in hospitals}) >= 6
        assert len({h.city_code for h in hospitals}) >= 7
        assert {h.level for h in hospitals} == set(HOSPITAL_LEVELS)
        for h in hospitals:
            assert h.is_active and h.code.startswith("DEMO-") and h.notice and h.intro
            assert h.province_code.endswith("0000") and h.city_code[:2] == h.province_code[:2]
            assert h.district_code[:4] == h.city_code[:4]
            assert 1 <= h.booking_days_ahead <= 30
        by_id = {d.id: d for d in departments}
        tops = defaultdict(list)
        children = defaultdict(list)
        for d in departments:
            if d.parent_id is None:
                tops[d.hospital_id].append(d)
            else:
                parent = by_id[d.parent_id]
                assert parent.parent_id is None and parent.hospital_id == d.hospital_id
                children[d.parent_id].append(d)
        for h in hospitals:
            assert 3 <= len(tops[h.id]) <= 5, h.name
            for top in tops[h.id]:
                assert 2 <= len(children[top.id]) <= 3, (h.name, top.name)
        per_department = Counter(d.department_id for d in doctors)
        leaves = [d for d in departments if d.parent_id is not None]
        assert all(1 <= per_department[d.id] <= 3 for d in leaves)
        assert not any(by_id[d.department_id].parent_id is None for d in doctors)
        assert {d.title for d in doctors} <= set(DOCTOR_TITLES)
        # schedules: every second-level department has clinics on every day of the window
        clinic_days = {(s.department_id, s.work_date) for s in schedules}
        for h in hospitals:
            for day in rules.window_days(h, now):
                for leaf in (d for d in leaves if d.hospital_id == h.id):
                    assert (leaf.id, day) in clinic_days, (h.name, leaf.name, day)
        hospital_of = {h.id: h for h in hospitals}
        for s in schedules:
            assert s.work_date in rules.window_days(hospital_of[s.hospital_id], now)
            assert 10 <= s.total <= 40 and s.available == s.total and s.status == "open"
            assert 500 <= s.fee_fen <= 10000
            assert (s.period, s.start_time, s.end_time) in {
                ("morning", time(8), time(12)), ("afternoon", time(13, 30), time(17))}
        fees = defaultdict(set)
        for s in schedules:
            fees[s.doctor.title].add(s.fee_fen)
        assert min(fees["主任医师"]) > max(fees.get("主治医师", {0}))
        db.session.remove()
    # browsable at once
    listed = client.get("/api/v1/hospitals?page_size=100").get_json()
    assert listed["total"] == len(hospitals)
    assert client.get("/api/v1/hospitals?region=440300").get_json()["total"] == 2  # 深圳
    assert client.get("/api/v1/hospitals?region=110000").get_json()["total"] == 4  # 北京
    first = listed["items"][0]
    detail = client.get(f"/api/v1/hospitals/{first['id']}").get_json()
    top = detail["departments"][0]
    days = client.get(f"/api/v1/hospitals/{first['id']}/departments/{top['id']}/calendar"
                      ).get_json()["days"]
    assert all(d["total"] >= 10 for d in days)


def test_demo_seed_is_idempotent_and_rolls_forward_by_day(app):
    now = rules.now_local()
    seed(app, now)
    after_first = row_counts(app)
    first_rows = schedule_rows(app)
    lines = seed(app, now)
    assert lines == ["demo data already present; nothing added"]
    assert row_counts(app) == after_first
    # the next day: only the newly released day of each window is added
    lines = seed(app, now + timedelta(days=1))
    assert len(lines) == 1 and lines[0].startswith("added "), lines
    second_rows = schedule_rows(app)
    assert {k: v for k, v in second_rows.items() if k in first_rows} == first_rows
    added = set(second_rows) - set(first_rows)
    with app.app_context():
        last_days = {h.id: rules.window_days(h, now + timedelta(days=1))[-1]
                     for h in db.session.scalars(select(Hospital))}
        doctor_hospital = dict(db.session.execute(select(Doctor.id, Doctor.hospital_id)).all())
        db.session.remove()
    assert added and all(day == last_days[doctor_hospital[doctor]]
                         for doctor, day, _ in added)
    counts = row_counts(app)
    assert {k: v for k, v in counts.items() if k != "schedules"} == {
        k: v for k, v in after_first.items() if k != "schedules"}
    # the draw for a day does not depend on the day the seed ran
    with app.app_context():
        db.session.query(Schedule).delete()
        db.session.commit()
        db.session.remove()
    seed(app, now + timedelta(days=1))
    redrawn = schedule_rows(app)
    assert {k: v[:3] for k, v in redrawn.items()} == {k: v[:3] for k, v in second_rows.items()
                                                      if k[1] > now.date() + timedelta(days=1)}
