"""A database dump of an account with patients and a registration holds no plaintext personal
data: ID numbers, phones, and names (patients, contacts, the copy on a registration, the
real name)."""
import shutil
import sqlite3
import subprocess

from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.extensions import db
from tests.booking.conftest import book, catalogue, pay  # noqa: F401  (catalogue: a fixture)
from tests.care_orders.conftest import care_world  # noqa: F401  (a fixture)
from tests.conftest import ID_ALICE, ID_MOTHER
from tests.files.test_files import PNG, upload
from tests.patients.test_patients import MOTHER

NAMES = [MOTHER["name"], MOTHER["contact_name"], "王小明"]
SECRETS = [ID_MOTHER, "13912345678", "13700001111", "MC-2026-001", "术后康复", ID_ALICE,
           "13812345678", *NAMES]


def dump_database(app) -> str:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        connection = sqlite3.connect(url.database)
        try:
            return "\n".join(connection.iterdump())
        finally:
            connection.close()
    dump = shutil.which("mariadb-dump") or shutil.which("mysqldump")
    assert dump, "mariadb-dump/mysqldump is needed to check the MariaDB dump"
    command = [dump, "-h", url.host or "127.0.0.1", "-P", str(url.port or 3306),
               "-u", url.username or "root", "--skip-extended-insert", url.database]
    if url.password:
        command.insert(1, f"-p{url.password}")
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def fill_account(client, app, alice, staff_factory, catalogue):
    """Alice: a phone, a verified real name, the MOTHER patient and a paid registration."""
    created = client.post("/api/v1/patients", json=MOTHER, headers=alice["headers"])
    assert created.status_code == 201
    assert client.post("/api/v1/auth/phone", json={"code": "phone:13812345678"},
                       headers=alice["headers"]).status_code == 200
    photo = upload(client, alice, PNG).get_json()["id"]
    submitted = client.post("/api/v1/me/real-name", headers=alice["headers"], json={
        "name": "王小明", "id_type": "resident_id", "id_number": ID_ALICE,
        "id_photo_file_id": photo})
    assert submitted.status_code == 201
    reviewer = staff_factory("reviewer")
    assert client.post(f"/api/v1/staff/real-name-reviews/{submitted.get_json()['id']}/decision",
                       json={"approve": True}, headers=reviewer["headers"]).status_code == 200
    booked = book(client, alice, catalogue["schedule"](), created.get_json()["id"])
    assert booked.status_code == 201, booked.get_json()
    pay(app, booked.get_json())
    with app.app_context():
        db.session.remove()
    return created.get_json()["id"], booked.get_json()


def test_dump_holds_no_plaintext_personal_data(client, app, alice, staff_factory, catalogue):
    patient_id, _ = fill_account(client, app, alice, staff_factory, catalogue)
    dump = dump_database(app)
    assert "INSERT INTO" in dump and "patients" in dump  # the dump really has the rows
    assert "registrations" in dump and "测试第一人民医院" in dump
    assert "市第一人民医院" in dump  # non-sensitive text is stored as is (the check is sound)
    for secret in SECRETS:
        assert secret not in dump, f"plaintext {secret!r} found in the dump"
    # and the API still reads it back for the owner
    edit = client.get(f"/api/v1/patients/{patient_id}/edit", headers=alice["headers"]).get_json()
    assert (edit["id_number"], edit["name"], edit["contact_name"]) == (
        ID_MOTHER, MOTHER["name"], MOTHER["contact_name"])
    registrations = client.get("/api/v1/registrations", headers=alice["headers"]).get_json()
    assert registrations["items"][0]["status"] == "booked"
    assert registrations["items"][0]["patient_name"] in (MOTHER["name"], "王*")


def test_the_migration_encrypts_existing_plaintext_names(client, app, alice, staff_factory,
                                                        catalogue):
    """Rows written before the migration hold plaintext names; after it, ciphertext that the
    models read back. The downgrade restores the plaintext (run on both backends)."""
    from flask_migrate import downgrade, upgrade

    patient_id, booked = fill_account(client, app, alice, staff_factory, catalogue)
    columns = [("patients", "name", MOTHER["name"]),
               ("patients", "contact_name", MOTHER["contact_name"]),
               ("registrations", "patient_name", MOTHER["name"])]

    def stored(column_suffix=""):
        with db.engine.connect() as connection:
            return [connection.execute(text(f"SELECT {column}{column_suffix} FROM {table}"))
                    .scalar_one() for table, column, _ in columns]

    with app.app_context():
        try:
            downgrade(revision="d1a0c0e5f001")
            assert stored() == [plain for _, _, plain in columns]  # the old plaintext layout
            upgrade()
            ciphertexts = stored("_encrypted")
        finally:
            upgrade()  # the rest of the suite needs the head schema whatever happened
            db.session.remove()
    for ciphertext, (_, _, plain) in zip(ciphertexts, columns):
        assert ciphertext.startswith("v1:") and plain not in ciphertext
    edit = client.get(f"/api/v1/patients/{patient_id}/edit", headers=alice["headers"]).get_json()
    assert (edit["name"], edit["contact_name"]) == (MOTHER["name"], MOTHER["contact_name"])
    for secret in NAMES:
        assert secret not in dump_database(app)


def test_ciphertexts_differ_for_equal_values_but_blind_index_matches(app):
    from app.common.crypto import cipher

    with app.app_context():
        first, second = cipher().encrypt(ID_MOTHER), cipher().encrypt(ID_MOTHER)
        assert first != second
        assert cipher().decrypt(first) == cipher().decrypt(second) == ID_MOTHER
        assert cipher().blind_index(ID_MOTHER, "id:resident_id") == \
            cipher().blind_index(ID_MOTHER.lower(), "id:resident_id")
        assert cipher().blind_index(ID_MOTHER, "id:resident_id") != \
            cipher().blind_index(ID_MOTHER, "id:passport")


def test_a_tampered_ciphertext_is_refused(app):
    import pytest
    from cryptography.exceptions import InvalidTag

    from app.common.crypto import cipher

    with app.app_context():
        token = cipher().encrypt("13912345678")
        version, _, payload = token.partition(":")
        flipped = payload[:-4] + ("AAAA" if payload[-4:] != "AAAA" else "BBBB")
        with pytest.raises((InvalidTag, ValueError)):
            cipher().decrypt(f"{version}:{flipped}")


def test_caregiver_dump_holds_no_plaintext_personal_data(client, app, alice, staff_factory):
    """A caregiver's name, phone, ID card number and the name waiting in a revision are
    ciphertext in the dump; the API still answers them to their owner."""
    from tests.caregivers.conftest import FULL_PROFILE, add_hospital, bind_phone
    from tests.qualifications.helpers import ID_CARD, create, decide, health_body, id_card_body

    bind_phone(app, alice["id"], "13655556666")
    hospital = add_hospital(app)
    photo = upload(client, alice, PNG).get_json()["id"]
    profile = {**FULL_PROFILE, "name": "欧阳秀梅", "hospital_ids": [hospital],
               "photo_file_id": photo}
    assert client.post("/api/v1/caregiver/me", json=profile,
                       headers=alice["headers"]).status_code == 201
    assert client.put("/api/v1/caregiver/me/prices", headers=alice["headers"], json={
        "prices": [{"care_type": "full_day", "price_fen": 30000}]}).status_code == 200
    reviewer = staff_factory("reviewer")
    for body in (id_card_body(client, alice), health_body(client, alice)):
        decide(client, reviewer, create(client, alice, body)["id"], approve=True)
    assert client.post("/api/v1/caregiver/me/submit",
                       headers=alice["headers"]).status_code == 200
    caregiver_id = client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()["id"]
    assert client.post(f"/api/v1/staff/caregivers/{caregiver_id}/decision",
                       json={"approve": True}, headers=reviewer["headers"]).status_code == 200
    assert client.patch("/api/v1/caregiver/me", json={"name": "欧阳春花"},
                        headers=alice["headers"]).status_code == 200  # waits in a revision
    me = client.get("/api/v1/caregiver/me", headers=alice["headers"]).get_json()
    assert (me["name"], me["phone"]) == ("欧阳秀梅", "13655556666")
    assert me["pending_revision"]["changes"]["name"] == "欧阳春花"
    dump = dump_database(app)
    for secret in ("欧阳秀梅", "欧阳春花", "13655556666", ID_CARD, "JK-2026-0001"):
        assert secret not in dump, secret


def test_care_order_dump_holds_no_plaintext_personal_data(client, app, care_world):
    """The patient's name copied onto a care order, the bed, the address, the medical needs
    and the caregiver's service records are ciphertext in the dump; the family reads them."""
    from datetime import timedelta

    from app.common.time import utcnow
    from tests.care_orders.conftest import (API, CAREGIVER_API, book, order_body, pay,
                                            set_order)

    caregiver = care_world["caregiver"]()
    family = care_world["family"](name="诸葛晓云")
    # both subscribed, so every step also leaves a WeChat push (its values are stored too)
    for person, template_id in ((family, "TMPL_CARE_ORDER_STATUS"),
                                (caregiver, "TMPL_CARE_NEW_ORDER")):
        assert client.post("/api/v1/subscriptions", headers=person["headers"], json={
            "results": [{"template_id": template_id, "result": "accept"}]}).status_code == 200
    body = order_body(care_world, family, caregiver, bed="ICU-17床", needs="胰腺癌术后引流管护理",
                      hospital_id=None, address="上海路88弄7号1201室", city_code="110100")
    created = book(client, family, body)
    assert created.status_code == 201, created.get_json()
    order_id = created.get_json()["order"]["id"]
    pay(app, created.get_json())
    assert client.post(f"{CAREGIVER_API}/{order_id}/accept",
                       headers=caregiver["headers"]).status_code == 200
    set_order(app, order_id, start_at=utcnow() + timedelta(minutes=5))
    assert client.post(f"{CAREGIVER_API}/{order_id}/start", json={},
                       headers=caregiver["headers"]).status_code == 200
    assert client.post(f"{CAREGIVER_API}/{order_id}/records", headers=caregiver["headers"],
                       json={"condition": "夜间血氧偏低九十一",
                             "care_given": "协助吸痰三次"}).status_code == 201
    detail = client.get(f"{API}/{order_id}", headers=family["headers"]).get_json()
    assert (detail["patient_name"], detail["needs"], detail["address"]) == (
        "诸葛晓云", "胰腺癌术后引流管护理", "上海路88弄7号1201室")
    dump = dump_database(app)
    assert "TMPL_CARE_ORDER_STATUS" in dump and "TMPL_CARE_NEW_ORDER" in dump  # pushes are there
    for secret in ("诸葛晓云", "ICU-17床", "胰腺癌术后引流管护理", "上海路88弄7号1201室",
                   "夜间血氧偏低九十一", "协助吸痰三次"):
        assert secret not in dump, secret
