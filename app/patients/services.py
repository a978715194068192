"""就诊人 management. Every lookup is scoped to the acting user; others' patients are 404."""
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.common.crypto import cipher
from app.common.identity import id_number_error, normalize_id_number, parse_resident_id
from app.common.pagination import paginate
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.patients.models import Patient
from app.users.models import User

SIMPLE_FIELDS = ("name", "is_insured", "contact_name", "hospital_name", "ward", "bed_no")
PII_FIELDS = ("phone", "medical_card_no", "contact_phone", "condition")


class PatientLimitReached(Conflict):
    code = "patient_limit_reached"
    message = "每个账号最多添加 {limit} 位就诊人"


class PatientNotFound(NotFound):
    code = "patient_not_found"
    message = "就诊人不存在"


class PatientDuplicate(Conflict):
    code = "patient_duplicate"
    message = "该证件的就诊人已存在"


_invalid = ValidationFailed.for_field


def list_patients(actor: User, *, page: int = 1, page_size: int = 20) -> dict:
    statement = (select(Patient).where(Patient.user_id == actor.id, Patient.alive.is_(True))
                 .order_by(Patient.id))
    return paginate(statement, page, page_size)


def get_patient(actor: User, *, patient_id: int) -> Patient:
    patient = db.session.get(Patient, patient_id)
    if patient is None or patient.user_id != actor.id or not patient.alive:
        raise PatientNotFound()
    return patient


def _apply_identity(patient: Patient, data: dict):
    """ID document, and birthday/gender that must agree with a resident ID."""
    id_type = data.get("id_type", patient.id_type)
    if "id_number" in data:
        number = normalize_id_number(id_type, data["id_number"])
        problem = id_number_error(id_type, number)
        if problem:
            raise _invalid("id_number", problem, "invalid_id_number")
        patient.set_id(id_type, number)
    birthday = data.get("birthday", patient.birthday)
    gender = data.get("gender", patient.gender)
    if patient.id_type == "resident_id":
        born, sex = parse_resident_id(patient.id_number)
        if "birthday" in data and data["birthday"] != born:
            raise _invalid("birthday", "出生日期与身份证号不一致", "id_number_mismatch")
        if "gender" in data and data["gender"] != sex:
            raise _invalid("gender", "性别与身份证号不一致", "id_number_mismatch")
        birthday, gender = born, sex
    if birthday is None:
        raise _invalid("birthday", "请填写出生日期")
    if gender is None:
        raise _invalid("gender", "请选择性别")
    from app.common.time import local_today
    if birthday > local_today():
        raise _invalid("birthday", "出生日期不能晚于今天")
    patient.birthday, patient.gender = birthday, gender


def _apply_fields(patient: Patient, data: dict):
    for field in SIMPLE_FIELDS + PII_FIELDS:
        if field in data:
            setattr(patient, field, data[field])


def _ensure_unique(actor: User, patient: Patient):
    with db.session.no_autoflush:  # flushing the edit first would hit the unique key: a 500
        clash = db.session.scalar(select(Patient.id).where(
            Patient.user_id == actor.id, Patient.alive.is_(True),
            Patient.id_number_index == patient.id_number_index,
            Patient.id != (patient.id or 0)).limit(1))
    if clash:
        raise PatientDuplicate()


def _apply_changes(actor: User, patient: Patient, data: dict):
    """Validate and apply; on any refusal roll back so nothing half-applied is flushed."""
    try:
        _apply_identity(patient, data)
        _apply_fields(patient, data)
        _ensure_unique(actor, patient)
    except Exception:
        db.session.rollback()
        raise


def create_patient(actor: User, **data) -> Patient:
    """Fields as PatientCreateSchema loads them."""
    # Lock the account row so two concurrent adds cannot both pass the limit check.
    db.session.execute(select(User.id).where(User.id == actor.id).with_for_update())
    limit = _patients_limit()
    count = db.session.scalar(select(func.count()).select_from(Patient).where(
        Patient.user_id == actor.id, Patient.alive.is_(True)))
    if count >= limit:
        db.session.rollback()
        raise PatientLimitReached(PatientLimitReached.message.format(limit=limit),
                                  details={"limit": limit})
    patient = Patient(user_id=actor.id, alive=True, is_insured=False)
    _apply_changes(actor, patient, data)
    db.session.add(patient)
    _commit_unique()
    return patient


def update_patient(actor: User, *, patient_id: int, **changes) -> Patient:
    """Only the fields given change (as PatientUpdateSchema loads them)."""
    patient = get_patient(actor, patient_id=patient_id)
    _apply_changes(actor, patient, changes)
    _commit_unique()
    return patient


def delete_patient(actor: User, *, patient_id: int) -> None:
    patient = get_patient(actor, patient_id=patient_id)
    patient.alive = None
    db.session.commit()


def _commit_unique():
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise PatientDuplicate()


def _patients_limit():
    from flask import current_app
    return current_app.config["PATIENTS_PER_ACCOUNT_MAX"]


def find_patients_by_id_number(*, id_type: str, id_number: str):
    """Staff lookup through the blind index (no decryption of the whole table)."""
    index = cipher().blind_index(normalize_id_number(id_type, id_number), f"id:{id_type}")
    return db.session.scalars(select(Patient).where(Patient.id_number_index == index)).all()
