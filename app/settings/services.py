"""Platform settings: a value staff set, else the caller's default (from config).

Both work inside the caller's transaction; the use case that changes a setting commits once.
"""
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import ValidationFailed
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


# ---- integer rules staff override (booking rules, points rules, booking limits) --------------

def _integer(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def rules_with_overrides(key: str, config_keys: dict[str, str]) -> dict:
    """{rule: value}: each rule's default from the config key `config_keys` names, with what
    staff saved under the setting `key` over it (anything else stored there is ignored)."""
    rules = {name: int(current_app.config[config_key]) for name, config_key in config_keys.items()}
    stored = get_setting(key) or {}
    if isinstance(stored, dict):
        rules.update({name: value for name, value in stored.items()
                      if name in rules and _integer(value)})
    return rules


def save_overrides(actor, key: str, changes: dict, known, busy: type[Exception]):
    """Save the rules given (a schema checked each) over what is saved; the others keep their
    values. The stored row is locked before it is read, so two admins changing different rules
    at once both keep their change; two first-ever saves meet on the key (`busy`). Commits."""
    if not changes:
        raise ValidationFailed("请至少修改一项", code="nothing_to_change")
    row = db.session.scalar(select(PlatformSetting).where(PlatformSetting.key == key)
                            .with_for_update().execution_options(populate_existing=True))
    stored = row.value if row is not None and isinstance(row.value, dict) else {}
    value = {name: item for name, item in stored.items() if name in known}
    value.update(changes)
    set_setting(actor, key, value)
    try:
        db.session.commit()
    except IntegrityError:  # another admin's first-ever save won the insert
        db.session.rollback()
        raise busy()
