"""Read scaling (app/common/replica.py): with READ_REPLICA_DATABASE_URL set, hospital browsing
and caregiver search answer from the replica; with the replica unreachable they answer from
the primary; writes always go to the primary, never to the replica.

The "replica" here is a second database built by the same migrations and filled with other
rows than the primary, so every answer shows which database it came from. The apps under test
are second apps made with create_app (the session's app has no replica)."""
from datetime import time, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app import create_app
from app.common import replica
from app.common.time import local_today
from app.extensions import db, redis_client
from app.hospitals.models import Hospital, Schedule
from app.staff.models import StaffUser
from tests.conftest import _reset_schema, _truncate_all, add_hospital_with_doctor, make_caregiver
from tests.hospitals.conftest import HOSPITAL

SHARED = ("SQLALCHEMY_DATABASE_URI", "REDIS_URL", "INSTANCE_DIR", "UPLOAD_DIR")


def _settings(app, **more) -> dict:
    # the SQL search (the in-process index is loaded from the primary on purpose)
    return {**{key: app.config[key] for key in SHARED}, "CAREGIVER_SEARCH_INDEX": "off", **more}


def _replica_database_url(app, workdir) -> str:
    """A database next to the primary's, named after it (test_h6 → test_h6_replica, CI's
    test → test_replica), or a second SQLite file."""
    primary = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if primary.get_backend_name() == "sqlite":
        return f"sqlite:///{workdir / 'replica.db'}"
    name = f"{primary.database}_replica"
    with app.app_context():
        with db.engine.connect() as connection:
            connection.execute(text(f"CREATE DATABASE IF NOT EXISTS `{name}` "
                                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        db.session.remove()
    return primary.set(database=name).render_as_string(hide_password=False)


def _unreachable_url(app, workdir) -> str:
    if make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "sqlite":
        return f"sqlite:///{workdir / 'no-such-directory' / 'replica.db'}"
    return "mysql+pymysql://root@127.0.0.1:1/nothing_listens_here"


@pytest.fixture(scope="module")
def replica_db(app, workdir):
    """(url, an app whose primary IS the replica database: to build and fill it)."""
    url = _replica_database_url(app, workdir)
    builder = create_app("testing", {**_settings(app), "SQLALCHEMY_DATABASE_URI": url})
    with builder.app_context():
        _reset_schema()  # the same migrations as the primary
    yield url, builder
    with builder.app_context():
        db.engine.dispose()


def _fill(app, tag: str, caregivers: int) -> dict:
    """A hospital, a doctor, a clinic in 3 days (total 7 on the replica, 9 on the primary) and
    `caregivers` listed caregivers, all named after `tag`."""
    with app.app_context():
        hospital, department, doctor = add_hospital_with_doctor(f"{tag}-1", f"{tag}医院")
        doctor.name = f"{tag}医生"
        day = local_today() + timedelta(days=3)
        total = 7 if tag == "副本" else 9
        db.session.add(Schedule(hospital_id=hospital.id, department_id=department.id,
                                doctor_id=doctor.id, work_date=day, period="morning",
                                start_time=time(8), end_time=time(12), total=total,
                                available=total, numbers_issued=0, fee_fen=5000, status="open"))
        db.session.commit()
        ids = {"hospital": hospital.id, "department": department.id, "doctor": doctor.id,
               "day": day.isoformat(), "total": total}
        db.session.remove()
    ids["caregivers"] = sorted(make_caregiver(app, name=f"{tag}护工{n}") for n in range(caregivers))
    return ids


@pytest.fixture
def worlds(app, replica_db):
    _, builder = replica_db
    with builder.app_context():
        _truncate_all()
        db.session.remove()
    return {"primary": _fill(app, "主库", 2), "replica": _fill(builder, "副本", 1)}


def _browse(client, ids) -> dict:
    """What each public read says, reduced to what tells the databases apart."""
    hospitals = client.get("/api/v1/hospitals")
    assert hospitals.status_code == 200, hospitals.get_data()
    detail = client.get(f"/api/v1/hospitals/{ids['hospital']}")
    doctor = client.get(f"/api/v1/doctors/{ids['doctor']}")
    calendar = client.get(f"/api/v1/hospitals/{ids['hospital']}/departments/"
                          f"{ids['department']}/calendar")
    day = client.get(f"/api/v1/hospitals/{ids['hospital']}/departments/{ids['department']}"
                     f"/schedules?date={ids['day']}")
    search = client.get("/api/v1/caregivers")
    assert search.status_code == 200 and search.headers["X-Search-Source"] == "database"
    caregiver = client.get(f"/api/v1/caregivers/{ids['caregivers'][0]}")
    return {
        "hospitals": [item["name"] for item in hospitals.get_json()["items"]],
        "detail": detail.status_code == 200 and detail.get_json()["name"],
        "doctor": doctor.status_code == 200 and doctor.get_json()["name"],
        "calendar": calendar.status_code == 200 and sum(
            entry["total"] for entry in calendar.get_json()["days"]),
        "day": day.status_code == 200 and [item["total"] for item in day.get_json()["items"]],
        "search": sorted(item["id"] for item in search.get_json()["items"]),
        "search_total": search.get_json()["total"],
        "caregiver": caregiver.status_code,
    }


def _expected(ids, tag) -> dict:
    return {"hospitals": [f"{tag}医院"], "detail": f"{tag}医院", "doctor": f"{tag}医生",
            "calendar": ids["total"], "day": [ids["total"]], "search": ids["caregivers"],
            "search_total": len(ids["caregivers"]), "caregiver": 200}


def test_browse_and_search_answer_from_the_replica(app, replica_db, worlds):
    url, _ = replica_db
    replicated = create_app("testing", _settings(app, READ_REPLICA_DATABASE_URL=url))
    assert _browse(replicated.test_client(), worlds["replica"]) == _expected(
        worlds["replica"], "副本")
    with app.app_context():  # (the same reads on the primary tell the other story)
        redis_client.conn.flushdb()
    plain = create_app("testing", _settings(app))
    assert _browse(plain.test_client(), worlds["primary"]) == _expected(worlds["primary"], "主库")
    ready = replicated.test_client().get("/healthz/ready")
    assert ready.status_code == 200 and ready.get_json()["checks"]["replica"] == "ok"
    with replicated.app_context():
        db.engines[replica.BIND].dispose()


def test_an_unreachable_replica_falls_back_to_the_primary(app, workdir, worlds):
    broken = create_app("testing", _settings(
        app, READ_REPLICA_DATABASE_URL=_unreachable_url(app, workdir)))
    client = broken.test_client()
    assert _browse(client, worlds["primary"]) == _expected(worlds["primary"], "主库")
    with broken.app_context():
        assert replica.is_down()  # checked once, then left alone for READ_REPLICA_RETRY_SECONDS
    # readiness names it but stays ready (reads have the primary); liveness does not care
    ready = client.get("/healthz/ready")
    assert ready.status_code == 200 and ready.get_json()["status"] == "degraded"
    assert ready.get_json()["failed"] == ["replica"]
    assert ready.get_json()["checks"] == {"database": "ok", "redis": "ok", "replica": "error"}
    assert client.get("/healthz/live").status_code == 200


def test_writes_go_to_the_primary_never_to_the_replica(app, replica_db, worlds, staff_factory):
    from app.hospitals import services

    url, builder = replica_db
    operator_id = staff_factory("operator")["id"]
    replicated = create_app("testing", _settings(app, READ_REPLICA_DATABASE_URL=url))
    with replicated.app_context():
        assert replica.reader() is not db.session  # reads here would come from the replica
        actor = db.session.get(StaffUser, operator_id)
        services.create_hospital(actor, data={**HOSPITAL, "code": "W-1", "name": "写入测试医院"})
        # and the replica's session refuses any write outright
        session = replica.reader()
        session.add(Hospital(code="W-2", name="不该写入", level="3A", province_code="110000",
                             city_code="110100", district_code="110101", is_active=True))
        with pytest.raises(replica.ReplicaReadOnly):
            session.flush()
        session.rollback()
        db.session.remove()

    def named(application, code):
        with application.app_context():
            found = db.session.scalar(select(func.count()).select_from(Hospital).where(
                Hospital.code == code))
            db.session.remove()
        return found

    assert named(app, "W-1") == 1 and named(builder, "W-1") == 0
    assert named(app, "W-2") == 0 and named(builder, "W-2") == 0
    # the list still answers from the replica, which (not really replicating) lacks it
    with app.app_context():
        redis_client.conn.flushdb()
    assert [item["name"] for item in replicated.test_client().get(
        "/api/v1/hospitals").get_json()["items"]] == ["副本医院"]
    with replicated.app_context():
        db.engines[replica.BIND].dispose()
