"""WeChat delivery of notifications: which pushes to make, and sending them exactly once.

A push row is written in the caller's transaction (nothing is sent if it rolls back) and its
job is enqueued after the commit, on the "push" queue. Sending one push or a batch of them
(announcements) is three steps, none holding a database transaction open across the calls to
WeChat:

1. claim: pending → sending with a lease and a fresh claim token, in one conditional UPDATE
   (two runs of the same job, overlapping batches, or a job and the sweep, never claim the
   same push); subscribe messages also reserve one of the user's subscriptions here (none
   left: the push ends no_quota without a call). One commit;
2. one call to WeChat per push;
3. finish, for the pushes the token still holds, in one commit: sent; or no_quota on 43101
   (the ledger goes to zero: WeChat says nothing is left); or failed on an answer retrying
   cannot change (a bad openid or template), giving the reservation back; or, on a network
   error or WeChat's -1, back to pending with a backoff.

A sender that dies between 1 and 3 leaves a lease that runs out; the job's retry or the
sweep claims it again, and the dead (or merely slow) sender can no longer record anything. A send WeChat received just before the sender died is then sent a
second time: WeChat has no idempotency key for messages, and losing the message is worse.
"""
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from app.common.deadlock import retry_deadlock
from app.common.time import utcnow
from app.extensions import db, jobs
from app.notifications.models import MessagePush, MessageTemplate, SubscriptionQuota
from app.notifications.templates import default_templates, render, render_page
from app.wechat import miniprogram, official_account
from app.wechat.errors import WeChatApiError, WeChatUnavailable

log = logging.getLogger("app.notifications.delivery")

NO_QUOTA = 43101
TRANSIENT_ERRCODES = {-1, 45009, 45011}  # system busy; rate limits
TOKEN_ERRCODES = {40001, 40014, 42001}   # still rejected after the client's one refresh


def _edited(row: MessageTemplate) -> dict:
    return {"event": row.event, "channel": row.channel, "template_id": row.template_id,
            "title": row.title, "fields": row.fields, "page": row.page, "enabled": row.enabled,
            "customized": True}


def _default(template: dict) -> dict:
    return {**template, "customized": False}


def template_for(event: str) -> dict | None:
    """The event's template (the row staff edited, else the default), or None."""
    row = db.session.scalar(select(MessageTemplate).where(MessageTemplate.event == event))
    if row is not None:
        return _edited(row)
    default = default_templates().get(event)
    return None if default is None else _default(default)


def effective_templates() -> dict[str, dict]:
    """Every known event → its template, the edited rows over the defaults (one query)."""
    templates = {event: _default(template) for event, template in default_templates().items()}
    for row in db.session.scalars(select(MessageTemplate)):
        if row.event in templates:
            templates[row.event] = _edited(row)
    return templates


def active_template(event: str, channel: str) -> dict | None:
    """The event's template when it is switched on and sends on `channel`, else None."""
    template = template_for(event)
    if template is None or not template["enabled"] or template["channel"] != channel:
        return None
    return template


def remaining_quota(user_id: int, template_id: str) -> int:
    return db.session.scalar(select(SubscriptionQuota.remaining).where(
        SubscriptionQuota.user_id == user_id,
        SubscriptionQuota.template_id == template_id)) or 0


def _enqueue(push: MessagePush, delay_seconds=None):
    from app.tasks.notifications import deliver_push

    jobs.enqueue_after_commit(db.session, deliver_push, push.id, queue="push",
                              delay_seconds=delay_seconds)


def new_push(*, event: str, template: dict, dedup_key: str, context: dict, ref_type: str,
             ref_id: int, user_id: int | None = None, staff_id: int | None = None,
             announcement_id: int | None = None) -> MessagePush:
    push = MessagePush(
        dedup_key=dedup_key[:160], event=event, channel=template["channel"], user_id=user_id,
        staff_id=staff_id, announcement_id=announcement_id, template_id=template["template_id"],
        page=render_page(template["page"], ref_type, ref_id, context),
        data=render(template["fields"], context), status="pending", attempts=0,
        next_attempt_at=utcnow(), quota_reserved=False)
    db.session.add(push)
    return push


def queue_user_push(user_id: int, event: str, ref_type: str, ref_id: int, context: dict,
                    *, announcement_id: int | None = None, enqueue: bool = True):
    """A subscribe message for `event` to the user, when its template is on and the user has a
    subscription left for it; otherwise the inbox message is all they get. Returns the push."""
    template = active_template(event, "subscribe")
    if template is None or remaining_quota(user_id, template["template_id"]) <= 0:
        return None
    push = new_push(event=event, template=template, context=context, ref_type=ref_type,
                    ref_id=ref_id, user_id=user_id, announcement_id=announcement_id,
                    dedup_key=f"{event}:{ref_type}:{ref_id}:u{user_id}")
    if enqueue:
        db.session.flush()
        _enqueue(push)
    return push


def queue_staff_pushes(event: str, ref_type: str, ref_id: int, context: dict,
                       roles: tuple[str, ...] | None = None) -> int:
    """A template message to every active staff member bound to the official account (and, if
    given, holding one of `roles`). Staff have the console for the rest: no inbox."""
    from app.staff.models import StaffUser

    config = current_app.config
    if not (config.get("WECHAT_OA_APP_ID") and config.get("WECHAT_OA_APP_SECRET")):
        return 0  # no official account configured
    template = active_template(event, "official")
    if template is None:
        return 0
    statement = select(StaffUser.id).where(StaffUser.is_active.is_(True),
                                           StaffUser.official_openid.is_not(None))
    if roles:
        statement = statement.where(StaffUser.role.in_(roles))
    queued = 0
    for staff_id in db.session.scalars(statement):
        key = f"{event}:{ref_type}:{ref_id}:s{staff_id}"
        if db.session.scalar(select(MessagePush.id).where(MessagePush.dedup_key == key)):
            continue
        push = new_push(event=event, template=template, context=context, ref_type=ref_type,
                        ref_id=ref_id, staff_id=staff_id, dedup_key=key)
        db.session.flush()
        _enqueue(push)
        queued += 1
    return queued


# --- sending --------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Outgoing:
    """What a send needs, copied before the claim commits (committed rows expire)."""
    id: int
    event: str
    channel: str
    user_id: int | None
    staff_id: int | None
    template_id: str
    data: dict
    page: str | None

    @property
    def recipient(self) -> tuple[str, int | None]:
        return self.channel, self.user_id if self.channel == "subscribe" else self.staff_id


@retry_deadlock
def _claim(push_ids: list[int]) -> tuple[str, list[_Outgoing]]:
    """Take the due pushes among `push_ids` for this sender (one UPDATE, marked with a fresh
    claim token) and reserve their subscriptions; pushes already sent, ended, not yet due or
    held on a live lease by another sender are left out. One commit. Returns the token and
    the pushes to send (those whose user has no subscription left end no_quota here)."""
    now = utcnow()
    token = uuid.uuid4().hex
    lease = timedelta(seconds=current_app.config["PUSH_LEASE_SECONDS"])
    db.session.execute(
        update(MessagePush)
        .where(MessagePush.id.in_(push_ids),
               or_(and_(MessagePush.status == "pending", MessagePush.next_attempt_at <= now),
                   and_(MessagePush.status == "sending", MessagePush.lease_until < now)))
        .values(status="sending", lease_until=now + lease, claim_token=token,
                attempts=MessagePush.attempts + 1)
        .execution_options(synchronize_session=False))
    claimed = db.session.scalars(select(MessagePush).where(MessagePush.claim_token == token)
                                 .order_by(MessagePush.id)
                                 .execution_options(populate_existing=True)).all()
    to_send = [_Outgoing(push.id, push.event, push.channel, push.user_id, push.staff_id,
                         push.template_id, push.data, push.page)
               for push in _reserve_quota(claimed)]
    db.session.commit()
    return token, to_send


def _reserve_quota(claimed: list[MessagePush]) -> list[MessagePush]:
    """One subscription per subscribe push not yet holding one, taken from the ledger rows
    locked in one query; a push whose user has none left ends no_quota without a call."""
    needing = [push for push in claimed if push.channel == "subscribe" and not push.quota_reserved]
    if not needing:
        return claimed
    quotas = {(row.user_id, row.template_id): row for row in db.session.scalars(
        select(SubscriptionQuota).where(
            SubscriptionQuota.user_id.in_({push.user_id for push in needing}),
            SubscriptionQuota.template_id.in_({push.template_id for push in needing}))
        .with_for_update().execution_options(populate_existing=True))}
    for push in needing:
        quota = quotas.get((push.user_id, push.template_id))
        if quota is not None and quota.remaining > 0:
            quota.remaining -= 1
            push.quota_reserved = True
        else:
            push.status, push.lease_until, push.claim_token = "no_quota", None, None
    return [push for push in claimed if push.status == "sending"]


def _openids(pushes: list[_Outgoing]) -> dict[tuple[str, int], str]:
    """(channel, recipient id) → openid, for recipients who can still receive messages."""
    from app.staff.models import StaffUser
    from app.users.models import User

    found = {}
    user_ids = {push.user_id for push in pushes if push.channel == "subscribe"}
    if user_ids:
        found.update((("subscribe", user_id), openid) for user_id, openid in db.session.execute(
            select(User.id, User.openid).where(User.id.in_(user_ids), User.status == "active")))
    staff_ids = {push.staff_id for push in pushes if push.channel == "official"}
    if staff_ids:
        found.update((("official", staff_id), openid) for staff_id, openid in db.session.execute(
            select(StaffUser.id, StaffUser.official_openid).where(
                StaffUser.id.in_(staff_ids), StaffUser.is_active.is_(True),
                StaffUser.official_openid.is_not(None))))
    db.session.rollback()  # nothing is held open while WeChat is called
    return found


def _send(push: _Outgoing, openid: str) -> tuple[str, str | None]:
    """Call WeChat once; the outcome (sent, no_quota, retry, failed) and the error text."""
    try:
        if push.channel == "official":
            official_account.send_template_message(openid, push.template_id, push.data,
                                                   pagepath=push.page)
        else:
            miniprogram.send_subscribe_message(openid, push.template_id, push.data,
                                               page=push.page)
        return "sent", None
    except WeChatApiError as exc:
        error = f"{exc.errcode} {exc.errmsg}"
        if exc.errcode == NO_QUOTA:
            return "no_quota", error
        if exc.errcode in TRANSIENT_ERRCODES or exc.errcode in TOKEN_ERRCODES:
            return "retry", error
        return "failed", error  # 40003 bad openid, 40037 bad template, 47003 bad data …
    except WeChatUnavailable as exc:
        return "retry", exc.message


@retry_deadlock
def _finish(token: str, outcomes: dict[int, tuple[str, str | None]]):
    """Record what happened to each push this claim still holds (a push whose lease ran out
    and was claimed again is the new claim's to record). One commit."""
    held = db.session.scalars(select(MessagePush).where(
        MessagePush.claim_token == token, MessagePush.id.in_(list(outcomes)))
        .with_for_update().execution_options(populate_existing=True)).all()
    now = utcnow()
    backoff = current_app.config["PUSH_RETRY_BACKOFF"]
    spent_out, given_back = [], []
    for push in held:
        outcome, error = outcomes[push.id]
        push.lease_until, push.claim_token = None, None
        push.last_error = error[:200] if error else None
        if outcome == "sent":
            push.status, push.sent_at = "sent", now
        elif outcome == "no_quota":  # WeChat has none left, whatever our copy said
            push.status, push.quota_reserved = "no_quota", False
            spent_out.append(push)
        elif outcome == "retry" and push.attempts <= len(backoff):
            delay = backoff[push.attempts - 1]
            push.status, push.next_attempt_at = "pending", now + timedelta(seconds=delay)
            _enqueue(push, delay_seconds=delay)
        else:  # failed, or out of retries
            push.status = "failed"
            if push.quota_reserved:
                push.quota_reserved = False
                given_back.append(push)
    # ledger rows in one order (user, template), as the claim locks them
    spent_out.sort(key=lambda push: (push.user_id, push.template_id))
    given_back.sort(key=lambda push: (push.user_id, push.template_id))
    for push in spent_out:
        db.session.execute(update(SubscriptionQuota).where(
            SubscriptionQuota.user_id == push.user_id,
            SubscriptionQuota.template_id == push.template_id).values(remaining=0)
            .execution_options(synchronize_session=False))
    for push in given_back:
        db.session.execute(update(SubscriptionQuota).where(
            SubscriptionQuota.user_id == push.user_id,
            SubscriptionQuota.template_id == push.template_id)
            .values(remaining=SubscriptionQuota.remaining + 1)
            .execution_options(synchronize_session=False))
    db.session.commit()


def deliver_many(push_ids: list[int]) -> dict[int, str]:
    """Send each due, unsent push among `push_ids` once: one claim, one WeChat call per push,
    one commit for all outcomes. Returns push id → outcome for the pushes this call claimed
    (sent, no_quota, retry, failed); pushes it did not claim are left out."""
    token, to_send = _claim(list(push_ids))
    outcomes: dict[int, tuple[str, str | None]] = {}
    openids = _openids(to_send) if to_send else {}
    for push in to_send:
        openid = openids.get(push.recipient)
        outcomes[push.id] = (_send(push, openid) if openid else
                             ("failed", "收件人不可用(无 openid、已停用或已封禁)"))
        log.info("push %s (%s) → %s %s", push.id, push.event, *outcomes[push.id])
    if outcomes:
        _finish(token, outcomes)
    results = {push_id: outcome for push_id, (outcome, _error) in outcomes.items()}
    return results


def deliver(push_id: int) -> str | None:
    """Send one push if it is due and not sent; its outcome, or None: nothing to do (sent,
    ended, not yet due, held by another sender, or no subscription left)."""
    return deliver_many([push_id]).get(push_id)


def sweep(limit: int = 500) -> int:
    """Re-enqueue pushes a lost job left behind: pending and due for a minute, or sending with
    a lease that ran out (the sender died). Claiming makes a duplicate job harmless."""
    now = utcnow()
    overdue = now - timedelta(seconds=60)
    ids = db.session.scalars(select(MessagePush.id).where(or_(
        and_(MessagePush.status == "pending", MessagePush.next_attempt_at <= overdue),
        and_(MessagePush.status == "sending", MessagePush.lease_until < now)))
        .order_by(MessagePush.id).limit(limit)).all()
    db.session.rollback()
    from app.tasks.notifications import deliver_push

    queue = jobs.queue("push")
    for push_id in ids:
        queue.enqueue(deliver_push.job_name, args=(push_id,))
    return len(ids)
