"""Backup and restore on both backends: a backup restores every row and file into a fresh
database; every refusal (no confirmation, a non-empty target, a corrupt, foreign, tampered
or path-escaping archive, another dialect) changes nothing; retention keeps the right ones."""
import json
import os
import re
import stat
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.backups import services
from app.common.time import LOCAL_TZ
from tests.backups.conftest import (all_rows, make_tar, source_url, target_tables, url_text,
                                    write_checksum)
from tests.conftest import BACKEND

NAME = re.compile(r"created (backup-\d{8}T\d{6}Z-manual(?:-\d+)?\.tar\.gz)")


def create(cli) -> str:
    result = cli("create")
    assert result.exit_code == 0, result.output
    return NAME.search(result.output).group(1)


def restore(cli, name, target, *extra, input=None):
    return cli("restore", name, "--target-url", url_text(target["url"]),
               "--upload-dir", str(target["uploads"]), *extra, input=input)


def files_under(root: Path) -> dict:
    if not root.exists():
        return {}
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in root.rglob("*") if path.is_file()}


def assert_untouched(target):
    assert target_tables(target["url"]) == []
    assert files_under(target["uploads"]) == {}


def test_a_backup_restores_every_row_and_file_into_a_fresh_database(app, cli, world, backup_dir,
                                                                     restore_target):
    before = all_rows(source_url(app))
    name = create(cli)
    archive = backup_dir / name
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["format"] == services.FORMAT and manifest["app"] == services.APP_ID
    assert manifest["dialect"] == ("mysql" if BACKEND == "mariadb" else "sqlite")
    assert manifest["alembic_revision"] and manifest["row_counts"] == {
        table: len(rows) for table, rows in before.items()}
    assert f"uploads/{world['file_key']}" in manifest["files"]

    restore_target["create"]()  # MariaDB: an existing, empty database
    result = restore(cli, name, restore_target, "--yes")
    assert result.exit_code == 0, result.output
    assert "row counts checked" in result.output
    if BACKEND == "mariadb":  # CI installs the client (.ci/run); PyMySQL has its own test
        assert "via client" in result.output
    after = all_rows(restore_target["url"])
    assert set(after) == set(before)
    populated = [table for table, rows in before.items() if rows]
    assert len(populated) >= 10, populated  # users, patients, hospitals, registrations, ...
    for table in before:
        assert after[table] == before[table], table
    restored = files_under(restore_target["uploads"])
    assert restored[world["file_key"]] == world["file_bytes"]
    assert restored == files_under(Path(app.config["UPLOAD_DIR"]))  # every uploaded file
    assert all_rows(source_url(app)) == before  # the source is as it was


@pytest.mark.skipif(BACKEND != "mariadb", reason="the PyMySQL loader is MariaDB's fallback")
def test_mariadb_restore_without_the_client_goes_through_pymysql(app, world, ctx, backup_dir,
                                                                 restore_target):
    before = all_rows(source_url(app))
    name = services.create_backup()["name"]
    # the database does not exist yet: the restore creates it
    result = services.restore_backup(name, confirmed=True, target_url=url_text(restore_target["url"]),
                                     upload_dir=str(restore_target["uploads"]), loader="pymysql")
    assert result["loader"] == "pymysql"
    assert all_rows(restore_target["url"]) == before
    restored = files_under(restore_target["uploads"])
    assert restored[world["file_key"]] == world["file_bytes"]
    assert restored == files_under(Path(app.config["UPLOAD_DIR"]))  # every uploaded file


def test_restore_needs_confirmation(app, cli, world, restore_target):
    name = create(cli)
    for answer in (None, "yes\n", name + "x\n"):  # no answer, a wrong answer
        result = restore(cli, name, restore_target, input=answer)
        assert result.exit_code != 0, result.output
        assert_untouched(restore_target)
    refused = restore(cli, name, restore_target, input="no\n")
    assert "恢复需要确认" in refused.output
    typed = restore(cli, name, restore_target, input=name + "\n")
    assert typed.exit_code == 0, typed.output
    assert "users" in target_tables(restore_target["url"])


def test_restore_refuses_a_target_with_tables(app, cli, world, backup_dir, tmp_path):
    name = create(cli)
    before = all_rows(source_url(app))
    uploads = tmp_path / "empty-uploads"
    # the configured database (the one backed up) has tables
    result = cli("restore", name, "--yes", "--upload-dir", str(uploads))
    assert result.exit_code != 0 and "目标数据库不是空的" in result.output, result.output
    assert all_rows(source_url(app)) == before and not uploads.exists()


def test_restore_refuses_an_upload_directory_with_files(app, cli, world, restore_target):
    name = create(cli)
    restore_target["uploads"].mkdir()
    (restore_target["uploads"] / "kept.txt").write_bytes(b"mine")
    result = restore(cli, name, restore_target, "--yes")
    assert result.exit_code != 0 and "上传目录" in result.output, result.output
    assert target_tables(restore_target["url"]) == []
    assert files_under(restore_target["uploads"]) == {"kept.txt": b"mine"}


def test_tampered_or_unchecked_archives_are_refused(app, cli, world, backup_dir, restore_target):
    name = create(cli)
    archive = backup_dir / name
    original = archive.read_bytes()
    # one byte changed
    archive.write_bytes(original[:100] + bytes([original[100] ^ 1]) + original[101:])
    result = restore(cli, name, restore_target, "--yes")
    assert result.exit_code != 0 and "校验和不符" in result.output, result.output
    assert_untouched(restore_target)
    listed = cli("list")
    assert "CHECKSUM MISMATCH" in listed.output
    # the checksum file missing
    archive.write_bytes(original)
    checksum = archive.with_name(name + ".sha256")
    recorded = checksum.read_text()
    checksum.unlink()
    result = restore(cli, name, restore_target, "--yes")
    assert result.exit_code != 0 and "缺少备份的校验文件" in result.output, result.output
    assert_untouched(restore_target)
    # a checksum file that is not one
    checksum.write_text("not a checksum\n")
    result = restore(cli, name, restore_target, "--yes")
    assert result.exit_code != 0 and "校验和不符" in result.output, result.output
    checksum.write_text(recorded)
    assert "verified" in cli("list").output


def test_a_corrupt_archive_is_refused(app, cli, world, backup_dir, restore_target):
    name = create(cli)
    archive = backup_dir / name
    data = archive.read_bytes()
    for broken in (data[: len(data) // 2], b"\x1f\x8b" + os.urandom(2000), b""):
        archive.write_bytes(broken)
        write_checksum(archive)  # the checksum matches: the archive itself is broken
        result = restore(cli, name, restore_target, "--yes")
        assert result.exit_code != 0, result.output
        assert "已损坏" in result.output, result.output
        assert_untouched(restore_target)


def _manifest(**changes):
    body = {"format": services.FORMAT, "format_version": 1, "app": services.APP_ID,
            "dialect": "sqlite" if BACKEND == "sqlite" else "mysql",
            "database_member": "database/app.sqlite3", "row_counts": {},
            "files": {}}
    body.update(changes)
    return json.dumps(body).encode()


def test_a_foreign_archive_is_refused(app, cli, backup_dir, restore_target):
    backup_dir.mkdir(parents=True, exist_ok=True)
    cases = {
        "no manifest": [("etc/passwd", b"root:x:0:0")],
        "another app": [("manifest.json", _manifest(app="someone-else"))],
        "not json": [("manifest.json", b"<xml/>")],
        "an unknown member": [("manifest.json", _manifest()), ("notes.txt", b"hello")],
    }
    for index, (case, members) in enumerate(cases.items()):
        name = f"backup-20260101T00000{index}Z-manual.tar.gz"
        make_tar(backup_dir / name, members)
        write_checksum(backup_dir / name)
        result = restore(cli, name, restore_target, "--yes")
        assert result.exit_code != 0 and "不是本系统生成的备份" in result.output, (case, result.output)
        assert_untouched(restore_target)
    # a plain file that is no tar at all, under a path (not a name in BACKUP_DIR)
    other = backup_dir.parent / "notes.tar.gz"
    other.write_bytes(b"just text")
    write_checksum(other)
    result = restore(cli, str(other), restore_target, "--yes")
    assert result.exit_code != 0 and "已损坏" in result.output, result.output
    assert_untouched(restore_target)


def test_members_escaping_the_target_are_refused_and_never_written(app, cli, backup_dir,
                                                                  restore_target, tmp_path):
    backup_dir.mkdir(parents=True, exist_ok=True)
    escape = tmp_path / "escaped.txt"
    cases = [
        [("manifest.json", _manifest()), ("uploads/../../escaped.txt", b"owned")],
        [("manifest.json", _manifest()), ("../escaped.txt", b"owned")],
        [("manifest.json", _manifest()), (str(escape), b"owned")],
        [("manifest.json", _manifest()), ("uploads/link", ("symlink", str(escape)))],
        [("uploads/ab/../../../escaped.txt", b"owned"), ("manifest.json", _manifest())],
    ]
    for index, members in enumerate(cases):
        name = f"backup-20260102T00000{index}Z-manual.tar.gz"
        make_tar(backup_dir / name, members)
        write_checksum(backup_dir / name)
        result = restore(cli, name, restore_target, "--yes")
        assert result.exit_code != 0 and "不安全的路径" in result.output, (members, result.output)
        assert not escape.exists() and not escape.is_symlink()
        assert_untouched(restore_target)
    # nothing was left behind in the backup directory either
    assert not [path for path in backup_dir.iterdir() if path.name.startswith(".")]


def test_a_backup_of_another_dialect_is_refused(app, cli, world, backup_dir, tmp_path):
    name = create(cli)
    if BACKEND == "sqlite":
        other = "mysql+pymysql://nobody@127.0.0.1:1/never_touched"  # refused before connecting
    else:
        other = f"sqlite:///{tmp_path / 'other.db'}"
    result = cli("restore", name, "--yes", "--target-url", other,
                 "--upload-dir", str(tmp_path / "u"))
    assert result.exit_code != 0 and "不能恢复到" in result.output, result.output
    assert not (tmp_path / "other.db").exists() and not (tmp_path / "u").exists()


def test_the_target_url_can_come_from_the_environment(app, cli, world, restore_target):
    name = create(cli)
    result = cli("restore", name, "--yes", "--upload-dir", str(restore_target["uploads"]),
                 env={"BACKUP_RESTORE_TARGET_URL": url_text(restore_target["url"])})
    assert result.exit_code == 0, result.output
    assert "users" in target_tables(restore_target["url"])


def test_list_shows_names_times_sizes_and_verification(app, cli, world, backup_dir):
    assert "no backups" in cli("list").output
    first, second = create(cli), None
    # a second backup in the same second gets its own name
    second = create(cli)
    assert first != second
    output = cli("list").output.splitlines()
    assert [line.split()[0] for line in output] == sorted([first, second], reverse=True)
    for line in output:
        name = line.split()[0]
        size = (backup_dir / name).stat().st_size
        assert f"{size} bytes" in line and line.endswith("verified")
        stamp = datetime.strptime(name.split("-")[1], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=timezone.utc).astimezone(LOCAL_TZ)
        assert stamp.strftime("%Y-%m-%d %H:%M:%S") in line


def _days_ago(days, hour=3):
    """Naive UTC of `hour`:30 Shanghai time, `days` local days ago (retention counts local
    days)."""
    local = datetime.now(LOCAL_TZ).replace(hour=hour, minute=30, second=0, microsecond=0)
    return (local - timedelta(days=days)).astimezone(timezone.utc).replace(tzinfo=None)


def test_retention_keeps_the_backups_of_the_most_recent_days(app, ctx, backup_dir):
    made = {}
    # two on local day 9 (01:30 and 23:30 Shanghai: different UTC days, one local day)
    for label, days, hour in (("d10", 10, 3), ("d9a", 9, 1), ("d9b", 9, 23), ("d3", 3, 3),
                              ("d1", 1, 3), ("d0", 0, 0)):
        made[label] = services.create_backup(trigger="nightly", now=_days_ago(days, hour))["name"]
    (backup_dir / "unrelated.txt").write_text("not ours")
    deleted = services.apply_retention(keep_days=3)
    assert sorted(deleted) == sorted([made["d10"], made["d9a"], made["d9b"]])
    left = sorted(path.name for path in backup_dir.iterdir())
    expected = sorted([made["d3"], made["d1"], made["d0"]])
    assert left == sorted(expected + [name + ".sha256" for name in expected] + ["unrelated.txt"])
    assert services.apply_retention(keep_days=3) == []  # idempotent
    assert [item["name"] for item in services.list_backups()] == sorted(expected, reverse=True)


def test_the_nightly_job_makes_one_backup_a_day_and_applies_retention(app, ctx, backup_dir):
    from app.extensions import jobs
    from app.tasks.backups import nightly_backup, write_backup

    app.config["BACKUP_KEEP_DAYS"] = 2
    try:
        old = [services.create_backup(trigger="nightly", now=_days_ago(days))["name"]
               for days in (5, 4, 3)]
        first = nightly_backup()
        again = nightly_backup()  # before the writing job ran: the same name
        assert first["queued"] and again["queued"] == first["queued"]
        queued = jobs.queue("default").jobs
        assert [(job.func_name, job.args) for job in queued] == [
            (write_backup.job_name, [first["queued"]])] * 2
        assert all(job.timeout == app.config["BACKUP_JOB_TIMEOUT_SECONDS"] for job in queued)
        written = write_backup(first["queued"])
        assert written["created"] == first["queued"]
        assert sorted(written["deleted"]) == sorted(old[:2])
        assert write_backup(first["queued"]) == {"created": None, "deleted": []}
        assert nightly_backup() == {"queued": None, "existing": [first["queued"]]}
        assert sorted(item["name"] for item in services.list_backups()) == sorted(
            [old[2], first["queued"]])
    finally:
        app.config["BACKUP_KEEP_DAYS"] = 7


def test_prune_from_the_command_line(app, cli, ctx, backup_dir):
    for days in (3, 2, 1):
        services.create_backup(now=_days_ago(days))
    result = cli("prune", "--keep-days", "1")
    assert result.exit_code == 0 and "2 backups deleted" in result.output, result.output
    assert len(services.list_backups()) == 1


def test_the_client_credentials_file_is_private_and_removed(app):
    from sqlalchemy.engine import make_url

    url = make_url('mysql+pymysql://u%22ser:p%40ss%22w%5Cord@db.example:3307/shop')
    with services._client_defaults(url) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        body = Path(path).read_text()
    assert not os.path.exists(path)
    assert 'user="u\\"ser"' in body and 'password="p@ss\\"w\\\\ord"' in body
    assert 'host="db.example"' in body and "port=3307" in body


def test_an_archive_that_disagrees_with_its_manifest_is_refused(app, cli, world, backup_dir,
                                                                restore_target):
    name = create(cli)
    archive = backup_dir / name
    with tarfile.open(archive) as tar:
        members = [(member.name, tar.extractfile(member).read()) for member in tar]
    repacked = {
        "an extra file": members + [("uploads/extra.bin", b"smuggled")],
        "a changed file": [(member, data + b"x" if member.startswith("uploads/") else data)
                           for member, data in members],
        "a missing file": [(member, data) for member, data in members
                           if not member.startswith("uploads/")],
    }
    for case, contents in repacked.items():
        make_tar(archive, contents)
        write_checksum(archive)
        result = restore(cli, name, restore_target, "--yes")
        assert result.exit_code != 0 and "与其清单不符" in result.output, (case, result.output)
        assert_untouched(restore_target)
