"""`flask backup create | list | restore | prune` (app/backups/services.py does the work)."""
import click
from flask.cli import AppGroup

from app.common.time import to_local

backup_cli = AppGroup("backup", help="数据库与上传文件的备份和恢复")


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _fail(exc):
    # the offending member or the reader's reason help; a target's table list does not
    details = {key: value for key, value in (getattr(exc, "details", None) or {}).items()
               if key != "tables"}
    detail = "".join(f" [{key}: {value}]" for key, value in details.items())
    raise click.ClickException(f"{exc.message}{detail}")


@backup_cli.command("create")
def create():
    """Write a backup (database snapshot + uploads, compressed, with its SHA-256) into
    BACKUP_DIR."""
    from app.backups import services
    from app.errors import AppError

    try:
        result = services.create_backup(trigger="manual")
    except AppError as exc:
        _fail(exc)
    manifest = result["manifest"]
    click.echo(f"created {result['name']} ({human_size(result['size'])}, "
               f"{len(manifest['row_counts'])} tables, {sum(manifest['row_counts'].values())} rows, "
               f"{len(manifest['files']) - 1} uploaded files, {result['seconds']:.1f} s)")
    click.echo(f"sha256 {result['sha256']}")


@backup_cli.command("list")
@click.option("--no-verify", is_flag=True, help="do not recompute each archive's SHA-256")
def list_command(no_verify):
    """The backups in BACKUP_DIR, newest first: name, time (Shanghai), size, verified."""
    from app.backups import services

    items = services.list_backups(verify=not no_verify)
    if not items:
        click.echo(f"no backups in {services.backup_dir()}")
        return
    for item in items:
        if item["verified"] is None:
            state = "checksum file" if item["has_checksum"] else "NO CHECKSUM FILE"
        else:
            state = "verified" if item["verified"] else (
                "CHECKSUM MISMATCH" if item["has_checksum"] else "NO CHECKSUM FILE")
        click.echo(f"{item['name']}  {to_local(item['created_at']):%Y-%m-%d %H:%M:%S}  "
                   f"{human_size(item['size']):>10}  {item['size']} bytes  {state}")


@backup_cli.command("restore")
@click.argument("name")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option("--target-url", envvar="BACKUP_RESTORE_TARGET_URL", default=None,
              help="database to restore into (default: the configured one); it must have no "
                   "tables. Give it through BACKUP_RESTORE_TARGET_URL to keep a password out "
                   "of the process list")
@click.option("--upload-dir", default=None, type=click.Path(file_okay=False),
              help="where the uploads go (default: UPLOAD_DIR); it must hold no files")
@click.option("--loader", type=click.Choice(["auto", "client", "pymysql"]), default="auto",
              show_default=True, help="MariaDB: load through the mariadb client or PyMySQL")
def restore(name, yes, target_url, upload_dir, loader):
    """Restore backup NAME (a name in BACKUP_DIR, or a path) into an empty database."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from app.backups import services
    from app.errors import AppError
    from app.extensions import db

    confirmed = yes
    if not confirmed:
        try:
            shown = (make_url(target_url) if target_url else db.engine.url).render_as_string(
                hide_password=True)
        except ArgumentError:
            shown = "(地址格式不正确)"
        typed = click.prompt(f"将把备份 {name} 恢复到 {shown}。请输入备份名称以确认",
                             default="", show_default=False)
        confirmed = typed.strip() == name
    try:
        result = services.restore_backup(name, confirmed=confirmed, target_url=target_url,
                                         upload_dir=upload_dir, loader=loader)
    except AppError as exc:
        _fail(exc)
    click.echo(f"restored {result['name']} into {result['target']} via {result['loader']}: "
               f"{result['tables']} tables, {result['rows']} rows (row counts checked), "
               f"{result['files']} files into {result['upload_dir']}")
    revision, heads = result["alembic_revision"], result["code_revisions"]
    if heads and revision not in heads:
        click.echo(f"warning: the backup's schema revision is {revision}, this code's is "
                   f"{', '.join(heads)}: run `flask db upgrade` before starting the app", err=True)


@backup_cli.command("prune")
@click.option("--keep-days", type=click.IntRange(1, 3650), default=None,
              help="default: BACKUP_KEEP_DAYS")
def prune(keep_days):
    """Apply retention now: keep every backup of the N most recent days that have one."""
    from app.backups import services

    deleted = services.apply_retention(keep_days=keep_days)
    for name in deleted:
        click.echo(f"deleted {name}")
    click.echo(f"{len(deleted)} backup{'s' if len(deleted) != 1 else ''} deleted")
