"""The notify service every domain calls. It records the message once per (user, kind, thing);
delivery to WeChat (subscribe / template messages) plugs in here with the notifications work."""
from sqlalchemy import select

from app.common.pagination import paginate
from app.extensions import db
from app.notifications.models import Notification


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


def list_notifications(actor, page: int, page_size: int) -> dict:
    statement = (select(Notification).where(Notification.user_id == actor.id)
                 .order_by(Notification.id.desc()))
    return paginate(statement, page, page_size)
