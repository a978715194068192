"""The notify service every domain calls, and the user's inbox. notify records the message
once per (user, kind, thing); delivery to WeChat (subscribe / template messages) plugs in here
with the notifications work."""
from sqlalchemy import func, select, update

from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import NotFound
from app.extensions import db
from app.notifications.models import Notification


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "消息不存在"


def notify(user_id: int, kind: str, title: str, body: str, ref_type: str, ref_id: int) -> bool:
    """Add the notification inside the caller's transaction; False if it was already sent."""
    exists = db.session.scalar(select(Notification.id).where(
        Notification.user_id == user_id, Notification.kind == kind,
        Notification.ref_type == ref_type, Notification.ref_id == ref_id))
    if exists:
        return False
    db.session.add(Notification(user_id=user_id, kind=kind, title=title[:64], body=body[:500],
                                ref_type=ref_type, ref_id=ref_id))
    return True


def list_notifications(actor, *, unread: bool | None = None, page: int = 1,
                       page_size: int = 20) -> dict:
    """The caller's messages, newest first; unread=True only the unread, False only the read."""
    statement = select(Notification).where(Notification.user_id == actor.id)
    if unread is not None:
        statement = statement.where(Notification.read_at.is_(None) if unread
                                    else Notification.read_at.is_not(None))
    return paginate(statement.order_by(Notification.id.desc()), page, page_size)


def unread_count(actor) -> dict:
    count = db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None)))
    return {"unread": count}


def mark_read(actor, *, notification_id: int) -> Notification:
    """Idempotent: a message already read keeps its first read time. Another user's is 404."""
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != actor.id:
        raise NotificationNotFound()
    if notification.read_at is None:
        # conditional, so two devices marking at once agree on the first read time
        db.session.execute(update(Notification).where(
            Notification.id == notification.id, Notification.read_at.is_(None))
            .values(read_at=utcnow()).execution_options(synchronize_session=False))
        db.session.commit()
    return notification


def mark_all_read(actor) -> dict:
    """Everything unread now becomes read; {"updated": how many were unread}."""
    result = db.session.execute(update(Notification).where(
        Notification.user_id == actor.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    return {"updated": result.rowcount}
