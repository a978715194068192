"""A caregiver's documents (ID card, nursing certificates, health certificate), their review by
staff, and the daily expiry check.

Locks: the caregiver row first, then qualification rows (docs/locking.md). Caregiver status
changes only through the Caregiver model's methods (suspend/reinstate); this module must not
import app.caregivers.services (that one imports this)."""
import logging
import re
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from app.caregivers.models import Caregiver
from app.common.crypto import cipher
from app.common.deadlock import retry_deadlock
from app.common.identity import id_number_error, normalize_id_number
from app.common.pagination import paginate
from app.common.time import local_today, utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.files.models import StoredFile
from app.files.services import FileNotFound
from app.notifications.services import notify
from app.qualifications.models import (QUALIFICATION_KINDS, Qualification,
                                       QualificationFile)
from app.staff.models import StaffUser
from app.caregivers.ownership import CaregiverNotFound, own_caregiver  # noqa: F401  (views name it)

log = logging.getLogger("app.qualifications")

MAX_PER_CAREGIVER = 10
# kinds a caregiver holds one of at a time (plus one pending renewal of an approved one)
SINGLE_KINDS = ("id_card", "health_certificate")
ID_CARD_TITLE = "居民身份证"
IMAGE_TYPES = ("image/jpeg", "image/png")
DOCUMENT_TYPES = IMAGE_TYPES + ("application/pdf",)
_CERTIFICATE_NUMBER = re.compile(r"^[A-Za-z0-9-]{4,64}$")
BATCH = 200



class QualificationNotFound(NotFound):
    code = "qualification_not_found"
    message = "资质证件不存在"


class FileTypeNotAllowed(ValidationFailed):
    code = "file_type_not_allowed"
    message = "身份证只能上传图片(JPEG 或 PNG)"


class InvalidIdNumber(ValidationFailed):
    code = "invalid_id_number"
    message = "证件号码格式不正确"


class InvalidDates(ValidationFailed):
    code = "invalid_dates"
    message = "有效期截止日期应晚于发证日期"


class ExpiryRequired(ValidationFailed):
    code = "expiry_required"
    message = "该证件需填写有效期截止日期"


class AlreadyExpired(ValidationFailed):
    code = "already_expired"
    message = "证件已过期,请上传有效期内的证件"


class ExpiredCannotBeApproved(Conflict):
    code = "already_expired"
    message = "证件已过期,不能通过审核"


class QualificationNumberTaken(Conflict):
    code = "qualification_number_taken"
    message = "该证件号码已被其他护工使用"


class QualificationLimitReached(Conflict):
    code = "qualification_limit_reached"
    message = f"每位护工最多保存 {MAX_PER_CAREGIVER} 份资质证件"


class QualificationAlreadyPending(Conflict):
    code = "qualification_already_pending"
    message = "已有同类证件正在审核中,请勿重复提交"


class QualificationLocked(Conflict):
    code = "invalid_state_transition"
    message = "已通过审核的证件不能修改或删除"


class ReasonRequired(ValidationFailed):
    code = "reason_required"
    message = "驳回时请填写原因"


class ReviewOwnApplication(Forbidden):
    code = "review_own_application"
    message = "不能审核自己提交的资料"


# ---------------------------------------------------------------- the owner's documents

def _my_qualification(caregiver: Caregiver, qualification_id: int, *,
                      lock: bool = False) -> Qualification:
    statement = select(Qualification).where(Qualification.id == qualification_id,
                                            Qualification.caregiver_id == caregiver.id)
    if lock:
        statement = statement.with_for_update()
    qualification = db.session.scalar(statement)
    if qualification is None:
        raise QualificationNotFound()
    return qualification


def list_qualifications(actor, *, page: int = 1, page_size: int = 20) -> dict:
    caregiver = own_caregiver(actor)
    statement = (select(Qualification).where(Qualification.caregiver_id == caregiver.id)
                 .order_by(Qualification.id))
    return paginate(statement, page, page_size)


def get_qualification(actor, *, qualification_id: int) -> Qualification:
    return _my_qualification(own_caregiver(actor), qualification_id)


_KEEP = object()


def create_qualification(actor, *, kind: str, number: str, file_ids: list[int],
                         title: str | None = None, issuer: str | None = None,
                         issued_on: date | None = None,
                         expires_on: date | None = None) -> Qualification:
    caregiver = own_caregiver(actor, lock=True)  # serialises this caregiver's limit checks
    if title is None and kind == "id_card":
        title = ID_CARD_TITLE
    if not title:
        raise ValidationFailed.for_field("title", "请填写证件名称", code="validation_error")
    number = _checked_number(kind, number)
    _check_dates(kind, issued_on, expires_on)
    files = _checked_files(actor, kind, file_ids)
    count = db.session.scalar(select(func.count()).select_from(Qualification)
                              .where(Qualification.caregiver_id == caregiver.id))
    if count >= MAX_PER_CAREGIVER:
        raise QualificationLimitReached()
    _check_one_at_a_time(caregiver.id, kind)
    number_index = cipher().blind_index(number, f"qualification:{kind}")
    _check_number_free(caregiver.id, kind, number_index)
    qualification = Qualification(caregiver_id=caregiver.id, kind=kind, title=title,
                                  number=number, number_index=number_index, issuer=issuer,
                                  issued_on=issued_on, expires_on=expires_on, status="pending",
                                  review_round=1)
    qualification.files = [QualificationFile(file_id=f.id) for f in files]
    db.session.add(qualification)
    db.session.commit()
    return qualification


def update_qualification(actor, *, qualification_id: int, title=_KEEP, number=_KEEP,
                         issuer=_KEEP, issued_on=_KEEP, expires_on=_KEEP,
                         file_ids=_KEEP) -> Qualification:
    """Only while pending or rejected; the result is (again) pending, in a new review round."""
    caregiver = own_caregiver(actor, lock=True)
    qualification = _my_qualification(caregiver, qualification_id, lock=True)
    if qualification.status == "approved":
        raise QualificationLocked(details={"from": "approved", "to": "pending"})
    kind = qualification.kind
    if title is not _KEEP and not title:
        raise ValidationFailed.for_field("title", "请填写证件名称", code="validation_error")
    if number is not _KEEP:
        number = _checked_number(kind, number)
    new_issued = qualification.issued_on if issued_on is _KEEP else issued_on
    new_expires = qualification.expires_on if expires_on is _KEEP else expires_on
    _check_dates(kind, new_issued, new_expires)
    files = None if file_ids is _KEEP else _checked_files(actor, kind, file_ids)
    if qualification.status == "rejected":
        _check_one_at_a_time(caregiver.id, kind, besides=qualification.id)
    if number is not _KEEP:
        index = cipher().blind_index(number, f"qualification:{kind}")
        _check_number_free(caregiver.id, kind, index)
        qualification.number, qualification.number_index = number, index
    qualification.resubmit()
    if title is not _KEEP:
        qualification.title = title
    if issuer is not _KEEP:
        qualification.issuer = issuer
    qualification.issued_on, qualification.expires_on = new_issued, new_expires
    if files is not None:
        # keep the link rows that stay (same primary key), add the new ones
        wanted = [f.id for f in files]
        kept = [link for link in qualification.files if link.file_id in wanted]
        have = {link.file_id for link in kept}
        qualification.files = kept + [QualificationFile(file_id=i) for i in wanted
                                      if i not in have]
    qualification.reject_reason = None
    qualification.reviewed_by_staff_id = qualification.reviewed_at = None
    qualification.expiry_warned_at = None
    db.session.commit()
    return qualification


def delete_qualification(actor, *, qualification_id: int) -> None:
    caregiver = own_caregiver(actor, lock=True)
    qualification = _my_qualification(caregiver, qualification_id, lock=True)
    if qualification.status == "approved":
        raise QualificationLocked(details={"from": "approved", "to": "deleted"})
    db.session.delete(qualification)
    db.session.commit()


def _checked_number(kind: str, number: str) -> str:
    if kind == "id_card":
        number = normalize_id_number("resident_id", number)
        problem = id_number_error("resident_id", number)
        if problem:
            raise InvalidIdNumber.for_field("number", problem, code="invalid_id_number")
        return number
    number = number.strip()
    if not _CERTIFICATE_NUMBER.match(number):
        raise InvalidIdNumber.for_field("number", "证书编号应为 4–64 位字母、数字或连字符",
                                        code="invalid_id_number")
    return number


def _check_dates(kind: str, issued_on: date | None, expires_on: date | None):
    if expires_on is None:
        if kind != "id_card":  # only an ID card may be long-term (长期)
            raise ExpiryRequired.for_field("expires_on", ExpiryRequired.message,
                                           code=ExpiryRequired.code)
        return
    if issued_on is not None and expires_on <= issued_on:
        raise InvalidDates.for_field("expires_on", InvalidDates.message, code=InvalidDates.code)
    if expires_on < local_today():
        raise AlreadyExpired.for_field("expires_on", AlreadyExpired.message,
                                       code=AlreadyExpired.code)
    if issued_on is not None and issued_on > local_today():
        raise InvalidDates.for_field("issued_on", "发证日期不能晚于今天", code=InvalidDates.code)


def _checked_files(actor, kind: str, file_ids: list[int]) -> list[StoredFile]:
    if len(set(file_ids)) != len(file_ids):
        raise ValidationFailed.for_field("file_ids", "文件不能重复", code="validation_error")
    records = db.session.scalars(select(StoredFile).where(StoredFile.id.in_(file_ids))).all()
    by_id = {record.id: record for record in records}
    # unknown and other people's files answer alike: never reveal that a file exists
    if any(by_id.get(i) is None or by_id[i].owner_user_id != actor.id for i in file_ids):
        raise FileNotFound()
    allowed = IMAGE_TYPES if kind == "id_card" else DOCUMENT_TYPES
    if any(by_id[i].content_type not in allowed for i in file_ids):
        raise FileTypeNotAllowed(details={"file_ids": [FileTypeNotAllowed.message]})
    return [by_id[i] for i in file_ids]


def _check_one_at_a_time(caregiver_id: int, kind: str, besides: int | None = None):
    """An ID card or health certificate: one pending at a time. An approved one does not block
    a new pending one: that is its renewal (the approved one stays valid until it expires)."""
    if kind not in SINGLE_KINDS:
        return
    statement = select(Qualification.status).where(
        Qualification.caregiver_id == caregiver_id, Qualification.kind == kind,
        Qualification.status == "pending")
    if besides is not None:
        statement = statement.where(Qualification.id != besides)
    if db.session.scalar(statement.limit(1)) is not None:
        raise QualificationAlreadyPending()


def _check_number_free(caregiver_id: int, kind: str, number_index: str):
    """One ID card backs one caregiver. A rejected submission does not hold the number (a
    mistaken or fraudulent one would block its real owner); the decision re-checks under
    lock, so two pending submissions racing in cannot both be approved."""
    if kind != "id_card":
        return
    taken = db.session.scalar(select(Qualification.id).where(
        Qualification.number_index == number_index, Qualification.kind == kind,
        Qualification.caregiver_id != caregiver_id,
        Qualification.status.in_(("pending", "approved"))).limit(1))
    if taken is not None:
        raise QualificationNumberTaken()


# ---------------------------------------------------------------- staff review

def require_reviewer(actor: StaffUser):
    if actor is None or not actor.is_active or not actor.has_role("reviewer"):
        raise Forbidden()


def _with_caregiver_names(qualifications):
    ids = {q.caregiver_id for q in qualifications}
    names = dict(db.session.execute(select(Caregiver.id, Caregiver.name)
                                    .where(Caregiver.id.in_(ids))).all()) if ids else {}
    for qualification in qualifications:
        qualification.caregiver_name = names.get(qualification.caregiver_id)
    return qualifications


def staff_list_qualifications(actor: StaffUser, *, status: str = "pending",
                              kind: str | None = None, caregiver_id: int | None = None,
                              page: int = 1, page_size: int = 20) -> dict:
    require_reviewer(actor)
    statement = select(Qualification).where(Qualification.status == status)
    if kind:
        statement = statement.where(Qualification.kind == kind)
    if caregiver_id:
        statement = statement.where(Qualification.caregiver_id == caregiver_id)
    result = paginate(statement.order_by(Qualification.id), page, page_size)
    _with_caregiver_names(result["items"])
    return result


def _with_files(qualification: Qualification) -> Qualification:
    ids = [link.file_id for link in qualification.files]
    qualification.stored_files = db.session.scalars(
        select(StoredFile).where(StoredFile.id.in_(ids)).order_by(StoredFile.id)
    ).all() if ids else []
    return qualification


def staff_get_qualification(actor: StaffUser, *, qualification_id: int) -> Qualification:
    require_reviewer(actor)
    qualification = db.session.get(Qualification, qualification_id)
    if qualification is None:
        raise QualificationNotFound()
    _with_caregiver_names([qualification])
    return _with_files(qualification)


@retry_deadlock
def decide(actor: StaffUser, *, qualification_id: int, approve: bool,
           reason: str | None = None) -> Qualification:
    """pending → approved | rejected(reason), with a message to the caregiver. Approving a
    required kind reinstates a caregiver the expiry job suspended once nothing is missing."""
    require_reviewer(actor)
    if not approve and not reason:
        raise ReasonRequired.for_field("reason", "必填", code=ReasonRequired.code)
    # the caregiver never changes, so it is read without a lock to lock it first
    caregiver_id = db.session.scalar(select(Qualification.caregiver_id)
                                     .where(Qualification.id == qualification_id))
    if caregiver_id is None:
        raise QualificationNotFound()
    caregiver = db.session.scalar(select(Caregiver).where(Caregiver.id == caregiver_id)
                                  .with_for_update())
    if actor.user_id is not None and actor.user_id == caregiver.user_id:
        raise ReviewOwnApplication()
    qualification = _lock_for_decision(qualification_id)
    today = local_today()
    if approve:
        if qualification.status == "pending" and qualification.expires_on is not None \
                and qualification.expires_on < today:
            raise ExpiredCannotBeApproved()
        if qualification.kind == "id_card" and qualification.status == "pending" and any(
                other.status == "approved" and other.caregiver_id != qualification.caregiver_id
                for other in qualification.same_number):
            raise QualificationNumberTaken()
        qualification.approve()
    else:
        qualification.reject(reason)
    qualification.reviewed_by_staff_id, qualification.reviewed_at = actor.id, utcnow()
    _tell_reviewed(caregiver, qualification)
    # suspension messages share app.caregivers.services' reference: one per suspension
    if (approve and qualification.kind in _required_kinds() and caregiver.status == "suspended"
            and caregiver.suspended_by == "expiry"
            and not missing_required_kinds(caregiver.id, today)):
        caregiver.reinstate()
        notify(caregiver.user_id, "caregiver_reinstated", "已恢复接单",
               "您更新的证件已通过审核,您的护工资料已恢复展示,可以继续接单。",
               "caregiver_suspension", caregiver.suspension_count,
               context={"subject": "护工接单资格", "status": "已恢复"})
    db.session.commit()
    log.info("staff %s %s qualification %s", actor.id, "approved" if approve else "rejected",
             qualification.id)
    _with_caregiver_names([qualification])
    return _with_files(qualification)


def _lock_for_decision(qualification_id: int) -> Qualification:
    """The qualification, locked (its caregiver already is, so its number and kind cannot
    change under us). An ID card locks every ID card with the same number instead, in id
    order (itself among them): two reviewers approving two caregivers' submissions of one
    number take turns, the second sees the first's, and neither holds a row the other needs
    first."""
    kind, number_index = db.session.execute(
        select(Qualification.kind, Qualification.number_index)
        .where(Qualification.id == qualification_id)).one_or_none() or (None, None)
    if kind is None:  # deleted by its owner meanwhile
        raise QualificationNotFound()
    if kind != "id_card":
        return db.session.scalar(select(Qualification).where(Qualification.id == qualification_id)
                                 .with_for_update())
    same_number = db.session.scalars(select(Qualification).where(
        Qualification.number_index == number_index, Qualification.kind == "id_card")
        .order_by(Qualification.id).with_for_update()).all()
    qualification = next(q for q in same_number if q.id == qualification_id)
    qualification.same_number = same_number
    return qualification


def _tell_reviewed(caregiver: Caregiver, qualification: Qualification):
    """Inside the reviewer's transaction; one message per review round (no number, no file)."""
    name = QUALIFICATION_KINDS[qualification.kind]
    ref_type = f"qualification:{qualification.review_round}"
    if qualification.status == "approved":
        notify(caregiver.user_id, "qualification_approved", "证件审核通过",
               f"您提交的{name}「{qualification.title}」已通过审核。", ref_type, qualification.id,
               context={"subject": _subject(qualification), "status": "已通过"})
    else:
        notify(caregiver.user_id, "qualification_rejected", "证件审核未通过",
               f"您提交的{name}「{qualification.title}」未通过审核,原因:"
               f"{qualification.reject_reason}。请修改后重新提交。", ref_type, qualification.id,
               context={"subject": _subject(qualification), "status": "未通过",
                        "reason": qualification.reject_reason})


def _subject(qualification: Qualification) -> str:
    """A document in a WeChat message: its title (else its kind), never its number."""
    return qualification.title or QUALIFICATION_KINDS[qualification.kind]


# ---------------------------------------------------------------- what others read

def _required_kinds() -> tuple[str, ...]:
    return tuple(current_app.config["CAREGIVER_REQUIRED_QUALIFICATIONS"])


def _valid_on(on_day: date):
    return and_(Qualification.status == "approved",
                or_(Qualification.expires_on.is_(None), Qualification.expires_on >= on_day))


def missing_required_kinds(caregiver_id: int, on_day: date | None = None) -> list[str]:
    """Required kinds (config order) with no approved qualification valid on `on_day`."""
    on_day = on_day or local_today()
    required = _required_kinds()
    held = set(db.session.scalars(select(Qualification.kind).distinct().where(
        Qualification.caregiver_id == caregiver_id, Qualification.kind.in_(required),
        _valid_on(on_day))))
    return [kind for kind in required if kind not in held]


def verified_badges(caregiver_ids: list[int], on_day: date | None = None, *,
                    session=None) -> dict[int, list]:
    """Per caregiver, one badge per kind with an approved qualification valid on `on_day`, in
    the order of QUALIFICATION_KINDS. Never numbers or files. `session`: where to read
    (default db.session; the public search passes replica.reader())."""
    session = session if session is not None else db.session
    on_day = on_day or local_today()
    ids = list(dict.fromkeys(caregiver_ids))
    held: dict[int, set] = {i: set() for i in ids}
    for start in range(0, len(ids), 500):
        rows = session.execute(select(Qualification.caregiver_id, Qualification.kind)
                               .distinct().where(
            Qualification.caregiver_id.in_(ids[start:start + 500]), _valid_on(on_day))).all()
        for caregiver_id, kind in rows:
            held[caregiver_id].add(kind)
    return {i: [{"kind": kind, "kind_name": name} for kind, name in QUALIFICATION_KINDS.items()
                if kind in held[i]] for i in ids}


# ---------------------------------------------------------------- the daily expiry job

def check_qualification_expiry(today: date | None = None) -> dict:
    """(a) warn once about every approved document that expires within
    QUALIFICATION_EXPIRY_WARNING_DAYS; (b) suspend every approved caregiver a required kind
    of which has lapsed. Idempotent; candidates are read in id batches and each caregiver is
    handled in its own transaction (caregiver row locked first)."""
    today = today or local_today()
    horizon = today + timedelta(days=int(current_app.config["QUALIFICATION_EXPIRY_WARNING_DAYS"]))
    warned = suspended = 0
    for caregiver_id in _batched(lambda after: select(Qualification.caregiver_id).distinct()
                                 .where(Qualification.status == "approved",
                                        Qualification.expiry_warned_at.is_(None),
                                        Qualification.expires_on >= today,
                                        Qualification.expires_on <= horizon,
                                        Qualification.caregiver_id > after)):
        warned += _warn_caregiver(caregiver_id, today, horizon)
    required = _required_kinds()
    renewed = aliased(Qualification)
    for caregiver_id in _batched(lambda after: select(Qualification.caregiver_id).distinct()
                                 .join(Caregiver, Caregiver.id == Qualification.caregiver_id)
                                 .where(Caregiver.status == "approved",
                                        Qualification.status == "approved",
                                        Qualification.kind.in_(required),
                                        Qualification.expires_on < today,
                                        Qualification.caregiver_id > after,
                                        ~exists().where(
                                            renewed.caregiver_id == Qualification.caregiver_id,
                                            renewed.kind == Qualification.kind,
                                            renewed.status == "approved",
                                            or_(renewed.expires_on.is_(None),
                                                renewed.expires_on >= today)))):
        suspended += _suspend_if_lapsed(caregiver_id, today)
    log.info("qualification expiry %s: %s warned, %s suspended", today, warned, suspended)
    return {"warned": warned, "suspended": suspended}


def _batched(statement_after):
    """Caregiver ids from `statement_after(last_id)`, BATCH at a time in id order."""
    after = 0
    while True:
        ids = db.session.scalars(statement_after(after).order_by(Qualification.caregiver_id)
                                 .limit(BATCH)).all()
        db.session.rollback()  # no snapshot or lock held between batches
        yield from ids
        if len(ids) < BATCH:
            return
        after = ids[-1]


@retry_deadlock
def _warn_caregiver(caregiver_id: int, today: date, horizon: date) -> int:
    caregiver = db.session.scalar(select(Caregiver).where(Caregiver.id == caregiver_id)
                                  .with_for_update())
    expiring = db.session.scalars(select(Qualification).where(
        Qualification.caregiver_id == caregiver_id, Qualification.status == "approved",
        Qualification.expiry_warned_at.is_(None), Qualification.expires_on >= today,
        Qualification.expires_on <= horizon).order_by(Qualification.id).with_for_update()).all()
    count = 0
    for qualification in expiring:
        if _renewed(qualification, horizon):
            continue  # its successor is already approved: nothing to do
        name = QUALIFICATION_KINDS[qualification.kind]
        notify(caregiver.user_id, "qualification_expiring", "证件即将到期",
               f"您的{name}「{qualification.title}」将于 {qualification.expires_on.isoformat()}"
               " 到期,请及时上传新证件并提交审核,以免影响接单。",
               "qualification", qualification.id,
               context={"subject": _subject(qualification), "status": "即将到期",
                        "reason": "请及时上传新证件并提交审核", "time": qualification.expires_on})
        qualification.expiry_warned_at = utcnow()
        count += 1
    db.session.commit()
    return count


def _renewed(qualification: Qualification, horizon: date) -> bool:
    """An ID card or health certificate with an approved successor valid past `horizon`."""
    if qualification.kind not in SINGLE_KINDS:
        return False
    return db.session.scalar(select(Qualification.id).where(
        Qualification.caregiver_id == qualification.caregiver_id,
        Qualification.kind == qualification.kind, Qualification.id != qualification.id,
        Qualification.status == "approved",
        or_(Qualification.expires_on.is_(None), Qualification.expires_on > horizon)
    ).limit(1)) is not None


@retry_deadlock
def _suspend_if_lapsed(caregiver_id: int, today: date) -> int:
    caregiver = db.session.scalar(select(Caregiver).where(Caregiver.id == caregiver_id)
                                  .with_for_update())
    missing = missing_required_kinds(caregiver_id, today) if caregiver.status == "approved" else []
    if not missing:
        db.session.rollback()
        return 0
    names = "、".join(QUALIFICATION_KINDS[kind] for kind in missing)
    caregiver.suspend("expiry", f"{names}已过期")
    notify(caregiver.user_id, "caregiver_suspended", "已暂停接单",
           f"您的{names}已过期,护工资料已暂停展示。请上传新证件,审核通过后将自动恢复。",
           "caregiver_suspension", caregiver.suspension_count,
           context={"subject": "护工接单资格", "status": "已暂停", "reason": f"{names}已过期"})
    db.session.commit()
    log.info("caregiver %s suspended: %s expired", caregiver_id, ",".join(missing))
    return 1
