"""A database dump of an account with patients holds no plaintext ID number or phone."""
import shutil
import sqlite3
import subprocess

from sqlalchemy.engine import make_url

from app.extensions import db
from tests.conftest import ID_ALICE, ID_MOTHER
from tests.files.test_files import PNG, upload
from tests.patients.test_patients import MOTHER

SECRETS = [ID_MOTHER, "13912345678", "13700001111", "MC-2026-001", "术后康复", ID_ALICE,
           "13812345678"]


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


def test_dump_holds_no_plaintext_personal_data(client, app, alice, staff_factory):
    assert client.post("/api/v1/patients", json=MOTHER, headers=alice["headers"]).status_code == 201
    assert client.post("/api/v1/auth/phone", json={"code": "phone:13812345678"},
                       headers=alice["headers"]).status_code == 200
    photo = upload(client, alice, PNG).get_json()["id"]
    assert client.post("/api/v1/me/real-name", headers=alice["headers"], json={
        "name": "王小明", "id_type": "resident_id", "id_number": ID_ALICE,
        "id_photo_file_id": photo}).status_code == 201
    with app.app_context():
        db.session.remove()
    dump = dump_database(app)
    assert "INSERT INTO" in dump and "patients" in dump  # the dump really has the rows
    assert "市第一人民医院" in dump  # non-sensitive text is stored as is (the check is sound)
    for secret in SECRETS:
        assert secret not in dump, f"plaintext {secret!r} found in the dump"
    # and the API still reads it back for the owner
    patients = client.get("/api/v1/patients", headers=alice["headers"]).get_json()["items"]
    edit = client.get(f"/api/v1/patients/{patients[0]['id']}/edit", headers=alice["headers"])
    assert edit.get_json()["id_number"] == ID_MOTHER


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
