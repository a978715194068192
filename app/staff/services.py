"""Staff accounts, staff login, and the review and moderation actions staff screens call."""
import hashlib
import logging
import math
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, select

from app.audit.listeners import record_action
from app.common.auth import issue_token
from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import AppError, Forbidden, NotFound, ValidationFailed
from app.extensions import db, jobs, redis_client
from app.notifications.services import notify
from app.staff.models import STAFF_ROLES, StaffUser, UserWarningRecord
from app.users.models import RealNameVerification, User
from app.users.services import tell_real_name_reviewed

log = logging.getLogger("app.staff")
_hasher = PasswordHasher()
# verifying against this keeps "no such user" as slow as "wrong password"
_DUMMY_HASH = _hasher.hash("timing-equaliser")


class UserNotFound(NotFound):
    code = "user_not_found"
    message = "用户不存在"


class RealNameNotFound(NotFound):
    code = "real_name_not_found"
    message = "实名认证记录不存在"


class BadCredentials(AppError):
    status = 401
    code = "bad_credentials"
    message = "用户名或密码错误"


def create_staff(username: str, password: str, role: str, display_name: str | None = None,
                 ) -> StaffUser:
    if role not in STAFF_ROLES:
        raise ValidationFailed(f"角色应为 {', '.join(STAFF_ROLES)} 之一", code="invalid_role")
    if len(password) < 10:
        raise ValidationFailed("密码至少 10 位", code="weak_password")
    if db.session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise ValidationFailed("用户名已存在", code="username_taken")
    staff = StaffUser(username=username, display_name=display_name or username, role=role,
                      password_hash=_hasher.hash(password), is_active=True)
    db.session.add(staff)
    db.session.commit()
    return staff


def link_staff_user(username: str, user_id: int) -> StaffUser:
    """Record that this staff member is also mini-program user `user_id` (reviewers never
    decide their own caregiver application or documents)."""
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == username)
                              .with_for_update())
    if staff is None:
        raise ValidationFailed("工作人员账号不存在", code="staff_not_found")
    if db.session.get(User, user_id) is None:
        db.session.rollback()
        raise UserNotFound()
    taken = db.session.scalar(select(StaffUser.username).where(StaffUser.user_id == user_id,
                                                               StaffUser.id != staff.id))
    if taken:
        db.session.rollback()
        raise ValidationFailed(f"该用户已关联工作人员 {taken}", code="user_already_linked")
    staff.user_id = user_id
    db.session.commit()
    return staff


class AccountLocked(AppError):
    status = 429
    code = "account_locked"
    message = "登录失败次数过多,账号已暂时锁定"


def login(username: str, password: str) -> dict:
    """Password login with a per-account lockout, whatever the source address: after
    STAFF_LOGIN_MAX_FAILURES consecutive failures the account is locked for
    STAFF_LOGIN_LOCK_SECONDS, doubling with every further failure up to
    STAFF_LOGIN_LOCK_MAX_SECONDS; a success resets it. While locked the answer is the same
    whether the password is right or wrong (it is not even checked)."""
    attempt = _count_attempt(username)
    try:
        _hasher.verify(attempt["password_hash"] if attempt else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise BadCredentials()
    if attempt is None or not attempt["is_active"]:
        raise BadCredentials()
    staff = db.session.scalar(select(StaffUser).where(StaffUser.id == attempt["id"])
                              .with_for_update())
    staff.failed_login_count, staff.locked_until = 0, None
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    staff.last_login_at = utcnow()
    db.session.commit()
    return {"token": issue_token("staff", staff.id, staff.token_version), "staff": staff}


def _count_attempt(username: str) -> dict | None:
    """Counts the attempt as a failure, and locks the account if that was one too many, in
    its own commit BEFORE the password is checked: concurrent guesses each see the ones before
    them (so a burst cannot slip in more than the allowed number), and no transaction is open
    during the slow hash (on SQLite any transaction holds the write lock). A success then
    resets the count. Returns what the check needs, read before the commit."""
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == username)
                              .with_for_update())
    if staff is None:
        db.session.rollback()
        _count_unknown_attempt(username)
        return None
    now = utcnow()
    if staff.locked_until and staff.locked_until > now:
        retry_after = staff.locked_until - now
        db.session.rollback()
        raise _locked(retry_after.total_seconds())
    staff.failed_login_count = (staff.failed_login_count or 0) + 1
    seconds = _lock_seconds(staff.failed_login_count)
    if seconds:
        staff.locked_until = now + timedelta(seconds=seconds)
        log.warning("staff %s locked for %s s after %s failed logins", staff.id, seconds,
                    staff.failed_login_count)
    attempt = {"id": staff.id, "password_hash": staff.password_hash,
               "is_active": staff.is_active}
    db.session.commit()
    return attempt


def _lock_seconds(failures: int) -> int:
    """How long `failures` consecutive failures lock an account (0: not yet)."""
    config = current_app.config
    excess = failures - int(config["STAFF_LOGIN_MAX_FAILURES"])
    if excess < 0:
        return 0
    return min(int(config["STAFF_LOGIN_LOCK_SECONDS"]) * 2 ** min(excess, 20),
               int(config["STAFF_LOGIN_LOCK_MAX_SECONDS"]))


def _count_unknown_attempt(username: str):
    """A username with no account locks the same way (in Redis), so the lock answer does not
    tell a guesser which usernames exist. A Redis outage skips this (the per-address limit
    still stands)."""
    key = "staff-login:unknown:" + hashlib.sha256(username.encode()).hexdigest()
    try:
        conn = redis_client.conn
        ttl = conn.pttl(key + ":lock")
        if ttl > 0:
            raise _locked(ttl / 1000)
        failures = conn.incr(key)
        conn.expire(key, int(current_app.config["STAFF_LOGIN_LOCK_MAX_SECONDS"]) * 2)
        seconds = _lock_seconds(failures)
        if seconds:
            conn.set(key + ":lock", 1, ex=seconds)
    except RedisError as exc:
        log.warning("staff login: unknown-username counter unavailable: %s", exc)


def _locked(seconds: float) -> AccountLocked:
    seconds = max(1, math.ceil(seconds))
    minutes = math.ceil(seconds / 60)  # for people; the exact seconds are in the details
    error = AccountLocked(f"登录失败次数过多,账号已暂时锁定,请 {minutes} 分钟后再试",
                          details={"retry_after_seconds": seconds})
    error.headers = {"Retry-After": str(seconds)}
    return error


def list_real_name_reviews(actor: StaffUser, status: str, page: int, page_size: int) -> dict:
    require_role(actor, "reviewer")
    statement = (select(RealNameVerification).where(RealNameVerification.status == status)
                 .order_by(RealNameVerification.id))
    result = paginate(statement, page, page_size)
    _mark_id_numbers_taken(result["items"])
    return result


# Submitting a number verified on another account is accepted like any other (the answer must
# not tell a prober which numbers are registered); the review resolves it.
ID_NUMBER_TAKEN_REASON = "该证件已被其他账号实名认证"


def _mark_id_numbers_taken(records):
    """Sets `id_number_taken` on each record: its number is verified on another account."""
    indexes = {record.id_number_index for record in records}
    verified = db.session.execute(select(RealNameVerification.id_number_index,
                                         RealNameVerification.user_id).where(
        RealNameVerification.id_number_index.in_(indexes),
        RealNameVerification.status == "verified")).all() if indexes else []
    for record in records:
        record.id_number_taken = any(index == record.id_number_index and user_id != record.user_id
                                     for index, user_id in verified)


def review_real_name(actor: StaffUser, verification_id: int, approve: bool,
                     reason: str | None = None) -> RealNameVerification:
    """pending → verified | rejected (a rejection needs a reason the user will read). Approving
    a number already verified on another account rejects it instead, with that reason."""
    require_role(actor, "reviewer")
    index = db.session.scalar(select(RealNameVerification.id_number_index)
                              .where(RealNameVerification.id == verification_id))
    if index is None:
        raise RealNameNotFound()
    # every submission of this number, locked in id order: two reviewers approving two
    # accounts' submissions of one number take turns, and the second sees the first's
    same_number = db.session.scalars(select(RealNameVerification)
                                     .where(RealNameVerification.id_number_index == index)
                                     .order_by(RealNameVerification.id).with_for_update()).all()
    record = next(r for r in same_number if r.id == verification_id)
    record.id_number_taken = any(other.status == "verified" and other.user_id != record.user_id
                                 for other in same_number)
    if approve and record.id_number_taken and record.status == "pending":
        approve, reason = False, ID_NUMBER_TAKEN_REASON
    user = db.session.get(User, record.user_id)
    if approve:
        record.approve(actor.id, utcnow())
        user.real_name_status = "verified"
        user.real_name_encrypted = record.name
    else:
        if not reason:
            raise ValidationFailed("驳回时请填写原因", code="reason_required",
                                   details={"reason": ["必填"]})
        record.reject(actor.id, utcnow(), reason)
        user.real_name_status = "rejected"
    tell_real_name_reviewed(record)
    db.session.commit()
    log.info("staff %s %s real-name %s", actor.id, "approved" if approve else "rejected", record.id)
    return record


def ban_user(actor: StaffUser, user_id: int, reason: str) -> User:
    require_role(actor, "operator")
    user = db.session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    user.ban(reason)
    db.session.commit()
    log.info("staff %s banned user %s", actor.id, user.id)
    return user


def unban_user(actor: StaffUser, user_id: int, reason: str | None = None) -> User:
    """banned → active; the reason (optional) stays on the user until the next ban."""
    require_role(actor, "operator")
    user = db.session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    user.unban(reason)
    db.session.commit()
    log.info("staff %s unbanned user %s", actor.id, user.id)
    return user


def warn_user(actor: StaffUser, user_id: int, reason: str) -> UserWarningRecord:
    """Records a warning and tells the user: the inbox message in this transaction, its WeChat
    push (when the user subscribed) after the commit. A banned user can be warned too: the
    record is what staff weigh later, and they read it once unbanned."""
    require_role(actor, "operator")
    user = db.session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    warning = UserWarningRecord(user_id=user.id, staff_id=actor.id, reason=reason)
    db.session.add(warning)
    db.session.flush()  # its id makes the message unique
    notify(user.id, "user_warned", "账号警告",
           f"您的账号收到平台警告,原因:{reason}。请遵守平台规则,多次违规将被封禁。",
           "user_warning", warning.id,
           context={"subject": "账号警告", "status": "警告", "reason": reason})
    db.session.commit()
    log.info("staff %s warned user %s", actor.id, user.id)
    return warning


def user_warnings(actor: StaffUser, user_ids: list[int], latest: int = 3) -> dict[int, dict]:
    """user id → {"count", "latest": the last `latest` warnings, newest first} for a page of
    users (two queries, whatever the page size)."""
    require_role(actor, "operator")
    if not user_ids:
        return {}
    counts = dict(db.session.execute(
        select(UserWarningRecord.user_id, func.count()).where(
            UserWarningRecord.user_id.in_(user_ids)).group_by(UserWarningRecord.user_id)).all())
    ranked = (select(UserWarningRecord.id, func.row_number().over(
        partition_by=UserWarningRecord.user_id, order_by=UserWarningRecord.id.desc())
        .label("rank")).where(UserWarningRecord.user_id.in_(user_ids)).subquery())
    recent = db.session.scalars(select(UserWarningRecord).join(
        ranked, ranked.c.id == UserWarningRecord.id).where(ranked.c.rank <= latest)
        .order_by(UserWarningRecord.id.desc())).all()
    summary = {user_id: {"count": counts.get(user_id, 0), "latest": []} for user_id in user_ids}
    for warning in recent:
        summary[warning.user_id]["latest"].append(warning)
    return summary


class UnknownQueue(ValidationFailed):
    code = "unknown_queue"
    message = "没有这个队列"


def retry_failed_jobs(actor: StaffUser, queue: str | None = None) -> int:
    """Requeue the failed jobs of `queue` (every queue when None). It changes Redis, not rows,
    so the audit entry is written explicitly, committed only once the requeue has happened."""
    require_role(actor, "admin")
    if queue is not None and queue not in current_app.config["RQ_QUEUES"]:
        raise UnknownQueue(details={"queue": ["没有这个队列"]})
    record_action(db.session, queue=queue or "*")
    count = jobs.retry_failed(queue)
    db.session.commit()
    log.info("staff %s requeued %s failed jobs of %s", actor.id, count, queue or "every queue")
    return count


def run_periodic_job(actor: StaffUser, name: str) -> dict:
    """Run a job of the cron table now (enqueued after the commit, with its audit entry)."""
    require_role(actor, "admin")
    entry = jobs.run_periodic_now(db.session, name)
    record_action(db.session, job=name)
    db.session.commit()
    log.info("staff %s ran periodic job %s", actor.id, name)
    return entry


def require_role(actor: StaffUser, role: str):
    """Staff services call this first: an active account with `role` (admins have all)."""
    if actor is None or not actor.is_active or not actor.has_role(role):
        raise Forbidden()
