"""The backups page of the staff console (admins): the archives in BACKUP_DIR with their
times and sizes, and a button that enqueues a backup now. Restoring stays on the command line
(`flask backup restore`): it needs an empty database, which a running site never is."""
from flask import current_app, render_template

from app.backups import services
from app.backups.cli import human_size
from app.common.auth import current_staff
from app.console.views import bp, done, role_required


@bp.get("/backups")
@role_required("admin")
def backups_page():
    items = services.list_backups()
    return render_template("console/backups.html", items=items, human_size=human_size,
                           total=sum(item["size"] for item in items),
                           keep_days=current_app.config["BACKUP_KEEP_DAYS"])


@bp.post("/backups")
@role_required("admin")
def backups_create():
    name = services.request_backup(current_staff())
    return done(f"已排队创建备份 {name},完成后出现在列表中", "console.backups_page")
