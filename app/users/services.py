"""The account itself and its real-name verification."""
from sqlalchemy import select

from app.common.identity import id_number_error, normalize_id_number
from app.common.crypto import cipher
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.files.services import owned_file
from app.users.models import RealNameVerification, User


class RealNamePending(Conflict):
    code = "real_name_pending"
    message = "实名认证正在审核中,请耐心等待"


class RealNameAlreadyVerified(Conflict):
    code = "real_name_verified"
    message = "已完成实名认证,无需重复提交"


class IdNumberTaken(Conflict):
    code = "id_number_taken"
    message = "该证件已被其他账号实名认证"


def update_profile(actor: User, changes: dict) -> User:
    for field in ("nickname", "avatar_url", "gender"):
        if field in changes:
            setattr(actor, field, changes[field])
    db.session.commit()
    return actor


def latest_real_name(actor: User) -> RealNameVerification:
    record = db.session.scalar(
        select(RealNameVerification).where(RealNameVerification.user_id == actor.id)
        .order_by(RealNameVerification.id.desc()).limit(1))
    if record is None:
        raise NotFound("尚未提交实名认证", code="real_name_not_submitted")
    return record


def submit_real_name(actor: User, data: dict) -> RealNameVerification:
    if actor.real_name_status == "verified":
        raise RealNameAlreadyVerified()
    if actor.real_name_status == "pending":
        raise RealNamePending()
    id_number = normalize_id_number(data["id_type"], data["id_number"])
    problem = id_number_error(data["id_type"], id_number)
    if problem:
        raise ValidationFailed(problem, code="invalid_id_number", details={"id_number": [problem]})
    photo = owned_file(actor, data["id_photo_file_id"], purpose="id_photo")
    index = cipher().blind_index(id_number, f"id:{data['id_type']}")
    taken = db.session.scalar(select(RealNameVerification.id).where(
        RealNameVerification.id_number_index == index,
        RealNameVerification.status == "verified",
        RealNameVerification.user_id != actor.id).limit(1))
    if taken:
        raise IdNumberTaken()
    record = RealNameVerification(user_id=actor.id, id_photo_file_id=photo.id, status="pending")
    record.set_identity(data["name"], data["id_type"], id_number)
    db.session.add(record)
    actor.real_name_status = "pending"
    db.session.commit()
    return record
