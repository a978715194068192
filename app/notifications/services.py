"""The notify service every domain calls, the user's inbox, subscriptions, and the templates
staff edit. notify records the inbox message once per (user, event, thing) and, when the user
can receive it, a WeChat push sent after the commit (app/notifications/delivery.py)."""
from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError

from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db
from app.notifications import delivery
from app.notifications.models import MessageTemplate, Notification, SubscriptionQuota
from app.notifications.templates import default_templates


class NotificationNotFound(NotFound):
    code = "notification_not_found"
    message = "消息不存在"


def notify(user_id: int, kind: str, title: str, body: str, ref_type: str, ref_id: int,
           *, context: dict | None = None) -> bool:
    """Add the inbox message inside the caller's transaction and, when the user has a
    subscription left for the event's template, its WeChat push (sent after the commit).
    `context` fills the template's fields (subject, status, time, amount_fen, reason, …; see
    app/notifications/templates.py). False if this message was already sent."""
    exists = db.session.scalar(select(Notification.id).where(
        Notification.user_id == user_id, Notification.kind == kind,
        Notification.ref_type == ref_type, Notification.ref_id == ref_id))
    if exists:
        return False
    db.session.add(Notification(user_id=user_id, kind=kind, title=title[:64], body=body[:500],
                                ref_type=ref_type, ref_id=ref_id))
    delivery.queue_user_push(user_id, kind, ref_type, ref_id,
                             {"title": title, "body": body, "time": utcnow(), **(context or {})})
    return True


def notify_staff(kind: str, title: str, ref_type: str, ref_id: int, *,
                 roles: tuple[str, ...] | None = None, context: dict | None = None) -> int:
    """An official-account template message to every bound staff member (of `roles`), after
    the commit; once per (event, thing, staff member). Returns how many were queued."""
    return delivery.queue_staff_pushes(kind, ref_type, ref_id,
                                       {"title": title, "time": utcnow(), **(context or {})},
                                       roles=roles)


def list_notifications(actor, *, unread: bool | None = None, kind: str | None = None,
                       page: int = 1, page_size: int = 20) -> dict:
    """The caller's messages, newest first; unread=True only the unread, False only the read;
    `kind` only that kind (the home page's announcements)."""
    statement = select(Notification).where(Notification.user_id == actor.id)
    if kind is not None:
        statement = statement.where(Notification.kind == kind)
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


# ---- subscriptions ---------------------------------------------------------------------------

MAX_SUBSCRIPTIONS_PER_TEMPLATE = 100  # WeChat's count is the truth; ours never runs away


class UnknownTemplate(ValidationFailed):
    code = "unknown_template"
    message = "模板不存在或未启用"


class TemplateEventNotFound(NotFound):
    code = "template_event_not_found"
    message = "没有这个消息事件"


def _subscribe_templates() -> dict[str, dict]:
    """template id → {title, events} of every enabled subscribe-message template."""
    templates: dict[str, dict] = {}
    for event, template in delivery.effective_templates().items():
        if template["channel"] == "subscribe" and template["enabled"]:
            entry = templates.setdefault(template["template_id"],
                                         {"title": template["title"], "events": []})
            entry["events"].append(event)
    return templates


def list_subscriptions(actor) -> dict:
    """The templates the mini-program may ask the user to accept, and what is left of each."""
    left = dict(db.session.execute(select(SubscriptionQuota.template_id,
                                          SubscriptionQuota.remaining)
                                   .where(SubscriptionQuota.user_id == actor.id)).all())
    return {"items": [{"template_id": template_id, "title": entry["title"],
                       "events": sorted(entry["events"]), "remaining": left.get(template_id, 0)}
                      for template_id, entry in sorted(_subscribe_templates().items())]}


def _add_subscription(user_id: int, template_id: str):
    bump = (update(SubscriptionQuota)
            .where(SubscriptionQuota.user_id == user_id,
                   SubscriptionQuota.template_id == template_id)
            .values(remaining=case(
                        (SubscriptionQuota.remaining >= MAX_SUBSCRIPTIONS_PER_TEMPLATE,
                         MAX_SUBSCRIPTIONS_PER_TEMPLATE), else_=SubscriptionQuota.remaining + 1),
                    accepted_total=SubscriptionQuota.accepted_total + 1)
            .execution_options(synchronize_session=False))
    if db.session.execute(bump).rowcount:
        return
    try:
        with db.session.begin_nested():
            db.session.add(SubscriptionQuota(user_id=user_id, template_id=template_id,
                                             remaining=1, accepted_total=1))
    except IntegrityError:  # a concurrent report made the row first: count on it
        db.session.execute(bump)


def report_subscriptions(actor, *, results: list[dict]) -> dict:
    """What wx.requestSubscribeMessage answered: each accept adds one send for that template;
    ban (turned off in the user's settings) clears it; reject and filter change nothing."""
    known = _subscribe_templates()
    unknown = [item["template_id"] for item in results if item["template_id"] not in known]
    if unknown:
        raise UnknownTemplate(details={"template_ids": unknown[:10]})
    for item in results:
        if item["result"] == "accept":
            _add_subscription(actor.id, item["template_id"])
        elif item["result"] == "ban":
            db.session.execute(update(SubscriptionQuota).where(
                SubscriptionQuota.user_id == actor.id,
                SubscriptionQuota.template_id == item["template_id"]).values(remaining=0)
                .execution_options(synchronize_session=False))
    db.session.commit()
    return list_subscriptions(actor)


# ---- message templates (staff) ----------------------------------------------------------------

def _template_view(template: dict) -> dict:
    return {**template, "fields_": template["fields"]}


def list_templates(actor) -> dict:
    """Every event and the template it is pushed with (edited, or the default)."""
    return {"items": [_template_view(template) for _event, template
                      in sorted(delivery.effective_templates().items())]}


def update_template(actor, *, event: str, changes: dict) -> dict:
    """Change an event's template id, title, fields, page or on/off; the channel is the
    event's (users get subscribe messages, staff official-account ones)."""
    default = default_templates().get(event)
    if default is None:
        raise TemplateEventNotFound()
    row = db.session.scalar(select(MessageTemplate).where(MessageTemplate.event == event)
                            .with_for_update())
    if row is None:
        row = MessageTemplate(event=event, channel=default["channel"],
                              template_id=default["template_id"], title=default["title"],
                              fields=default["fields"], page=default["page"], enabled=True)
        db.session.add(row)
    for name, value in changes.items():
        setattr(row, "fields" if name == "fields_" else name, value)
    row.updated_by_staff_id = actor.id
    db.session.commit()
    return _template_view(delivery.template_for(event))
