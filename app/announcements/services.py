"""Announcements: staff broadcast a message to every user of a segment. Everyone gets it in the
inbox; those with an announcement subscription left also get a WeChat subscribe message.

Sending is a chain of batch jobs, one per ANNOUNCEMENT_BATCH_SIZE recipients in user id order.
A batch locks the announcement, takes the users after `cursor_user_id`, writes their inbox rows
and pushes in bulk, moves the cursor and commits once; after the commit it enqueues the pushes
(deliver_pushes, PUSH_BATCH_SIZE each, queue "push") and the next batch. The cursor moves in
the same commit as the rows it covers, so a batch run twice, or run again after a crash
between its commit and its enqueues, starts after what is already written: nothing is counted
or sent twice (pushes left without a job are picked up by the push sweep; a chain left without
its next batch by resume_stalled).

Recipients are the segment's active users who existed when the announcement was created, so
`total` (counted then) is what the batches reach, less anyone banned or leaving the segment
meanwhile.
"""
import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, insert, or_, select

from app.announcements.models import Announcement
from app.booking.models import Registration
from app.caregivers.models import Caregiver
from app.care_orders.models import CareOrder
from app.common.deadlock import retry_deadlock
from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import NotFound, ValidationFailed
from app.extensions import db, jobs
from app.hospitals.models import Hospital
from app.notifications import delivery
from app.notifications.models import MessagePush, Notification, SubscriptionQuota
from app.users.models import User

log = logging.getLogger("app.announcements")

EVENT = "announcement"  # the inbox kind, the push event and its ref_type
ANNOUNCEMENT_BATCH_SIZE = 500  # recipients per batch job unless the config says otherwise
MAX_RANGE_DAYS = 366
# Caregivers who hear platform news: listed (approved) and suspended ones, who are still ours
# and need the rules they must meet to be listed again; not drafts, applicants or the rejected.
CAREGIVER_STATUSES = ("approved", "suspended")
# a registration that was really booked (paid): not unpaid, closed, cancelled or stopped
BOOKED_STATUSES = ("booked", "visited", "no_show")
STALLED_AFTER_SECONDS = 120  # a chain with no batch for this long lost its next job


class AnnouncementNotFound(NotFound):
    code = "announcement_not_found"
    message = "公告不存在"


class CityCodeRequired(ValidationFailed):
    code = "city_code_required"
    message = "按城市发送时须填写城市代码"


class DateRangeRequired(ValidationFailed):
    code = "date_range_required"
    message = "按就诊日期发送时须填写开始和结束日期"


class DateRangeReversed(ValidationFailed):
    code = "date_range_reversed"
    message = "开始日期不能晚于结束日期"


class DateRangeTooLong(ValidationFailed):
    code = "date_range_too_long"
    message = f"日期范围不能超过 {MAX_RANGE_DAYS} 天"


class SegmentFieldNotAllowed(ValidationFailed):
    code = "segment_field_not_allowed"
    message = "该发送范围不需要此字段"


CREATE_ERRORS = (CityCodeRequired, DateRangeRequired, DateRangeReversed, DateRangeTooLong,
                 SegmentFieldNotAllowed)


def _field_error(error_class, field: str):
    return error_class(details={field: [error_class.message]})


def _check_segment(segment, city_code, date_from, date_to):
    if segment == "city" and not city_code:
        raise _field_error(CityCodeRequired, "city_code")
    if segment != "city" and city_code:
        raise _field_error(SegmentFieldNotAllowed, "city_code")
    if segment == "booking_range":
        for field, value in (("date_from", date_from), ("date_to", date_to)):
            if value is None:
                raise _field_error(DateRangeRequired, field)
        if date_from > date_to:
            raise _field_error(DateRangeReversed, "date_to")
        if (date_to - date_from).days + 1 > MAX_RANGE_DAYS:
            raise _field_error(DateRangeTooLong, "date_to")
    else:
        for field, value in (("date_from", date_from), ("date_to", date_to)):
            if value is not None:
                raise _field_error(SegmentFieldNotAllowed, field)


def recipients(announcement: Announcement):
    """SELECT users.id of everyone the announcement is for (unordered)."""
    created = (select(Announcement.created_at).where(Announcement.id == announcement.id)
               .scalar_subquery())  # the stored value: the count and every batch agree
    statement = select(User.id).where(User.status == "active", User.created_at <= created)
    if announcement.segment == "caregivers":
        statement = statement.where(User.id.in_(select(Caregiver.user_id).where(
            Caregiver.status.in_(CAREGIVER_STATUSES))))
    elif announcement.segment == "city":
        code = announcement.city_code
        statement = statement.where(or_(
            User.id.in_(select(Registration.user_id).join(
                Hospital, Hospital.id == Registration.hospital_id).where(
                Hospital.city_code == code)),
            User.id.in_(select(CareOrder.user_id).where(CareOrder.city_code == code)),
            User.id.in_(select(Caregiver.user_id).where(
                Caregiver.city_code == code, Caregiver.status.in_(CAREGIVER_STATUSES)))))
    elif announcement.segment == "booking_range":
        statement = statement.where(User.id.in_(select(Registration.user_id).where(
            Registration.visit_date.between(announcement.date_from, announcement.date_to),
            Registration.status.in_(BOOKED_STATUSES))))
    return statement


@retry_deadlock
def create_announcement(actor, *, title: str, body: str, segment: str, page: str | None = None,
                        city_code: str | None = None, date_from=None, date_to=None) -> dict:
    """Record the announcement with its recipient count and start the batches (after the
    commit). An empty segment is completed at once."""
    from app.tasks.announcements import send_announcement_batch

    _check_segment(segment, city_code, date_from, date_to)
    now = utcnow()
    announcement = Announcement(
        title=title, body=body, page=page, segment=segment, city_code=city_code,
        date_from=date_from, date_to=date_to, status="sending", total=0, inbox_count=0,
        cursor_user_id=0, created_by_staff_id=actor.id, created_at=now, updated_at=now)
    db.session.add(announcement)
    db.session.flush()
    announcement.total = db.session.scalar(
        select(func.count()).select_from(recipients(announcement).subquery()))
    if announcement.total:
        jobs.enqueue_after_commit(db.session, send_announcement_batch, announcement.id)
    else:
        announcement.complete(now)
    db.session.commit()
    log.info("announcement %s by staff %s: %s recipients (%s)", announcement.id, actor.id,
             announcement.total, segment)
    return _with_progress([announcement])[0]


def _add_pushes(announcement: Announcement, user_ids: list[int]) -> list[MessagePush]:
    """A push for each of `user_ids` with an announcement subscription left (one query for
    all of them); the others get the inbox message only."""
    template = delivery.active_template(EVENT, "subscribe")  # None: pushes are off
    if template is None or not user_ids:
        return []
    subscribed = db.session.scalars(select(SubscriptionQuota.user_id).where(
        SubscriptionQuota.template_id == template["template_id"],
        SubscriptionQuota.remaining > 0, SubscriptionQuota.user_id.in_(user_ids))).all()
    if announcement.page:
        template = {**template, "page": announcement.page}
    context = {"title": announcement.title, "body": announcement.body,
               "time": announcement.created_at}
    return [delivery.new_push(
        event=EVENT, template=template, context=context, ref_type=EVENT,
        ref_id=announcement.id, user_id=user_id, announcement_id=announcement.id,
        dedup_key=f"{EVENT}:{EVENT}:{announcement.id}:u{user_id}")
        for user_id in sorted(subscribed)]


@retry_deadlock
def send_batch(announcement_id: int) -> dict | None:
    """One batch: inbox rows and pushes for the next users after the cursor, one commit; then
    the pushes' jobs and the next batch. None when the announcement is gone or complete."""
    from app.tasks.announcements import send_announcement_batch
    from app.tasks.notifications import deliver_pushes

    # the lock serialises two runs of the same batch (a retry, a resumed chain)
    announcement = db.session.get(Announcement, announcement_id, with_for_update=True,
                                  populate_existing=True)
    if announcement is None or announcement.status != "sending":
        db.session.rollback()
        return None
    size = current_app.config.get("ANNOUNCEMENT_BATCH_SIZE", ANNOUNCEMENT_BATCH_SIZE)
    user_ids = db.session.scalars(recipients(announcement).where(
        User.id > announcement.cursor_user_id).order_by(User.id).limit(size)).all()
    now = utcnow()
    new_ids, push_ids = [], []
    if user_ids:
        have = set(db.session.scalars(select(Notification.user_id).where(
            Notification.user_id.in_(user_ids), Notification.kind == EVENT,
            Notification.ref_type == EVENT, Notification.ref_id == announcement.id)))
        new_ids = [user_id for user_id in user_ids if user_id not in have]
        if new_ids:
            db.session.execute(insert(Notification), [{
                "user_id": user_id, "kind": EVENT, "title": announcement.title,
                "body": announcement.body, "ref_type": EVENT, "ref_id": announcement.id,
                "created_at": now, "updated_at": now} for user_id in new_ids])
        pushes = _add_pushes(announcement, new_ids)
        db.session.flush()
        push_ids = [push.id for push in pushes]
        announcement.cursor_user_id = user_ids[-1]
        announcement.inbox_count += len(new_ids)
    if len(user_ids) < size:
        announcement.complete(now)
    else:
        jobs.enqueue_after_commit(db.session, send_announcement_batch, announcement.id)
    chunk = current_app.config["PUSH_BATCH_SIZE"]
    for start in range(0, len(push_ids), chunk):
        jobs.enqueue_after_commit(db.session, deliver_pushes, push_ids[start:start + chunk],
                                  queue="push")
    db.session.commit()
    return {"users": len(user_ids), "inbox": len(new_ids), "pushes": len(push_ids),
            "cursor_user_id": announcement.cursor_user_id,
            "completed": announcement.status == "completed"}


def resume_stalled(older_than_seconds: int = STALLED_AFTER_SECONDS) -> list[int]:
    """Restart chains that lost their next batch job (a crash between a batch's commit and its
    enqueue, a Redis flush). A batch job that was only slow to start runs as well: the lock
    and the cursor make the two take different users."""
    from app.tasks.announcements import send_announcement_batch

    before = utcnow() - timedelta(seconds=older_than_seconds)
    ids = db.session.scalars(select(Announcement.id).where(
        Announcement.status == "sending", Announcement.updated_at < before)).all()
    db.session.rollback()
    queue = jobs.queue("default")
    for announcement_id in ids:
        queue.enqueue(send_announcement_batch.job_name, args=(announcement_id,))
    return ids


# ---- progress ----------------------------------------------------------------------------------

def _with_progress(announcements: list[Announcement]) -> list[dict]:
    """Each announcement with its push counts (one grouped query for all of them).

    status is completed once every inbox row is written and every push has an outcome;
    finished_at is when the last of those happened."""
    ids = [announcement.id for announcement in announcements]
    counts: dict[int, dict] = {announcement_id: {} for announcement_id in ids}
    last_push: dict[int, object] = {}
    if ids:
        for announcement_id, status, count, updated in db.session.execute(
                select(MessagePush.announcement_id, MessagePush.status, func.count(),
                       func.max(MessagePush.updated_at))
                .where(MessagePush.announcement_id.in_(ids))
                .group_by(MessagePush.announcement_id, MessagePush.status)):
            counts[announcement_id][status] = count
            if last_push.get(announcement_id) is None or updated > last_push[announcement_id]:
                last_push[announcement_id] = updated
    result = []
    for announcement in announcements:
        by_status = counts[announcement.id]
        pushes = {"total": sum(by_status.values()), "sent": by_status.get("sent", 0),
                  "failed": by_status.get("failed", 0),
                  "no_quota": by_status.get("no_quota", 0),
                  "pending": by_status.get("pending", 0) + by_status.get("sending", 0)}
        done = announcement.status == "completed" and not pushes["pending"]
        finished_at = None
        if done:
            finished_at = max(moment for moment in (announcement.finished_at,
                                                    last_push.get(announcement.id)) if moment)
        result.append({
            "id": announcement.id, "title": announcement.title, "body": announcement.body,
            "page": announcement.page, "segment": announcement.segment,
            "city_code": announcement.city_code, "date_from": announcement.date_from,
            "date_to": announcement.date_to, "status": "completed" if done else "sending",
            "total": announcement.total, "inbox_count": announcement.inbox_count,
            "pushes": pushes, "created_by_staff_id": announcement.created_by_staff_id,
            "created_at": announcement.created_at, "finished_at": finished_at})
    return result


def get_announcement(actor, *, announcement_id: int) -> dict:
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        raise AnnouncementNotFound()
    return _with_progress([announcement])[0]


def list_announcements(actor, *, page: int = 1, page_size: int = 20) -> dict:
    """Newest first, each with its progress."""
    result = paginate(select(Announcement).order_by(Announcement.id.desc()), page, page_size)
    result["items"] = _with_progress(list(result["items"]))
    return result
