"""Platform settings: a value staff set, else the caller's default (from config).

Both work inside the caller's transaction; the use case that changes a setting commits once.
"""
from sqlalchemy import select

from app.extensions import db
from app.settings.models import PlatformSetting


def get_setting(key: str, default=None):
    """The stored value of `key`, or `default` when staff never set one."""
    value = db.session.scalar(select(PlatformSetting.value).where(PlatformSetting.key == key))
    return default if value is None else value


def set_setting(actor, key: str, value) -> PlatformSetting:
    """Store `value` under `key` (no commit: the caller's use case commits). The row is locked
    when it exists, so two editors take turns; two first-ever writes of one key meet on the
    primary key at commit (the caller retries or refuses)."""
    row = db.session.scalar(select(PlatformSetting).where(PlatformSetting.key == key)
                            .with_for_update().execution_options(populate_existing=True))
    if row is None:
        row = PlatformSetting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_by_staff_id = getattr(actor, "id", None)
    return row
