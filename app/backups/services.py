"""Backup and restore.

A backup is one gzip'd tar in BACKUP_DIR, `backup-<UTC time>-<trigger>[-n].tar.gz`, with the
SHA-256 of the whole archive next to it in `<name>.sha256` (the `sha256sum -c` format):

    database/dump.sql        MariaDB/MySQL: mariadb-dump --single-transaction (one snapshot)
    database/app.sqlite3     SQLite: a copy through SQLite's online backup API
    uploads/<key>            every file under UPLOAD_DIR
    manifest.json            format and version, app, created_at, dialect, alembic revision,
                             sha256 and size of every member, row counts per table

Row counts come from the snapshot itself (the SQLite copy, the dump's INSERTs), never from the
live database a moment later, so a restore can prove it loaded every row.

Both the archive and its checksum appear atomically (written under a temporary name, then
hard-linked to the final one, which also refuses to overwrite a backup of the same name).

A restore checks everything before it changes anything: the checksum, that every member is a
plain file or directory under an allowed prefix (no absolute paths, `..`, links or devices),
the manifest and every member's hash, the dialect, and that the target database has no tables
and the target upload directory no files. Only then does it load the database (the `mariadb`
client, or the dump's statements through PyMySQL when no client is installed; for SQLite the
backed-up file is copied into place) and move the uploads in.
"""
import hashlib
import json
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath

from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from app.common.time import to_local, utcnow
from app.errors import AppError, NotFound

log = logging.getLogger("app.backups")

FORMAT = "medapp-backup"
FORMAT_VERSION = 1
APP_ID = "wechat-medical-appointment-platform"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "database/app.sqlite3"
DUMP_MEMBER = "database/dump.sql"
UPLOADS = "uploads"
DATABASE_MEMBERS = {"sqlite": SQLITE_MEMBER, "mysql": DUMP_MEMBER}
TRIGGERS = ("nightly", "manual", "console")
NAME_RE = re.compile(r"^backup-(\d{8}T\d{6}Z)-(nightly|manual|console)(?:-(\d{1,4}))?\.tar\.gz$")
STAMP = "%Y%m%dT%H%M%SZ"
CHUNK = 1024 * 1024
# partial files of a creation or restore that died are removed after this long
STALE_AFTER = timedelta(hours=24)
DUMP_TRAILER = b"-- Dump completed"


# ---- errors (Chinese for the operator; stable codes) -------------------------------------

class BackupError(AppError):
    status = 400
    code = "backup_error"
    message = "备份操作失败"


class BackupNotFound(NotFound):
    code = "backup_not_found"
    message = "找不到该备份"


class BackupNameInvalid(BackupError):
    code = "backup_name_invalid"
    message = "备份名称不合法"


class BackupExists(BackupError):
    status = 409
    code = "backup_exists"
    message = "同名备份已存在"


class ChecksumMissing(BackupError):
    code = "backup_checksum_missing"
    message = "缺少备份的校验文件(.sha256),无法确认备份完整,已拒绝恢复"


class ChecksumMismatch(BackupError):
    code = "backup_checksum_mismatch"
    message = "备份文件的校验和不符:文件已损坏或被改动,已拒绝恢复"


class BackupCorrupt(BackupError):
    code = "backup_corrupt"
    message = "备份文件已损坏,无法读取,已拒绝恢复"


class BackupForeign(BackupError):
    code = "backup_foreign"
    message = "这不是本系统生成的备份(缺少或不认识其清单),已拒绝恢复"


class BackupTooNew(BackupError):
    code = "backup_format_unsupported"
    message = "备份格式版本比本程序新,请用生成它的版本恢复"


class BackupUnsafePath(BackupError):
    code = "backup_unsafe_path"
    message = "备份中含有不安全的路径(绝对路径、../、链接或设备文件),已拒绝恢复"


class DialectMismatch(BackupError):
    code = "backup_dialect_mismatch"
    message = "备份与目标数据库的类型不同,无法恢复"


class RestoreNotConfirmed(BackupError):
    code = "restore_not_confirmed"
    message = "恢复需要确认:请加 --yes,或按提示输入备份名称"


class TargetNotEmpty(BackupError):
    status = 409
    code = "restore_target_not_empty"
    message = "目标数据库不是空的,恢复只能写入没有任何表的空数据库"


class UploadsNotEmpty(BackupError):
    status = 409
    code = "restore_uploads_not_empty"
    message = "目标上传目录中已有文件,恢复只能写入空目录"


class UnsupportedDatabase(BackupError):
    code = "backup_database_unsupported"
    message = "只支持 MariaDB/MySQL 与 SQLite 文件数据库"


class BackupToolMissing(BackupError):
    status = 500
    code = "backup_tool_missing"
    message = "找不到 mariadb-dump 或 mysqldump,无法备份 MariaDB/MySQL(请安装 mariadb-client)"


class BackupFailed(BackupError):
    status = 500
    code = "backup_failed"
    message = "备份失败"


class RestoreFailed(BackupError):
    status = 500
    code = "restore_failed"
    message = "恢复失败"


# ---- names and the directory ---------------------------------------------------------------

@dataclass(frozen=True)
class BackupFile:
    name: str
    path: Path
    created_at: datetime  # aware, UTC
    trigger: str
    size: int
    has_checksum: bool

    @property
    def checksum_path(self) -> Path:
        return checksum_path(self.path)


def backup_dir() -> Path:
    configured = current_app.config.get("BACKUP_DIR")
    path = Path(configured) if configured else Path(current_app.config["INSTANCE_DIR"]) / "backups"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)  # dumps hold every row: owner only
    return path


def checksum_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


def backup_name(trigger: str, when: datetime, index: int = 1) -> str:
    if trigger not in TRIGGERS:
        raise BackupNameInvalid()
    when = when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
    suffix = f"-{index}" if index > 1 else ""
    return f"backup-{when.strftime(STAMP)}-{trigger}{suffix}.tar.gz"


def free_backup_name(trigger: str, when: datetime) -> str:
    """The first name for `when` that no archive (or checksum) in BACKUP_DIR has yet."""
    directory = backup_dir()
    for index in range(1, 10000):
        name = backup_name(trigger, when, index)
        if not (directory / name).exists() and not checksum_path(directory / name).exists():
            return name
    raise BackupExists()


def _parse(path: Path) -> BackupFile | None:
    match = NAME_RE.match(path.name)
    if not match:
        return None
    try:
        size = path.stat().st_size
    except FileNotFoundError:  # deleted meanwhile (retention in another process)
        return None
    created = datetime.strptime(match.group(1), STAMP).replace(tzinfo=timezone.utc)
    return BackupFile(name=path.name, path=path, created_at=created, trigger=match.group(2),
                      size=size, has_checksum=checksum_path(path).is_file())


def _scan() -> list[BackupFile]:
    """The backups in BACKUP_DIR, newest first."""
    found = [entry for entry in map(_parse, backup_dir().iterdir()) if entry is not None]
    return sorted(found, key=lambda entry: (entry.created_at, entry.name), reverse=True)


def list_backups(*, verify: bool = False) -> list[dict]:
    """Newest first: name, created_at, trigger, size, has_checksum, and with `verify` whether
    the archive's SHA-256 equals its checksum file (None: not checked)."""
    items = []
    for entry in _scan():
        verified = None
        if verify:
            verified = entry.has_checksum and _recorded_checksum(entry.path) == _sha256_file(entry.path)
        items.append({"name": entry.name, "created_at": entry.created_at, "trigger": entry.trigger,
                      "size": entry.size, "has_checksum": entry.has_checksum,
                      "verified": verified})
    return items


def _locate(name_or_path: str) -> Path:
    """A backup by its name in BACKUP_DIR, or by a path to an archive (one copied from another
    machine, its .sha256 beside it)."""
    candidate = (name_or_path or "").strip()
    if not candidate or "\x00" in candidate:
        raise BackupNotFound()
    if "/" not in candidate and os.sep not in candidate:
        path = backup_dir() / candidate
    else:
        path = Path(candidate).expanduser()
    if not path.is_file():
        raise BackupNotFound(f"找不到备份 {candidate}")
    return path


# ---- hashing -----------------------------------------------------------------------------------

def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _recorded_checksum(archive: Path) -> str | None:
    try:
        line = checksum_path(archive).read_text(encoding="ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    value = line.split()[0].lower() if line else ""
    return value if re.fullmatch(r"[0-9a-f]{64}", value) else ""


class _HashingReader:
    """A file object for tarfile.addfile that hashes what tarfile reads."""

    def __init__(self, handle):
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


# ---- create -------------------------------------------------------------------------------------

def create_backup(*, trigger: str = "manual", name: str | None = None,
                  now: datetime | None = None) -> dict:
    """Write one backup of the configured database and UPLOAD_DIR into BACKUP_DIR. `name`
    (a name from backup_name) makes it idempotent for a job: that name existing already is
    BackupExists. Returns the backup's list entry plus its manifest."""
    now = now or utcnow()
    directory = backup_dir()
    if name is None:
        name = free_backup_name(trigger, now)
    match = NAME_RE.match(name)
    if not match:
        raise BackupNameInvalid()
    if (directory / name).exists():
        raise BackupExists()
    created_at = datetime.strptime(match.group(1), STAMP).replace(tzinfo=timezone.utc)
    from app.extensions import db

    url = db.engine.url
    dialect = db.engine.dialect.name
    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=directory) as staging:
        staging = Path(staging)
        if dialect == "sqlite":
            database_member = SQLITE_MEMBER
            database_file = staging / "app.sqlite3"
            _sqlite_snapshot(url, database_file)
            row_counts, revision = _sqlite_contents(database_file)
        elif dialect in ("mysql", "mariadb"):
            dialect = "mysql"
            database_member = DUMP_MEMBER
            database_file = staging / "dump.sql"
            _mysql_dump(url, database_file)
            row_counts, revision = _dump_contents(database_file)
        else:
            raise UnsupportedDatabase()

        archive_tmp = staging / "archive.part"
        files: dict[str, dict] = {}
        with open(os.open(archive_tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT,
                              compresslevel=6) as tar:
                files[database_member] = _add_file(tar, database_member, database_file)
                for relative, path in _upload_files():
                    member = f"{UPLOADS}/{relative}"
                    try:
                        files[member] = _add_file(tar, member, path)
                    except FileNotFoundError:  # deleted while we walked: not part of it
                        continue
                manifest = {
                    "format": FORMAT, "format_version": FORMAT_VERSION, "app": APP_ID,
                    "name": name, "trigger": match.group(2),
                    "created_at": created_at.isoformat(), "dialect": dialect,
                    "database_member": database_member, "alembic_revision": revision,
                    "row_counts": row_counts, "files": files,
                }
                _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2,
                                                     sort_keys=True).encode("utf-8"))
            raw.flush()
            os.fsync(raw.fileno())
        digest = _sha256_file(archive_tmp)
        sum_tmp = staging / "archive.sha256"
        sum_tmp.write_text(f"{digest}  {name}\n", encoding="ascii")
        # hard links: atomic, and they never replace an existing backup of the same name
        final = directory / name
        try:
            os.link(sum_tmp, checksum_path(final))
        except FileExistsError:
            raise BackupExists() from None
        try:
            os.link(archive_tmp, final)
        except OSError as exc:
            checksum_path(final).unlink(missing_ok=True)  # ours: it was not there before
            if isinstance(exc, FileExistsError):
                raise BackupExists() from None
            raise
        _fsync_dir(directory)
    seconds = (datetime.now(timezone.utc) - started).total_seconds()
    log.info("backup %s created: %s bytes, %s files, %s rows in %.1f s", name,
             final.stat().st_size, len(files), sum(row_counts.values()), seconds)
    entry = _parse(final)
    return {"name": name, "created_at": entry.created_at, "trigger": entry.trigger,
            "size": entry.size, "sha256": digest, "seconds": seconds, "manifest": manifest}


def _fsync_dir(directory: Path):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _add_file(tar: tarfile.TarFile, member: str, path: Path) -> dict:
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = stat.st_size, int(stat.st_mtime), 0o600
        reader = _HashingReader(handle)
        tar.addfile(info, reader)
    return {"sha256": reader.digest.hexdigest(), "size": reader.size}


def _add_bytes(tar: tarfile.TarFile, member: str, data: bytes):
    import io

    info = tarfile.TarInfo(member)
    info.size, info.mtime, info.mode = len(data), int(datetime.now(timezone.utc).timestamp()), 0o600
    tar.addfile(info, io.BytesIO(data))


def _upload_files():
    """(relative posix path, path) of every regular file under UPLOAD_DIR; links are skipped
    (an upload is never one, and following one could leave the directory)."""
    root = Path(current_app.config["UPLOAD_DIR"])
    if not root.is_dir():
        return
    own = backup_dir().resolve()  # never the backups themselves, should they live in there
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(name for name in dirs if (Path(folder) / name).resolve() != own)
        for file_name in sorted(names):
            path = Path(folder) / file_name
            if path.is_symlink() or not path.is_file():
                continue
            yield path.relative_to(root).as_posix(), path


def _sqlite_path(url) -> Path:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise UnsupportedDatabase("只支持 SQLite 文件数据库(不支持内存数据库)")
    return Path(database)


def _sqlite_snapshot(url, target: Path):
    """A consistent copy through SQLite's online backup API (writers may go on meanwhile)."""
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupFailed(f"备份失败:找不到数据库文件 {source_path}")
    source = sqlite3.connect(source_path, timeout=30)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupFailed(f"备份失败:{exc}") from exc
    finally:
        source.close()


def _sqlite_tables(connection) -> list[str]:
    return [row[0] for row in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]


def _sqlite_contents(path: Path) -> tuple[dict, str | None]:
    connection = sqlite3.connect(path)
    try:
        tables = _sqlite_tables(connection)
        counts = {table: connection.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]
                  for table in tables}
        revision = None
        if "alembic_version" in tables:
            row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            revision = row[0] if row else None
    finally:
        connection.close()
    return counts, revision


# ---- MariaDB / MySQL ---------------------------------------------------------------------------

def _option_value(value) -> str:
    text_value = str(value)
    if any(char in text_value for char in "\n\r\x00"):
        raise BackupError("数据库连接参数中含有换行或空字符,无法写入客户端配置文件")
    return '"' + text_value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@contextmanager
def _client_defaults(url):
    """A [client] option file (mode 0600, deleted afterwards) with the connection's user,
    password, host and port: the password never appears on a command line `ps` shows."""
    lines = ["[client]"]
    if url.username:
        lines.append(f"user={_option_value(url.username)}")
    if url.password is not None:
        lines.append(f"password={_option_value(url.password)}")
    socket = url.query.get("unix_socket")
    if socket:
        lines.append(f"socket={_option_value(socket)}")
    else:
        lines.append(f"host={_option_value(url.host or '127.0.0.1')}")
        lines.append(f"port={int(url.port or 3306)}")
        lines.append("protocol=TCP")  # as PyMySQL: "localhost" is TCP, not the socket
    fd, path = tempfile.mkstemp(prefix="medapp-client-", suffix=".cnf")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        yield path
    finally:
        os.unlink(path)


def dump_tool() -> str | None:
    return shutil.which("mariadb-dump") or shutil.which("mysqldump")


def client_tool() -> str | None:
    return shutil.which("mariadb") or shutil.which("mysql")


def _tail(data: bytes, limit: int = 500) -> str:
    return data.decode("utf-8", errors="replace").strip()[-limit:]


def _mysql_dump(url, target: Path):
    tool = dump_tool()
    if tool is None:
        raise BackupToolMissing()
    if not url.database:
        raise BackupFailed("备份失败:数据库地址中没有库名")
    # no routines, triggers or events: the schema has none (migrations create only tables)
    with _client_defaults(url) as defaults, open(target, "wb") as out:
        result = subprocess.run(
            [tool, f"--defaults-file={defaults}", "--single-transaction", "--quick",
             "--skip-routines", "--skip-triggers", "--skip-events", "--hex-blob",
             "--no-tablespaces", "--skip-dump-date", "--default-character-set=utf8mb4",
             "--", url.database],
            stdout=out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, check=False)
    if result.returncode != 0:
        raise BackupFailed(f"备份失败:{Path(tool).name} 退出码 {result.returncode}:"
                           f"{_tail(result.stderr)}")
    with open(target, "rb") as handle:
        handle.seek(max(0, target.stat().st_size - 256))
        if DUMP_TRAILER not in handle.read():
            raise BackupFailed("备份失败:导出不完整(缺少结束标记)")


_INSERT = re.compile(rb"^INSERT INTO `((?:[^`]|``)+)` VALUES\s*")
_CREATE = re.compile(rb"^CREATE TABLE `((?:[^`]|``)+)`")
# a quoted string (backslash escapes) or an opening parenthesis outside strings: the dump's
# values are literals only, so each "(" outside a string starts one row
_TOKENS = re.compile(rb"'[^'\\]*(?:\\.[^'\\]*)*'|\(")
_REVISION = re.compile(rb"\('([0-9A-Za-z_]+)'\)")


def _dump_contents(path: Path) -> tuple[dict, str | None]:
    """Row counts per table and the alembic revision, read from the dump itself. An INSERT
    runs from its `INSERT INTO ... VALUES` line to the line ending in ";" (mariadb-dump 10.11
    puts each row on a line of its own, older dumps all rows on one line; either way strings
    never span lines, their newlines are escaped)."""
    counts: dict[str, int] = {}
    revision = None
    table = None
    with open(path, "rb") as handle:
        for line in handle:
            if table is None:
                created = _CREATE.match(line)
                if created:
                    counts.setdefault(created.group(1).replace(b"``", b"`").decode(), 0)
                    continue
                insert = _INSERT.match(line)
                if not insert:
                    continue
                table = insert.group(1).replace(b"``", b"`").decode()
                counts.setdefault(table, 0)
                line = line[insert.end():]
            counts[table] += sum(1 for token in _TOKENS.findall(line) if token == b"(")
            if table == "alembic_version" and revision is None:
                found = _REVISION.search(line)
                revision = found.group(1).decode() if found else None
            if line.rstrip().endswith(b";"):
                table = None
    return dict(sorted(counts.items())), revision


def _dump_statements(path: Path):
    """The dump's statements, for PyMySQL. mariadb-dump writes each INSERT on one line and
    escapes newlines inside strings, so a statement ends with a line ending in ";"."""
    buffer: list[str] = []
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            stripped = line.strip()
            if not buffer and (not stripped or stripped.startswith("--")
                               or stripped.startswith("/*M!999999")):
                continue  # comments; the client's sandbox-mode marker
            buffer.append(line)
            if stripped.endswith(";"):
                yield "".join(buffer).strip().rstrip(";")
                buffer = []
    if "".join(buffer).strip():
        yield "".join(buffer).strip()


def _server_url(url):
    return url._replace(database=None)


def _mysql_state(url) -> tuple[bool, list[str]]:
    """(the database exists, its tables) through a connection without a default database."""
    engine = create_engine(_server_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            exists = connection.execute(text(
                "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = :name"),
                {"name": url.database}).scalar_one() > 0
            tables = [row[0] for row in connection.execute(text(
                "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = :name "
                "ORDER BY TABLE_NAME"), {"name": url.database})]
    except SQLAlchemyError as exc:
        raise RestoreFailed(f"无法连接目标数据库:{getattr(exc, 'orig', None) or exc.__class__.__name__}",
                            status=400) from exc
    finally:
        engine.dispose()
    return exists, tables


def _mysql_restore(dump: Path, url, loader: str):
    exists, _tables = _mysql_state(url)
    if not exists:
        engine = create_engine(_server_url(url), poolclass=NullPool)
        try:
            with engine.begin() as connection:
                quoted = url.database.replace("`", "``")
                connection.execute(text(f"CREATE DATABASE `{quoted}` CHARACTER SET utf8mb4 "
                                        "COLLATE utf8mb4_unicode_ci"))
        finally:
            engine.dispose()
    client = client_tool() if loader in ("auto", "client") else None
    if loader == "client" and client is None:
        raise RestoreFailed("恢复失败:找不到 mariadb 或 mysql 客户端")
    if client is not None:
        with _client_defaults(url) as defaults, open(dump, "rb") as source:
            result = subprocess.run(
                [client, f"--defaults-file={defaults}", "--binary-mode",
                 "--default-character-set=utf8mb4", f"--database={url.database}"],
                stdin=source, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if result.returncode != 0:
            raise RestoreFailed(f"恢复失败({Path(client).name} 退出码 {result.returncode}),"
                                f"目标数据库可能只写入了一部分,请清空后重试:{_tail(result.stderr)}")
        return "client"
    engine = create_engine(url, poolclass=NullPool)
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for statement in _dump_statements(dump):
                cursor.execute(statement)  # no arguments: "%" in the data is not a placeholder
            connection.commit()
        finally:
            connection.close()
    except Exception as exc:
        raise RestoreFailed(f"恢复失败,目标数据库可能只写入了一部分,请清空后重试:{exc}") from exc
    finally:
        engine.dispose()
    return "pymysql"


# ---- verify -------------------------------------------------------------------------------------

def _safe_member_name(member: tarfile.TarInfo) -> PurePosixPath:
    name = member.name
    if not (member.isreg() or member.isdir()):
        raise BackupUnsafePath(details={"member": name})
    if not name or "\x00" in name or "\\" in name or name.startswith("/"):
        raise BackupUnsafePath(details={"member": name})
    path = PurePosixPath(name)
    if not path.parts or path.is_absolute() or any(part in ("..", "") for part in path.parts):
        raise BackupUnsafePath(details={"member": name})
    if re.match(r"^[A-Za-z]:", name):  # a Windows drive
        raise BackupUnsafePath(details={"member": name})
    return path


def _allowed(path: PurePosixPath, is_dir: bool) -> bool:
    parts = path.parts
    if parts == (MANIFEST,):
        return not is_dir
    if parts[0] == "database":
        return is_dir or str(path) in (SQLITE_MEMBER, DUMP_MEMBER)
    return parts[0] == UPLOADS


def _extract_verified(archive: Path, work: Path) -> dict:
    """Check the archive's checksum, then unpack it into `work` (an empty directory we own)
    refusing unsafe and unexpected members; return its manifest once every member's hash and
    size match it. Nothing outside `work` is written."""
    recorded = _recorded_checksum(archive)
    if recorded is None:
        raise ChecksumMissing()
    if not recorded or recorded != _sha256_file(archive):
        raise ChecksumMismatch()
    seen: dict[str, dict] = {}
    manifest_bytes = None
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                path = _safe_member_name(member)
                if not _allowed(path, member.isdir()):
                    raise BackupForeign(details={"member": member.name})
                if member.isdir():
                    continue
                key = str(path)
                if key in seen:
                    raise BackupCorrupt(f"备份中有重复的文件 {key},已拒绝恢复")
                source = tar.extractfile(member)
                digest, size = hashlib.sha256(), 0
                if key == MANIFEST:
                    manifest_bytes = source.read(16 * 1024 * 1024)
                    digest.update(manifest_bytes)
                    size = len(manifest_bytes)
                else:
                    target = work / key
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with open(target, "xb") as out:
                        while chunk := source.read(CHUNK):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                seen[key] = {"sha256": digest.hexdigest(), "size": size}
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        raise BackupCorrupt(details={"reason": str(exc)[:200]}) from exc
    if manifest_bytes is None:
        raise BackupForeign()
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise BackupForeign() from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or manifest.get("app") != APP_ID:
        raise BackupForeign()
    version = manifest.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise BackupForeign()
    if version > FORMAT_VERSION:
        raise BackupTooNew()
    files = manifest.get("files")
    seen.pop(MANIFEST)
    if not isinstance(files, dict) or files != seen:
        raise BackupCorrupt("备份内容与其清单不符(文件缺失、多余或内容不同),已拒绝恢复")
    counts = manifest.get("row_counts")
    if manifest.get("dialect") not in DATABASE_MEMBERS \
            or manifest.get("database_member") != DATABASE_MEMBERS[manifest["dialect"]] \
            or manifest["database_member"] not in files or not isinstance(counts, dict) \
            or not all(isinstance(table, str) and type(count) is int and count >= 0
                       for table, count in counts.items()):
        raise BackupForeign()
    return manifest


def verify_backup(name_or_path: str) -> dict:
    """The manifest of a backup whose checksum, members and hashes all check out."""
    archive = _locate(name_or_path)
    with tempfile.TemporaryDirectory(prefix=".verify-", dir=backup_dir()) as work:
        return _extract_verified(archive, Path(work))


# ---- restore ------------------------------------------------------------------------------------

def _target_dialect(url) -> str:
    name = url.get_backend_name()
    if name == "sqlite":
        return "sqlite"
    if name in ("mysql", "mariadb"):
        return "mysql"
    raise UnsupportedDatabase()


DIALECT_NAMES = {"sqlite": "SQLite", "mysql": "MariaDB/MySQL"}


def _sqlite_target_tables(path: Path) -> list[str]:
    if not path.exists():
        return []
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return _sqlite_tables(connection)
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise TargetNotEmpty(f"目标文件 {path} 不是空的 SQLite 数据库:{exc}") from exc


def _target_tables(url, dialect) -> list[str]:
    if dialect == "sqlite":
        return _sqlite_target_tables(_sqlite_path(url))
    return _mysql_state(url)[1]


def _table_counts(url, tables) -> dict:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            quote = connection.dialect.identifier_preparer.quote
            return {table: connection.execute(text(f"SELECT COUNT(*) FROM {quote(table)}"))
                    .scalar_one() for table in tables}
    finally:
        engine.dispose()


def _has_files(directory: Path) -> bool:
    if not directory.exists():
        return False
    if not directory.is_dir():
        return True
    return any(not entry.is_dir() or entry.is_symlink() for entry in directory.rglob("*"))


def _sqlite_restore(source: Path, url):
    target = _sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".restore",
                                     dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as handle:
            shutil.copyfileobj(handle, out, CHUNK)
            out.flush()
            os.fsync(out.fileno())
        # the side files of the empty database it replaces would be applied to the copy
        for suffix in ("-wal", "-shm", "-journal"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)


def _restore_uploads(source: Path, target: Path) -> int:
    """Move the unpacked uploads into `target` (missing or without files, checked before)."""
    if not source.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return 0
    count = sum(1 for entry in source.rglob("*") if entry.is_file())
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".restore",
                                   dir=target.parent))
    try:
        shutil.copytree(source, staged, dirs_exist_ok=True)  # another filesystem, maybe
        if not target.exists():
            os.replace(staged, target)
            return count
        for entry in staged.iterdir():
            destination = target / entry.name
            if destination.is_dir() and not destination.is_symlink():
                shutil.rmtree(destination)  # empty folders only: files were refused before
            shutil.move(str(entry), str(destination))
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return count


def restore_backup(name_or_path: str, *, confirmed: bool, target_url: str | None = None,
                   upload_dir: str | None = None, loader: str = "auto") -> dict:
    """Restore a backup into an EMPTY database (`target_url`, default the configured one) and
    an upload directory without files (default UPLOAD_DIR). Every check runs before anything
    is written; a refusal changes nothing. `loader` (MariaDB): auto | client | pymysql."""
    if not confirmed:
        raise RestoreNotConfirmed()
    if loader not in ("auto", "client", "pymysql"):
        raise BackupError("未知的导入方式")
    from app.extensions import db

    try:
        url = make_url(target_url) if target_url else db.engine.url
    except ArgumentError:
        raise BackupError("目标数据库地址格式不正确") from None
    uploads_target = Path(upload_dir or current_app.config["UPLOAD_DIR"])
    archive = _locate(name_or_path)
    dialect = _target_dialect(url)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=backup_dir()) as work:
        work = Path(work)
        manifest = _extract_verified(archive, work)
        if manifest["dialect"] != dialect:
            raise DialectMismatch(
                f"这是 {DIALECT_NAMES[manifest['dialect']]} 的备份,不能恢复到 "
                f"{DIALECT_NAMES[dialect]} 数据库", details={"backup": manifest["dialect"],
                                                            "target": dialect})
        tables = _target_tables(url, dialect)
        if tables:
            raise TargetNotEmpty(f"目标数据库不是空的(已有 {len(tables)} 张表),"
                                 "恢复只能写入没有任何表的空数据库",
                                 details={"tables": tables[:20]})
        if _has_files(uploads_target):
            raise UploadsNotEmpty(f"目标上传目录 {uploads_target} 中已有文件,恢复只能写入空目录")
        # every check passed: from here on things change
        if url == db.engine.url:
            db.engine.dispose()  # our own pool must not hold the file or an old schema
        if dialect == "sqlite":
            _sqlite_restore(work / SQLITE_MEMBER, url)
            used = "sqlite-file"
        else:
            used = _mysql_restore(work / DUMP_MEMBER, url, loader)
        files = _restore_uploads(work / UPLOADS, uploads_target)
    expected = manifest["row_counts"]
    found = _table_counts(url, list(expected))
    if found != expected:
        wrong = {table: {"backup": expected[table], "restored": found.get(table)}
                 for table in expected if found.get(table) != expected[table]}
        raise RestoreFailed("恢复后的行数与备份不符", details=wrong)
    log.info("backup %s restored into %s (%s tables, %s rows, %s files)", archive.name,
             url.render_as_string(hide_password=True), len(expected), sum(expected.values()), files)
    return {"name": archive.name, "target": url.render_as_string(hide_password=True),
            "upload_dir": str(uploads_target), "dialect": dialect, "loader": used,
            "tables": len(expected), "rows": sum(expected.values()), "files": files,
            "alembic_revision": manifest.get("alembic_revision"),
            "code_revisions": _code_heads()}


def _code_heads() -> list[str]:
    try:
        from alembic.script import ScriptDirectory

        config = current_app.extensions["migrate"].migrate.get_config()
        return sorted(ScriptDirectory.from_config(config).get_heads())
    except Exception:  # only informs the operator's message
        return []


# ---- retention and the nightly run ----------------------------------------------------------

def apply_retention(*, keep_days: int | None = None, now: datetime | None = None) -> list[str]:
    """Keep every backup of the BACKUP_KEEP_DAYS most recent local days that have one; delete
    older ones (archive and checksum). Counting days that have a backup, not calendar days,
    means a cron that stopped for a while never lets retention eat the last good backups.
    Also removes checksum files without an archive and leftovers of runs that died.
    Idempotent. Returns the deleted archives' names."""
    keep = int(keep_days if keep_days is not None else current_app.config["BACKUP_KEEP_DAYS"])
    keep = max(keep, 1)
    now = now or utcnow()
    backups = _scan()
    days = sorted({to_local(entry.created_at).date() for entry in backups}, reverse=True)
    kept_days = set(days[:keep])
    deleted = []
    for entry in backups:
        if to_local(entry.created_at).date() in kept_days:
            continue
        entry.path.unlink(missing_ok=True)
        entry.checksum_path.unlink(missing_ok=True)
        deleted.append(entry.name)
    directory = backup_dir()
    cutoff = (now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now).timestamp() \
        - STALE_AFTER.total_seconds()
    for path in directory.iterdir():
        if path.name.endswith(".tar.gz.sha256") and NAME_RE.match(path.name[:-7]) \
                and not path.with_name(path.name[:-7]).exists():
            try:
                if path.stat().st_mtime < cutoff:  # not a creation in progress
                    path.unlink()
            except FileNotFoundError:
                pass
        elif path.name.startswith((".staging-", ".restore-", ".verify-")) and path.is_dir():
            try:
                if path.stat().st_mtime < cutoff:
                    shutil.rmtree(path, ignore_errors=True)
            except FileNotFoundError:
                pass
    if deleted:
        log.info("backup retention deleted %s", ", ".join(deleted))
    return deleted


def enqueue_backup_job(name: str):
    """Queue the job that writes backup `name`, with BACKUP_JOB_TIMEOUT_SECONDS (RQ's default
    180 s would kill a real database's dump). Queuing a name twice is harmless."""
    from app.common.jobs import job_name
    from app.extensions import jobs
    from app.tasks.backups import write_backup

    jobs.queue("default").enqueue(job_name(write_backup), args=(name,),
                                  job_timeout=int(current_app.config["BACKUP_JOB_TIMEOUT_SECONDS"]))


def nightly_backup(*, now: datetime | None = None) -> dict:
    """The cron's run, quick: when today (Shanghai) has no nightly backup yet, queue the job
    that writes one. Its name is kept in Redis for the day, so a second run, or a run after
    the job was lost, queues the same name again and still one archive is written."""
    from app.extensions import redis_client

    now = now or utcnow()
    today = to_local(now).date()
    done = [entry.name for entry in _scan()
            if entry.trigger == "nightly" and to_local(entry.created_at).date() == today]
    if done:
        return {"queued": None, "existing": done}
    key = f"backup:nightly:{today.isoformat()}"
    redis_client.conn.set(key, free_backup_name("nightly", now), nx=True, ex=3 * 86400)
    name = redis_client.conn.get(key)
    name = name.decode() if isinstance(name, bytes) else name
    enqueue_backup_job(name)
    return {"queued": name, "existing": []}


def write_backup(name: str) -> dict:
    """The job: write backup `name` unless it exists (a retry or a duplicate writes nothing),
    then apply retention."""
    if not NAME_RE.match(name or ""):
        raise BackupNameInvalid()
    created = None
    if not (backup_dir() / name).exists():
        try:
            created = create_backup(name=name)["name"]
        except BackupExists:
            pass
    return {"created": created, "deleted": apply_retention()}


def request_backup(actor) -> str:
    """An admin asks for a backup now: the name is chosen here, the job that writes it is
    queued after the commit of the audit entry (a retried job finds the name and stops)."""
    from app.audit.listeners import record_action
    from app.extensions import db, jobs
    from app.staff.services import require_role

    require_role(actor, "admin")
    name = free_backup_name("console", utcnow())
    record_action(db.session, backup=name)
    jobs.call_after_commit(db.session, enqueue_backup_job, name)
    db.session.commit()
    log.info("staff %s requested backup %s", actor.id, name)
    return name
