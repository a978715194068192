"""Caregiver onboarding and profile (the caregiver's own), prices and rules, the skill list and
price standards, and staff review of applications and revisions, suspend and reinstate.

Locks: the caregiver row first (SELECT … FOR UPDATE), then its revision rows (docs/locking.md).
Every refusal happens before anything is changed, and rolls the session back.
"""
import json
import logging
from datetime import date

from flask import current_app
from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from app.caregivers.models import (CAREGIVER_STATUSES, CARE_TYPES, PRICE_UNITS, REVISION_STATUSES,
                                   VETTED_FIELDS,
                                   Caregiver, CaregiverDistrict, CaregiverHospital,
                                   CaregiverPrice, CaregiverRevision, CaregiverSkill, CareSkill)
from app.common.masking import mask_name
from app.common.models import InvalidTransition
from app.common.pagination import paginate
from app.common.time import local_today, utcnow
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.extensions import db
from app.files.services import owned_file
from app.notifications.services import notify, notify_staff
from app.settings.services import get_setting, set_setting
from app.staff.models import StaffUser
from app.users.models import User
from app.caregivers.ownership import CaregiverNotFound, own_caregiver  # noqa: F401  (views name it)

log = logging.getLogger("app.caregivers")

PRICE_LIMITS_KEY = "care_price_limits"
PHOTO_TYPES = ("image/jpeg", "image/png")
MIN_WORKING_AGE = 16  # years of experience cannot start before this age


# ---- errors ------------------------------------------------------------------------------------


class CaregiverExists(Conflict):
    code = "caregiver_exists"
    message = "已提交过护工入驻申请"


class PhoneNotBound(Conflict):
    code = "phone_not_bound"
    message = "请先绑定手机号"


class CaregiverUnderReview(Conflict):
    code = "caregiver_under_review"
    message = "资料审核中,暂不能修改"


class UnknownSkill(ValidationFailed):
    code = "unknown_skill"
    message = "技能不在可选范围内"


class UnknownHospital(ValidationFailed):
    code = "unknown_hospital"
    message = "医院不存在或未开放"


class HospitalOutsideCity(ValidationFailed):
    code = "hospital_outside_city"
    message = "所选医院不在服务城市内"


class DistrictOutsideCity(ValidationFailed):
    code = "district_outside_city"
    message = "服务区县不属于所选城市"


class CityRequired(ValidationFailed):
    code = "city_required"
    message = "请先选择服务城市"


class InvalidBirthDate(ValidationFailed):
    code = "invalid_birth_date"
    message = "年龄不符合护工要求"


class InvalidExperience(ValidationFailed):
    code = "invalid_years_experience"
    message = "从业年限与年龄不符"


class PhotoNotImage(ValidationFailed):
    code = "photo_not_image"
    message = "照片须为 JPEG 或 PNG 图片"


class NightSurchargeOutOfRange(ValidationFailed):
    code = "night_surcharge_out_of_range"
    message = "夜间附加费超出平台上限"


class ProfileIncomplete(ValidationFailed):
    code = "profile_incomplete"
    message = "资料不完整,请补充后再提交"


class QualificationsMissing(ValidationFailed):
    code = "qualifications_missing"
    message = "请先上传必备证件"


class UnknownCareType(ValidationFailed):
    code = "unknown_care_type"
    message = "服务类型不存在"


class DuplicateCareType(ValidationFailed):
    code = "duplicate_care_type"
    message = "同一服务类型只能报一个价格"


class PriceOutOfRange(ValidationFailed):
    code = "price_out_of_range"
    message = "价格超出平台标准"


class RevisionNotFound(NotFound):
    code = "revision_not_found"
    message = "资料修改申请不存在"


class ReasonRequired(ValidationFailed):
    code = "reason_required"
    message = "驳回时请填写原因"


class QualificationsIncomplete(Conflict):
    code = "qualifications_incomplete"
    message = "必备证件未全部通过审核或已过期"


class ReviewOwnApplication(Forbidden):
    code = "review_own_application"
    message = "不能审核本人的申请"


class SkillRetired(Conflict):
    code = "skill_retired"
    message = "修改中的技能已停用,请驳回后让护工重新选择"


class SkillNotFound(NotFound):
    code = "skill_not_found"
    message = "技能不存在"


class SkillExists(Conflict):
    code = "skill_exists"
    message = "技能代码或名称已存在"


class PriceLimitsBusy(Conflict):
    code = "settings_busy"
    message = "价格标准正在被其他人修改,请稍后重试"


# ---- reference data ----------------------------------------------------------------------------

def price_limits() -> dict[str, tuple[int, int]]:
    """{care_type: (min_fen, max_fen)}: the platform setting staff saved, else config."""
    base = current_app.config["CARE_PRICE_LIMITS"]
    stored = get_setting(PRICE_LIMITS_KEY) or {}
    limits = {}
    for care_type in CARE_TYPES:
        pair = stored.get(care_type) if isinstance(stored, dict) else None
        low, high = pair if isinstance(pair, (list, tuple)) and len(pair) == 2 else base[care_type]
        limits[care_type] = (int(low), int(high))
    return limits


def list_skills() -> list[CareSkill]:
    return db.session.scalars(select(CareSkill).where(CareSkill.is_active.is_(True))
                              .order_by(CareSkill.sort_order, CareSkill.code)).all()


def care_types() -> list[dict]:
    limits = price_limits()
    return [{"care_type": care_type, "name": name, "unit": unit, "unit_name": PRICE_UNITS[unit],
             "min_price_fen": limits[care_type][0], "max_price_fen": limits[care_type][1]}
            for care_type, (name, unit) in CARE_TYPES.items()]


# ---- the caregiver's own profile ---------------------------------------------------------------

def _lock_mine(actor: User) -> Caregiver:
    return own_caregiver(actor, lock=True)


def _mine(actor: User) -> Caregiver:
    return own_caregiver(actor)


def _pending_revision(caregiver_id: int, *, lock: bool = False) -> CaregiverRevision | None:
    statement = select(CaregiverRevision).where(CaregiverRevision.caregiver_id == caregiver_id,
                                                CaregiverRevision.status == "pending")
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return db.session.scalars(statement.order_by(CaregiverRevision.id)).first()


def get_my_profile(actor: User) -> dict:
    return profile_view(_mine(actor))


def create_my_profile(actor: User, **data) -> dict:
    """draft profile for the calling user; needs a bound phone. Fields as the PATCH takes."""
    # the account row, locked: two concurrent applications of one user take turns
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    if db.session.scalar(select(Caregiver.id).where(Caregiver.user_id == actor.id)):
        db.session.rollback()
        raise CaregiverExists()
    if not actor.phone:
        db.session.rollback()
        raise PhoneNotBound()
    caregiver = Caregiver(user_id=actor.id, status="draft", years_experience=0,
                          accepts_urgent=False, night_service=False, night_surcharge_fen=0,
                          review_round=0, suspension_count=0, rating_count=0,
                          completed_orders=0, work_history=[])
    caregiver.phone = actor.phone
    try:
        changes = _validated(actor, caregiver, data, _values(caregiver))
    except Exception:
        db.session.rollback()
        raise
    db.session.add(caregiver)
    _apply(caregiver, changes)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise CaregiverExists()
    return profile_view(caregiver)


def update_my_profile(actor: User, **data) -> dict:
    """Draft or rejected: applied. Pending review: refused. Approved or suspended: the vetted
    fields go into the one pending revision (the profile, and the listing, keep the old values
    until staff decide); the rest apply now."""
    caregiver = _lock_mine(actor)
    if caregiver.status == "pending_review":
        db.session.rollback()
        raise CaregiverUnderReview()
    vetted_flow = caregiver.status in ("approved", "suspended")
    revision = _pending_revision(caregiver.id, lock=True) if vetted_flow else None
    # checks see the profile as it will be once the pending revision is decided
    effective = _values(caregiver)
    if revision is not None:
        effective.update(_decoded(json.loads(revision.changes_encrypted)))
    try:
        changes = _validated(actor, caregiver, data, effective)
    except Exception:
        db.session.rollback()
        raise
    if vetted_flow:
        vetted = {k: v for k, v in changes.items() if k in VETTED_FIELDS}
        _apply(caregiver, {k: v for k, v in changes.items() if k not in VETTED_FIELDS})
        if vetted:
            _propose(caregiver, revision, vetted)
    else:
        _apply(caregiver, changes)
    db.session.commit()
    return profile_view(caregiver)


def withdraw_my_revision(actor: User) -> None:
    caregiver = _lock_mine(actor)
    revision = _pending_revision(caregiver.id, lock=True)
    if revision is None:
        db.session.rollback()
        raise RevisionNotFound("没有待审核的资料修改")
    revision.withdraw()
    db.session.commit()


def submit_my_application(actor: User) -> dict:
    """draft | rejected → pending_review, once the profile is complete and the required
    documents are uploaded (pending or approved: staff review them together)."""
    caregiver = _lock_mine(actor)
    try:
        if caregiver.status not in ("draft", "rejected"):
            raise InvalidTransition(details={"from": caregiver.status, "to": "pending_review"})
        missing = {field: [message] for field, message in (
            ("name", "请填写姓名"), ("gender", "请选择性别"), ("birth_date", "请填写出生日期"),
            ("city_code", "请选择服务城市"), ("photo_file_id", "请上传照片"))
            if getattr(caregiver, field) in (None, "")}
        if not caregiver.skills:
            missing["skills"] = ["请至少选择一项技能"]
        if not caregiver.prices:
            missing["prices"] = ["请至少设置一项服务价格"]
        if missing:
            raise ProfileIncomplete(details=missing)
        not_uploaded = _kinds_not_uploaded(caregiver.id)
        if not_uploaded:
            raise QualificationsMissing(details={"missing": not_uploaded})
        user = db.session.get(User, actor.id)
        if not user.phone:
            raise PhoneNotBound()
    except Exception:
        db.session.rollback()
        raise
    caregiver.submit()
    caregiver.phone = user.phone  # the number customers and staff reach them on, as bound now
    caregiver.submitted_at = utcnow()
    caregiver.reject_reason = None
    # once per submission: a resubmission after a rejection is a new review to do
    notify_staff("caregiver_application_submitted", "护工入驻申请待审核",
                 f"caregiver:{caregiver.review_round}", caregiver.id, roles=("reviewer",),
                 context={"subject": f"护工 {mask_name(caregiver.name)} 入驻申请"})
    db.session.commit()
    return profile_view(caregiver)


def _kinds_not_uploaded(caregiver_id: int) -> list[str]:
    from app.qualifications.models import Qualification

    required = tuple(current_app.config["CAREGIVER_REQUIRED_QUALIFICATIONS"])
    today = local_today()
    held = set(db.session.scalars(select(Qualification.kind).distinct().where(
        Qualification.caregiver_id == caregiver_id, Qualification.kind.in_(required),
        or_(Qualification.status == "pending",
            and_(Qualification.status == "approved",
                 or_(Qualification.expires_on.is_(None), Qualification.expires_on >= today))))))
    return [kind for kind in required if kind not in held]


def get_my_prices(actor: User) -> dict:
    return {"prices": list(_mine(actor).prices)}


def set_my_prices(actor: User, *, prices: list[dict]) -> dict:
    """Replace every price (not vetted: applies at once, in any state)."""
    caregiver = _lock_mine(actor)
    try:
        wanted = _checked_prices(prices)
    except Exception:
        db.session.rollback()
        raise
    # rows are updated in place: deleting and re-inserting a care type in one flush would
    # meet the (caregiver, care_type) unique key, inserts being flushed before deletes
    existing = {price.care_type: price for price in caregiver.prices}
    for care_type, price in existing.items():
        if care_type not in wanted:
            caregiver.prices.remove(price)
    for care_type, fen in wanted.items():
        if care_type in existing:
            existing[care_type].price_fen = fen
        else:
            caregiver.prices.append(CaregiverPrice(care_type=care_type, price_fen=fen))
    db.session.commit()
    return {"prices": list(caregiver.prices)}


def _checked_prices(prices: list[dict]) -> dict[str, int]:
    limits = price_limits()
    wanted: dict[str, int] = {}
    for item in prices:
        care_type, fen = item["care_type"], item["price_fen"]
        if care_type not in CARE_TYPES:
            raise UnknownCareType(f"服务类型不存在:{care_type}",
                                  details={"care_type": care_type})
        if care_type in wanted:
            raise DuplicateCareType(details={"care_type": care_type})
        low, high = limits[care_type]
        if not low <= fen <= high:
            raise PriceOutOfRange(
                f"{CARE_TYPES[care_type][0]}价格应在 {low / 100:g} 元到 {high / 100:g} 元之间",
                details={"care_type": care_type, "min_fen": low, "max_fen": high})
        wanted[care_type] = fen
    return wanted


# ---- validation and applying -------------------------------------------------------------------

_LIST_FIELDS = {"skills", "district_codes", "hospital_ids"}


def _values(caregiver: Caregiver) -> dict:
    """The profile's editable values in the shape the write schema loads them."""
    return {
        "name": caregiver.name, "gender": caregiver.gender, "birth_date": caregiver.birth_date,
        "city_code": caregiver.city_code,
        "district_codes": sorted(d.district_code for d in caregiver.districts),
        "hospital_ids": sorted(h.hospital_id for h in caregiver.hospitals),
        "latitude": caregiver.latitude, "longitude": caregiver.longitude,
        "skills": sorted(s.skill_code for s in caregiver.skills),
        "years_experience": caregiver.years_experience or 0, "bio": caregiver.bio,
        "work_history": list(caregiver.work_history or []),
        "photo_file_id": caregiver.photo_file_id,
        "accepts_urgent": bool(caregiver.accepts_urgent),
        "night_service": bool(caregiver.night_service),
        "night_surcharge_fen": caregiver.night_surcharge_fen or 0,
    }


def _age(born: date, today: date) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _validated(actor: User, caregiver: Caregiver, data: dict, effective: dict) -> dict:
    """The checks that need the database, config or the rest of the profile. Returns the
    changes normalised (lists de-duplicated and sorted). Raises before anything is set."""
    config = current_app.config
    changes = dict(data)
    for field in _LIST_FIELDS & set(changes):
        changes[field] = sorted(set(changes[field]))
    if "work_history" in changes:
        changes["work_history"] = [
            {"start": e["start"], "end": e.get("end"), "employer": e["employer"],
             "role": e["role"]} for e in changes["work_history"]]
    merged = {**effective, **changes}

    if "skills" in changes:
        active = set(db.session.scalars(select(CareSkill.code).where(
            CareSkill.code.in_(changes["skills"]), CareSkill.is_active.is_(True))))
        unknown = [code for code in changes["skills"] if code not in active]
        if unknown:
            message = f"技能不在可选范围内:{', '.join(unknown)}"
            raise UnknownSkill(message, details={"skills": [message]})

    city = merged["city_code"]
    if {"city_code", "district_codes"} & set(changes) and merged["district_codes"]:
        if not city:
            raise CityRequired(details={"city_code": ["请先选择服务城市"]})
        outside = [code for code in merged["district_codes"] if code[:4] != city[:4]]
        if outside:
            message = f"以下区县不属于所选城市:{', '.join(outside)}"
            raise DistrictOutsideCity(message, details={"district_codes": [message]})
    if {"city_code", "hospital_ids"} & set(changes) and merged["hospital_ids"]:
        if not city:
            raise CityRequired(details={"city_code": ["请先选择服务城市"]})
        from app.hospitals.models import Hospital

        found = dict(db.session.execute(select(Hospital.id, Hospital.city_code).where(
            Hospital.id.in_(merged["hospital_ids"]), Hospital.is_active.is_(True))).all())
        unknown = [i for i in merged["hospital_ids"] if i not in found]
        if unknown:
            message = f"医院不存在或未开放:{', '.join(map(str, unknown))}"
            raise UnknownHospital(message, details={"hospital_ids": [message]})
        outside = [i for i in merged["hospital_ids"] if found[i] != city]
        if outside:
            message = f"以下医院不在服务城市内:{', '.join(map(str, outside))}"
            raise HospitalOutsideCity(message, details={"hospital_ids": [message]})

    today = local_today()
    if "birth_date" in changes:
        low, high = config["CAREGIVER_MIN_AGE"], config["CAREGIVER_MAX_AGE"]
        if changes["birth_date"] > today or not low <= _age(changes["birth_date"], today) <= high:
            message = f"护工年龄须在 {low} 到 {high} 岁之间"
            raise InvalidBirthDate(message, details={"birth_date": [message]})
    if {"birth_date", "years_experience"} & set(changes) and merged["birth_date"]:
        most = max(_age(merged["birth_date"], today) - MIN_WORKING_AGE, 0)
        if merged["years_experience"] > most:
            message = f"从业年限不能超过 {most} 年(按年龄计算)"
            raise InvalidExperience(message, details={"years_experience": [message]})

    if "photo_file_id" in changes:
        photo = owned_file(actor, changes["photo_file_id"])  # another's or none: 404
        if photo.content_type not in PHOTO_TYPES:
            raise PhotoNotImage(details={"photo_file_id": [PhotoNotImage.message]})
    if changes.get("night_surcharge_fen", 0) > config["CARE_NIGHT_SURCHARGE_MAX_FEN"]:
        most = config["CARE_NIGHT_SURCHARGE_MAX_FEN"]
        message = f"夜间附加费不能超过 {most / 100:g} 元"
        raise NightSurchargeOutOfRange(message, details={"night_surcharge_fen": [message]})
    return changes


def _sync_children(caregiver: Caregiver, relation: str, key: str, model, wanted):
    """Make a child collection hold exactly `wanted` keys, keeping the rows that stay."""
    collection = getattr(caregiver, relation)
    current = {getattr(child, key): child for child in collection}
    for value, child in current.items():
        if value not in wanted:
            collection.remove(child)
    for value in wanted:
        if value not in current:
            collection.append(model(**{key: value}))


def _apply(caregiver: Caregiver, changes: dict):
    for field, value in changes.items():
        if field == "skills":
            _sync_children(caregiver, "skills", "skill_code", CaregiverSkill, value)
        elif field == "district_codes":
            _sync_children(caregiver, "districts", "district_code", CaregiverDistrict, value)
        elif field == "hospital_ids":
            _sync_children(caregiver, "hospitals", "hospital_id", CaregiverHospital, value)
        else:
            setattr(caregiver, field, value)


def _encoded(values: dict) -> dict:
    """Revision changes as JSON-ready values."""
    return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in values.items()}


def _decoded(values: dict) -> dict:
    decoded = dict(values)
    if decoded.get("birth_date"):
        decoded["birth_date"] = date.fromisoformat(decoded["birth_date"])
    return decoded


def _propose(caregiver: Caregiver, revision: CaregiverRevision | None, vetted: dict):
    """Merge `vetted` into the pending revision (created if none). A value equal to the
    profile's drops out; a revision left with nothing is withdrawn."""
    current = _encoded({k: v for k, v in _values(caregiver).items() if k in VETTED_FIELDS})
    proposed = json.loads(revision.changes_encrypted) if revision is not None else {}
    proposed.update(_encoded(vetted))
    proposed = {k: v for k, v in proposed.items() if current.get(k) != v}
    if revision is None:
        if proposed:
            revision = CaregiverRevision(caregiver_id=caregiver.id, status="pending",
                                         changes_encrypted=json.dumps(proposed,
                                                                      ensure_ascii=False))
            db.session.add(revision)
            db.session.flush()
            # a new revision is a review to do; more changes merged into it are not
            notify_staff("caregiver_application_submitted", "护工资料修改待审核",
                         "caregiver_revision", revision.id, roles=("reviewer",),
                         context={"subject": f"护工 {mask_name(caregiver.name)} 资料修改"})
    elif proposed:
        revision.changes_encrypted = json.dumps(proposed, ensure_ascii=False)
    else:
        revision.withdraw()


# ---- views of a profile ------------------------------------------------------------------------

def profile_view(caregiver: Caregiver, *, staff: bool = False) -> dict:
    """Everything the owner's and the staff's profile answers show (schemas mask)."""
    from app.hospitals.models import Hospital
    from app.qualifications.services import missing_required_kinds

    skill_names = dict(db.session.execute(select(CareSkill.code, CareSkill.name).where(
        CareSkill.code.in_([s.skill_code for s in caregiver.skills]))).all())
    hospital_ids = [h.hospital_id for h in caregiver.hospitals]
    hospital_names = dict(db.session.execute(select(Hospital.id, Hospital.name).where(
        Hospital.id.in_(hospital_ids))).all()) if hospital_ids else {}
    revision = _pending_revision(caregiver.id)
    view = {
        **{field: getattr(caregiver, field) for field in (
            "id", "user_id", "status", "name", "phone", "gender", "birth_date", "city_code",
            "latitude", "longitude", "years_experience", "bio", "photo_file_id",
            "accepts_urgent", "night_service", "night_surcharge_fen", "review_round",
            "submitted_at", "reviewed_at", "approved_at", "reject_reason", "suspended_by",
            "suspend_reason", "reviewed_by_staff_id", "suspension_count", "created_at",
            "updated_at")},
        "status_name": CAREGIVER_STATUSES[caregiver.status],
        "district_codes": [d.district_code for d in caregiver.districts],
        "hospitals": [{"id": i, "name": hospital_names.get(i, "")} for i in hospital_ids],
        "skills": [{"code": s.skill_code, "name": skill_names.get(s.skill_code, s.skill_code)}
                   for s in caregiver.skills],
        "work_history": list(caregiver.work_history or []),
        "prices": list(caregiver.prices),
        "pending_revision": None if revision is None else {
            "id": revision.id, "changes": json.loads(revision.changes_encrypted),
            "created_at": revision.created_at},
        "missing_qualifications": missing_required_kinds(caregiver.id),
    }
    if staff:
        view["qualifications"] = _qualification_summary(caregiver.id)
    return view


def _qualification_summary(caregiver_id: int) -> list[dict]:
    from app.qualifications.models import QUALIFICATION_KINDS, Qualification

    today = local_today()
    rows = db.session.execute(select(Qualification.id, Qualification.kind, Qualification.status,
                                     Qualification.expires_on)
                              .where(Qualification.caregiver_id == caregiver_id)
                              .order_by(Qualification.id)).all()
    return [{"id": row.id, "kind": row.kind, "kind_name": QUALIFICATION_KINDS.get(row.kind, ""),
             "status": row.status, "expires_on": row.expires_on,
             "expired": row.expires_on is not None and row.expires_on < today} for row in rows]


# ---- staff -------------------------------------------------------------------------------------

def _require(actor: StaffUser, *roles: str):
    if actor is None or not actor.is_active or not actor.has_role(*roles):
        raise Forbidden()


def _lock_caregiver(caregiver_id: int) -> Caregiver:
    caregiver = db.session.scalar(select(Caregiver).where(Caregiver.id == caregiver_id)
                                  .with_for_update().execution_options(populate_existing=True))
    if caregiver is None:
        db.session.rollback()
        raise CaregiverNotFound()
    return caregiver


def _refuse(error: Exception):
    db.session.rollback()
    raise error


def staff_list_caregivers(actor: StaffUser, *, status: str | None = None,
                          city_code: str | None = None, page: int = 1,
                          page_size: int = 20) -> dict:
    _require(actor, "reviewer", "operator")
    statement = select(Caregiver)
    if status:
        statement = statement.where(Caregiver.status == status)
    if city_code:
        statement = statement.where(Caregiver.city_code == city_code)
    # oldest submission first: the review queue is worked in order
    statement = statement.order_by(Caregiver.submitted_at.is_(None), Caregiver.submitted_at,
                                   Caregiver.id)
    return paginate(statement, page, page_size)


def staff_get_caregiver(actor: StaffUser, *, caregiver_id: int) -> dict:
    _require(actor, "reviewer", "operator")
    caregiver = db.session.get(Caregiver, caregiver_id)
    if caregiver is None:
        raise CaregiverNotFound()
    return profile_view(caregiver, staff=True)


def _not_own(actor: StaffUser, caregiver: Caregiver):
    if actor.user_id is not None and actor.user_id == caregiver.user_id:
        _refuse(ReviewOwnApplication())


def decide_application(actor: StaffUser, *, caregiver_id: int, approve: bool,
                       reason: str | None = None) -> dict:
    """pending_review → approved (every required document approved and valid) | rejected
    (with the reason the caregiver reads)."""
    from app.qualifications.services import missing_required_kinds

    _require(actor, "reviewer")
    caregiver = _lock_caregiver(caregiver_id)
    _not_own(actor, caregiver)
    if caregiver.status != "pending_review":
        _refuse(InvalidTransition(details={"from": caregiver.status,
                                           "to": "approved" if approve else "rejected"}))
    if approve:
        missing = missing_required_kinds(caregiver.id)
        if missing:
            _refuse(QualificationsIncomplete(details={"missing": missing}))
        caregiver.approve()
        caregiver.approved_at = caregiver.approved_at or utcnow()
        notify(caregiver.user_id, "caregiver_approved", "护工入驻审核通过",
               "您的护工入驻申请已通过审核,资料已对用户展示,可以开始接单了。",
               "caregiver_review", caregiver.review_round,
               context={"subject": "护工入驻申请", "status": "已通过"})
    else:
        if not reason:
            _refuse(ReasonRequired(details={"reason": ["必填"]}))
        caregiver.reject(reason)
        notify(caregiver.user_id, "caregiver_rejected", "护工入驻审核未通过",
               f"您的护工入驻申请未通过审核,原因:{reason}。请修改后重新提交。",
               "caregiver_review", caregiver.review_round,
               context={"subject": "护工入驻申请", "status": "未通过", "reason": reason})
    caregiver.reviewed_at = utcnow()
    caregiver.reviewed_by_staff_id = actor.id
    db.session.commit()
    log.info("staff %s %s caregiver %s", actor.id, caregiver.status, caregiver.id)
    return profile_view(caregiver, staff=True)


def suspend_caregiver(actor: StaffUser, *, caregiver_id: int, reason: str) -> dict:
    _require(actor, "operator")
    caregiver = _lock_caregiver(caregiver_id)
    try:
        caregiver.suspend("staff", reason)
    except InvalidTransition as error:
        _refuse(error)
    notify(caregiver.user_id, "caregiver_suspended", "已暂停接单",
           f"您的护工资料已被平台暂停展示和接单,原因:{reason}。如有疑问请联系客服。",
           "caregiver_suspension", caregiver.suspension_count,
           context={"subject": "护工接单资格", "status": "已暂停", "reason": reason})
    db.session.commit()
    log.info("staff %s suspended caregiver %s", actor.id, caregiver.id)
    return profile_view(caregiver, staff=True)


def reinstate_caregiver(actor: StaffUser, *, caregiver_id: int) -> dict:
    from app.qualifications.services import missing_required_kinds

    _require(actor, "operator")
    caregiver = _lock_caregiver(caregiver_id)
    if caregiver.status != "suspended":
        _refuse(InvalidTransition(details={"from": caregiver.status, "to": "approved"}))
    missing = missing_required_kinds(caregiver.id)
    if missing:
        _refuse(QualificationsIncomplete(details={"missing": missing}))
    caregiver.reinstate()
    notify(caregiver.user_id, "caregiver_reinstated", "已恢复接单",
           "您的护工资料已恢复展示,可以继续接单。", "caregiver_suspension",
           caregiver.suspension_count, context={"subject": "护工接单资格", "status": "已恢复"})
    db.session.commit()
    log.info("staff %s reinstated caregiver %s", actor.id, caregiver.id)
    return profile_view(caregiver, staff=True)


def _revision_row(revision: CaregiverRevision, caregiver_name: str | None) -> dict:
    return {"id": revision.id, "caregiver_id": revision.caregiver_id,
            "caregiver_name": caregiver_name, "status": revision.status,
            "status_name": REVISION_STATUSES[revision.status],
            "changes": json.loads(revision.changes_encrypted),
            "reject_reason": revision.reject_reason,
            "reviewed_by_staff_id": revision.reviewed_by_staff_id,
            "reviewed_at": revision.reviewed_at, "created_at": revision.created_at}


def staff_list_revisions(actor: StaffUser, *, status: str = "pending", page: int = 1,
                         page_size: int = 20) -> dict:
    _require(actor, "reviewer")
    statement = (select(CaregiverRevision).where(CaregiverRevision.status == status)
                 .order_by(CaregiverRevision.id))
    result = paginate(statement, page, page_size)
    ids = {r.caregiver_id for r in result["items"]}
    names = {c.id: c.name for c in db.session.scalars(
        select(Caregiver).where(Caregiver.id.in_(ids)))} if ids else {}
    result["items"] = [_revision_row(r, names.get(r.caregiver_id))
                       for r in result["items"]]
    return result


def decide_revision(actor: StaffUser, *, revision_id: int, approve: bool,
                    reason: str | None = None) -> dict:
    """pending → approved (the changes applied, re-checked) | rejected (old values stay)."""
    _require(actor, "reviewer")
    caregiver_id = db.session.scalar(select(CaregiverRevision.caregiver_id)
                                     .where(CaregiverRevision.id == revision_id))
    if caregiver_id is None:
        raise RevisionNotFound()
    caregiver = _lock_caregiver(caregiver_id)
    revision = db.session.scalar(select(CaregiverRevision).where(
        CaregiverRevision.id == revision_id).with_for_update()
        .execution_options(populate_existing=True))
    _not_own(actor, caregiver)
    if revision.status != "pending":
        _refuse(InvalidTransition(details={"from": revision.status,
                                           "to": "approved" if approve else "rejected"}))
    if approve:
        changes = _decoded(json.loads(revision.changes_encrypted))
        if changes.get("skills"):
            active = set(db.session.scalars(select(CareSkill.code).where(
                CareSkill.code.in_(changes["skills"]), CareSkill.is_active.is_(True))))
            retired = [code for code in changes["skills"] if code not in active]
            if retired:
                _refuse(SkillRetired(details={"skills": retired}))
        revision.approve()
        _apply(caregiver, changes)
        notify(caregiver.user_id, "caregiver_revision_approved", "资料修改已通过",
               "您提交的资料修改已通过审核,已更新展示。", "caregiver_revision", revision.id,
               context={"subject": "护工资料修改", "status": "已通过"})
    else:
        if not reason:
            _refuse(ReasonRequired(details={"reason": ["必填"]}))
        revision.reject(reason)
        notify(caregiver.user_id, "caregiver_revision_rejected", "资料修改未通过",
               f"您提交的资料修改未通过审核,原因:{reason}。资料保持修改前的内容。",
               "caregiver_revision", revision.id,
               context={"subject": "护工资料修改", "status": "未通过", "reason": reason})
    revision.reviewed_at = utcnow()
    revision.reviewed_by_staff_id = actor.id
    db.session.commit()
    log.info("staff %s %s caregiver revision %s", actor.id, revision.status, revision.id)
    return _revision_row(revision, caregiver.name)


# ---- skills and price standards (admin) --------------------------------------------------------

def staff_list_skills(actor: StaffUser) -> list[CareSkill]:
    _require(actor, "admin")
    return db.session.scalars(select(CareSkill).order_by(CareSkill.sort_order,
                                                         CareSkill.code)).all()


def _name_taken(name: str, besides: str | None = None) -> bool:
    return db.session.scalar(select(CareSkill.code).where(
        CareSkill.name == name, CareSkill.code != (besides or ""))) is not None


def create_skill(actor: StaffUser, *, code: str, name: str, sort_order: int = 0) -> CareSkill:
    _require(actor, "admin")
    if db.session.get(CareSkill, code) is not None or _name_taken(name):
        raise SkillExists()
    skill = CareSkill(code=code, name=name, sort_order=sort_order, is_active=True)
    db.session.add(skill)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent add of the same code or name
        db.session.rollback()
        raise SkillExists()
    return skill


def update_skill(actor: StaffUser, *, code: str, name: str | None = None,
                 sort_order: int | None = None, is_active: bool | None = None) -> CareSkill:
    """Retiring (is_active false) hides the tag from new choices; profiles keep it."""
    _require(actor, "admin")
    skill = db.session.scalar(select(CareSkill).where(CareSkill.code == code).with_for_update())
    if skill is None:
        _refuse(SkillNotFound())
    if name is not None and name != skill.name and _name_taken(name, besides=code):
        _refuse(SkillExists())
    for field, value in (("name", name), ("sort_order", sort_order), ("is_active", is_active)):
        if value is not None:
            setattr(skill, field, value)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SkillExists()
    return skill


def _limits_answer(limits: dict) -> dict:
    return {"limits": {t: {"min_fen": low, "max_fen": high} for t, (low, high) in limits.items()}}


def get_price_standards(actor: StaffUser) -> dict:
    _require(actor, "admin")
    limits = price_limits()
    return {**_limits_answer(limits), "prices_outside": _prices_outside(limits)}


def set_price_standards(actor: StaffUser, *, limits: dict) -> dict:
    """Every type's [min, max] (fen). Prices already outside stay as they are (counted in the
    answer); a caregiver's next price change must meet the new standard."""
    _require(actor, "admin")
    value = {t: [limits[t]["min_fen"], limits[t]["max_fen"]] for t in CARE_TYPES}
    set_setting(actor, PRICE_LIMITS_KEY, value)
    try:
        db.session.commit()
    except IntegrityError:  # another admin's first-ever save won the insert
        db.session.rollback()
        raise PriceLimitsBusy()
    log.info("staff %s set care price limits", actor.id)
    saved = {t: (low, high) for t, (low, high) in value.items()}
    return {**_limits_answer(saved), "prices_outside": _prices_outside(saved)}


def _prices_outside(limits: dict) -> int:
    outside = or_(*(and_(CaregiverPrice.care_type == t,
                         or_(CaregiverPrice.price_fen < low, CaregiverPrice.price_fen > high))
                    for t, (low, high) in limits.items()))
    return db.session.scalar(select(func.count()).select_from(CaregiverPrice).where(outside))
