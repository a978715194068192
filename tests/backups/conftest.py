"""Backups: a database with real rows in many tables and an uploaded file, per-test backup
and restore places, and helpers that read every row of a database."""
import io
import tarfile

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.extensions import db
from tests.booking.conftest import book, catalogue, pay, verified  # noqa: F401
from tests.conftest import BACKEND, auth, login
from tests.files.test_files import PNG, upload


@pytest.fixture
def backup_dir(app, tmp_path):
    """BACKUP_DIR of this test (a fresh directory), restored afterwards."""
    previous = app.config.get("BACKUP_DIR")
    app.config["BACKUP_DIR"] = str(tmp_path / "backups")
    yield tmp_path / "backups"
    app.config["BACKUP_DIR"] = previous


@pytest.fixture
def cli(app, backup_dir):
    runner = app.test_cli_runner()

    def invoke(*args, input=None, env=None):
        return runner.invoke(args=["backup", *args], input=input, env=env)

    return invoke


def _restore_database_name(app) -> str:
    # CI's database is "test", a helper's "test_hN": the restore target is "<name>_restore"
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database + "_restore"


def _drop_mysql(url):
    server = create_engine(url._replace(database=None), poolclass=NullPool)
    with server.begin() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS `{url.database}`"))
    server.dispose()


@pytest.fixture
def restore_target(app, tmp_path):
    """A place to restore into: a SQLite file that does not exist yet, or (MariaDB) the
    database `<configured name>_restore`, dropped before and after. `create()` makes it exist
    empty (MariaDB; a restore creates a missing one itself)."""
    if BACKEND == "sqlite":
        url = make_url(f"sqlite:///{tmp_path / 'restored.db'}")
        yield {"url": url, "uploads": tmp_path / "restored-uploads", "create": lambda: None}
        return
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database=_restore_database_name(app))
    _drop_mysql(url)

    def create():
        server = create_engine(url._replace(database=None), poolclass=NullPool)
        with server.begin() as connection:
            connection.execute(text(f"CREATE DATABASE `{url.database}` CHARACTER SET utf8mb4 "
                                    "COLLATE utf8mb4_unicode_ci"))
        server.dispose()

    yield {"url": url, "uploads": tmp_path / "restored-uploads", "create": create}
    _drop_mysql(url)


def url_text(url) -> str:
    return url.render_as_string(hide_password=False)


def all_rows(url) -> dict:
    """Every table's rows (sorted), the way the database gives them back."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            quote = connection.dialect.identifier_preparer.quote
            return {name: sorted((tuple(row) for row in connection.execute(
                text(f"SELECT * FROM {quote(name)}"))), key=repr)
                for name in inspect(connection).get_table_names()}
    finally:
        engine.dispose()


def target_tables(url) -> list[str]:
    """The target's tables; [] when its database (or file) does not exist."""
    if url.get_backend_name() == "sqlite":
        from pathlib import Path
        if not Path(url.database).exists():
            return []
    else:
        server = create_engine(url._replace(database=None), poolclass=NullPool)
        with server.connect() as connection:
            exists = connection.execute(text(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :n"),
                {"n": url.database}).scalar_one()
        server.dispose()
        if not exists:
            return []
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return inspect(connection).get_table_names()
    finally:
        engine.dispose()


@pytest.fixture
def world(app, client, catalogue, verified, staff_factory):  # noqa: F811
    """Rows in many tables through the real paths: users and patients, a hospital with a
    department, doctor and schedules, a booked and paid registration (payment, notification),
    a pending one, staff, and an uploaded file with its bytes under UPLOAD_DIR."""
    schedule_id = catalogue["schedule"](total=5, fee_fen=3000)
    catalogue["schedule"](days_ahead=4, total=3, period="afternoon")
    first, second = verified(2)
    booked = book(client, first, schedule_id)
    assert booked.status_code == 201, booked.get_json()
    pay(app, booked.get_json())
    pending = book(client, second, schedule_id)
    assert pending.status_code == 201, pending.get_json()
    data = login(client, "wx-code-backup")
    uploader = {"id": data["user"]["id"], "headers": auth(data["token"])}
    uploaded = upload(client, uploader, PNG + b"backup-test")
    assert uploaded.status_code == 201, uploaded.get_json()
    staff_factory("admin", username="backup-admin")
    with app.app_context():
        from app.files.models import StoredFile
        record = db.session.get(StoredFile, uploaded.get_json()["id"])
        key = record.storage_key
        counts = {name: db.session.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
                  for name in ("users", "patients", "registrations", "payments", "stored_files",
                               "staff_users", "schedules")}
        db.session.remove()
    assert all(counts.values()), counts
    return {"file_key": key, "file_bytes": PNG + b"backup-test"}


def source_url(app):
    with app.app_context():
        return db.engine.url


def make_tar(path, members, *, gz=True):
    """A tar.gz at `path` from (name, bytes | None for a directory | ("symlink", target))."""
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if isinstance(data, tuple):
                info.type, info.linkname = tarfile.SYMTYPE, data[1]
                tar.addfile(info)
            elif data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def write_checksum(path):
    import hashlib
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
