"""Staff accounts, staff login, and the review and moderation actions staff screens call."""
import logging

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from app.common.auth import issue_token
from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import AppError, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.staff.models import STAFF_ROLES, StaffUser
from app.users.models import RealNameVerification, User

log = logging.getLogger("app.staff")
_hasher = PasswordHasher()
# verifying against this keeps "no such user" as slow as "wrong password"
_DUMMY_HASH = _hasher.hash("timing-equaliser")


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


def login(username: str, password: str) -> dict:
    staff = db.session.scalar(select(StaffUser).where(StaffUser.username == username))
    try:
        _hasher.verify(staff.password_hash if staff else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise BadCredentials()
    if staff is None or not staff.is_active:
        raise BadCredentials()
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    staff.last_login_at = utcnow()
    db.session.commit()
    return {"token": issue_token("staff", staff.id, staff.token_version), "staff": staff}


def list_real_name_reviews(actor: StaffUser, status: str, page: int, page_size: int) -> dict:
    require_role(actor, "reviewer")
    statement = (select(RealNameVerification).where(RealNameVerification.status == status)
                 .order_by(RealNameVerification.id))
    return paginate(statement, page, page_size)


def review_real_name(actor: StaffUser, verification_id: int, approve: bool,
                     reason: str | None = None) -> RealNameVerification:
    """pending → verified | rejected (a rejection needs a reason the user will read)."""
    require_role(actor, "reviewer")
    record = db.session.scalar(select(RealNameVerification)
                               .where(RealNameVerification.id == verification_id)
                               .with_for_update())
    if record is None:
        raise NotFound("实名认证记录不存在", code="real_name_not_found")
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
    db.session.commit()
    log.info("staff %s %s real-name %s", actor.id, "approved" if approve else "rejected", record.id)
    return record


def ban_user(actor: StaffUser, user_id: int, reason: str) -> User:
    require_role(actor, "operator")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在", code="user_not_found")
    user.ban(reason)
    db.session.commit()
    log.info("staff %s banned user %s", actor.id, user.id)
    return user


def unban_user(actor: StaffUser, user_id: int) -> User:
    require_role(actor, "operator")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在", code="user_not_found")
    user.unban()
    db.session.commit()
    return user


def require_role(actor: StaffUser, role: str):
    """Staff services call this first: an active account with `role` (admins have all)."""
    if actor is None or not actor.is_active or not actor.has_role(role):
        raise Forbidden()
