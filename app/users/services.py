"""The account itself and its real-name verification."""
from sqlalchemy import select

from app.common.identity import id_number_error, normalize_id_number
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.files.services import owned_file
from app.notifications.services import notify
from app.users.models import RealNameVerification, User


class RealNamePending(Conflict):
    code = "real_name_pending"
    message = "实名认证正在审核中,请耐心等待"


class RealNameAlreadyVerified(Conflict):
    code = "real_name_verified"
    message = "已完成实名认证,无需重复提交"


class RealNameNotSubmitted(NotFound):
    code = "real_name_not_submitted"
    message = "尚未提交实名认证"


_KEEP = object()  # "not given": a PATCH changes only what it names


def update_profile(actor: User, *, nickname=_KEEP, avatar_url=_KEEP, gender=_KEEP) -> User:
    changes = {"nickname": nickname, "avatar_url": avatar_url, "gender": gender}
    for field, value in changes.items():
        if value is not _KEEP:
            setattr(actor, field, value)
    db.session.commit()
    return actor


def latest_real_name(actor: User) -> RealNameVerification:
    record = db.session.scalar(
        select(RealNameVerification).where(RealNameVerification.user_id == actor.id)
        .order_by(RealNameVerification.id.desc()).limit(1))
    if record is None:
        raise RealNameNotSubmitted()
    return record


def submit_real_name(actor: User, *, name: str, id_type: str, id_number: str,
                     id_photo_file_id: int) -> RealNameVerification:
    if actor.real_name_status == "verified":
        raise RealNameAlreadyVerified()
    if actor.real_name_status == "pending":
        raise RealNamePending()
    id_number = normalize_id_number(id_type, id_number)
    problem = id_number_error(id_type, id_number)
    if problem:
        raise ValidationFailed.for_field("id_number", problem, code="invalid_id_number")
    photo = owned_file(actor, id_photo_file_id, purpose="id_photo")
    # a number already verified on another account is accepted like any other: answering
    # differently would let anyone probe which ID numbers are registered. The review rejects
    # it (app/staff/services.py review_real_name).
    record = RealNameVerification(user_id=actor.id, id_photo_file_id=photo.id, status="pending")
    record.set_identity(name, id_type, id_number)
    db.session.add(record)
    actor.real_name_status = "pending"
    db.session.commit()
    return record


def tell_real_name_reviewed(record: RealNameVerification) -> None:
    """Inside the reviewer's transaction: the user's inbox says how the review ended, a
    rejection with its reason so it can be fixed and sent again (no name, no ID number)."""
    if record.status == "verified":
        notify(record.user_id, "real_name_approved", "实名认证已通过",
               "您的实名认证已通过审核,现在可以为就诊人预约挂号了。", "real_name", record.id,
               context={"subject": "实名认证", "status": "已通过"})
    elif record.status == "rejected":
        notify(record.user_id, "real_name_rejected", "实名认证未通过",
               f"您的实名认证未通过审核,原因:{record.reject_reason}。请修改后重新提交。",
               "real_name", record.id,
               context={"subject": "实名认证", "status": "未通过",
                        "reason": record.reject_reason})
