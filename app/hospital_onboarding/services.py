"""Hospital onboarding: a user applies, staff approve (the hospital and its first API key are
created) or reject; staff rotate and revoke a hospital's API keys.

Secrets are generated here, stored encrypted and returned once, in the answer of the call that
issued them (approve, rotate); no read ever shows them again.
"""
import logging
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from app.common.masking import mask_name, mask_phone
from app.common.pagination import paginate, where_given
from app.common.time import utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.files.models import StoredFile
from app.files.services import FileNotFound, file_bytes, owned_file
from app.hospital_onboarding.models import HospitalApiKey, HospitalApplication
from app.hospitals import cache as catalogue_cache
from app.hospitals.models import Hospital
from app.hospitals.services import check_region
from app.staff.models import StaffUser
from app.staff.services import require_role

log = logging.getLogger("app.hospital_onboarding")


class ApplicationNotFound(NotFound):
    code = "hospital_application_not_found"
    message = "入驻申请不存在"


class ApplicationPending(Conflict):
    code = "hospital_application_pending"
    message = "您已有一份待审核的入驻申请"


class ApiKeyNotFound(NotFound):
    code = "api_key_not_found"
    message = "接口密钥不存在"


class HospitalNotFound(NotFound):
    code = "hospital_not_found"
    message = "医院不存在"


class NoActiveKey(Conflict):
    code = "no_active_api_key"
    message = "该医院没有可用的接口密钥"




def new_key_id() -> str:
    return "hk_" + secrets.token_hex(12)


def new_secret() -> str:
    return "hs_" + secrets.token_urlsafe(32)  # 32 bytes → 43 url-safe base64 characters


def application_view(application: HospitalApplication) -> dict:
    """What leaves the API: the contact's name and phone masked."""
    return {
        "id": application.id, "user_id": application.user_id, "name": application.name,
        "level": application.level, "province_code": application.province_code,
        "city_code": application.city_code, "district_code": application.district_code,
        "address": application.address, "phone": application.phone,
        "contact_name": mask_name(application.contact_name),
        "contact_phone": mask_phone(application.contact_phone),
        "licence_file_id": application.licence_file_id, "status": application.status,
        "reject_reason": application.reject_reason, "reviewed_at": application.reviewed_at,
        "hospital_id": application.hospital_id,
        "hospital_code": application.hospital.code if application.hospital else None,
        "created_at": application.created_at,
    }


def key_view(key: HospitalApiKey, now: datetime | None = None) -> dict:
    return {"key_id": key.key_id, "status": key.status, "usable": key.usable(now or utcnow()),
            "created_at": key.created_at, "expires_at": key.expires_at,
            "revoked_at": key.revoked_at}


# ---- applicants ------------------------------------------------------------------------------

def apply(user, *, data: dict) -> dict:
    """One pending application per user at a time; the licence must be the caller's own file."""
    check_region(data)
    owned_file(user, data["licence_file_id"])
    pending = db.session.scalar(select(HospitalApplication.id).where(
        HospitalApplication.user_id == user.id, HospitalApplication.status == "pending").limit(1))
    if pending:
        raise ApplicationPending(details={"application_id": pending})
    application = HospitalApplication(user_id=user.id, status="pending", **data)
    db.session.add(application)
    db.session.commit()
    log.info("user %s applied for hospital onboarding (%s)", user.id, application.id)
    return application_view(application)


def my_applications(user, *, page: int, page_size: int) -> dict:
    result = paginate(select(HospitalApplication).where(HospitalApplication.user_id == user.id)
                      .order_by(HospitalApplication.id.desc()), page, page_size)
    result["items"] = [application_view(a) for a in result["items"]]
    return result


# ---- staff: review ---------------------------------------------------------------------------

def list_applications(actor: StaffUser, *, status: str | None, page: int, page_size: int) -> dict:
    require_role(actor, "operator")
    result = paginate(where_given(select(HospitalApplication), (HospitalApplication.status, status))
                      .order_by(HospitalApplication.id.desc()), page, page_size)
    result["items"] = [application_view(a) for a in result["items"]]
    return result


def application_detail(actor: StaffUser, *, application_id: int) -> dict:
    require_role(actor, "operator")
    application = db.session.get(HospitalApplication, application_id)
    if application is None:
        raise ApplicationNotFound()
    return application_view(application)


def licence(actor: StaffUser, *, application_id: int) -> tuple[StoredFile, bytes]:
    """The licence attached to an application, for the operators who review it. Only through
    its application: an operator reads no other user's files (ID photos stay reviewers')."""
    require_role(actor, "operator")
    application = db.session.get(HospitalApplication, application_id)
    if application is None:
        raise ApplicationNotFound()
    record = db.session.get(StoredFile, application.licence_file_id)
    if record is None:
        raise FileNotFound()
    return record, file_bytes(record)


def _locked_application(application_id: int) -> HospitalApplication:
    application = db.session.get(HospitalApplication, application_id, with_for_update=True,
                                 populate_existing=True)
    if application is None:
        db.session.rollback()
        raise ApplicationNotFound()
    return application


def _fresh_hospital_code() -> str:
    while True:
        code = "HX" + secrets.token_hex(5).upper()
        if not db.session.scalar(select(Hospital.id).where(Hospital.code == code).limit(1)):
            return code


def _issue_key(hospital: Hospital, actor: StaffUser) -> tuple[HospitalApiKey, str]:
    secret = new_secret()
    key = HospitalApiKey(hospital_id=hospital.id, key_id=new_key_id(), secret=secret,
                         status="active", created_at=utcnow(), created_by=actor.id)
    db.session.add(key)
    return key, secret


def _issued(key: HospitalApiKey, secret: str, hospital: Hospital) -> dict:
    return {**key_view(key), "secret": secret, "hospital_id": hospital.id,
            "hospital_code": hospital.code}


def approve(actor: StaffUser, *, application_id: int) -> dict:
    """pending → approved: the hospital (active, a fresh code, default booking rules) and its
    first API key, whose secret is in this answer and nowhere else, ever."""
    require_role(actor, "operator")
    application = _locked_application(application_id)
    now = utcnow()
    hospital = Hospital(code=_fresh_hospital_code(), name=application.name,
                        level=application.level, province_code=application.province_code,
                        city_code=application.city_code,
                        district_code=application.district_code, address=application.address,
                        phone=application.phone or "", is_active=True)
    application.approve(actor.id, None, now)  # the checked transition first: 409 before any insert
    db.session.add(hospital)
    db.session.flush()
    application.hospital_id = hospital.id
    key, secret = _issue_key(hospital, actor)
    db.session.commit()
    catalogue_cache.invalidate_catalogue()
    log.info("staff %s approved hospital application %s → hospital %s", actor.id,
             application_id, hospital.id)
    return {"application": application_view(application), "key": _issued(key, secret, hospital)}


def reject(actor: StaffUser, *, application_id: int, reason: str) -> dict:
    require_role(actor, "operator")
    application = _locked_application(application_id)
    application.reject(actor.id, reason, utcnow())
    db.session.commit()
    log.info("staff %s rejected hospital application %s", actor.id, application_id)
    return application_view(application)


# ---- staff: keys -----------------------------------------------------------------------------

def _hospital(hospital_id: int, lock: bool = False) -> Hospital:
    hospital = db.session.get(Hospital, hospital_id, with_for_update=lock)
    if hospital is None:
        db.session.rollback()
        raise HospitalNotFound()
    return hospital


def list_keys(actor: StaffUser, *, hospital_id: int) -> dict:
    require_role(actor, "operator")
    _hospital(hospital_id)
    keys = db.session.scalars(select(HospitalApiKey).where(
        HospitalApiKey.hospital_id == hospital_id).order_by(HospitalApiKey.id.desc())).all()
    now = utcnow()
    return {"items": [key_view(key, now) for key in keys]}


def rotate_key(actor: StaffUser, *, hospital_id: int) -> dict:
    """A new key; every key still usable stays valid for OPEN_API_KEY_OVERLAP_SECONDS more (the
    hospital switches within that time), then is refused. The hospital row is locked so two
    rotations at once queue up."""
    require_role(actor, "operator")
    hospital = _hospital(hospital_id, lock=True)
    now = utcnow()
    overlap_until = now + timedelta(seconds=current_app.config["OPEN_API_KEY_OVERLAP_SECONDS"])
    for old in db.session.scalars(select(HospitalApiKey).where(
            HospitalApiKey.hospital_id == hospital.id, HospitalApiKey.status == "active")):
        if old.usable(now):
            old.expire_at(overlap_until)
    key, secret = _issue_key(hospital, actor)
    db.session.commit()
    log.info("staff %s rotated the API key of hospital %s", actor.id, hospital_id)
    return _issued(key, secret, hospital)


def revoke_key(actor: StaffUser, *, hospital_id: int, key_id: str) -> dict:
    """Refused from the next request on (the open API reads the key on every call)."""
    require_role(actor, "operator")
    key = db.session.scalar(select(HospitalApiKey).where(
        HospitalApiKey.hospital_id == hospital_id, HospitalApiKey.key_id == key_id)
        .with_for_update())
    if key is None:
        db.session.rollback()
        raise ApiKeyNotFound()
    key.revoke(utcnow())
    db.session.commit()
    log.info("staff %s revoked API key %s of hospital %s", actor.id, key_id, hospital_id)
    return key_view(key)
