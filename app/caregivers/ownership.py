"""Who a caregiver is: the one error every caregiver domain answers with, and the caller's own
profile. Lives apart from services.py because qualifications and availability need it and
caregivers.services imports them."""
from sqlalchemy import select

from app.caregivers.models import Caregiver
from app.errors import NotFound
from app.extensions import db


class CaregiverNotFound(NotFound):
    code = "caregiver_not_found"
    message = "护工不存在"


def own_caregiver(actor, *, lock: bool = False) -> Caregiver:
    """The caller's caregiver profile (locked FOR UPDATE when `lock`: the first lock of every
    caregiver use case), else 404."""
    statement = select(Caregiver).where(Caregiver.user_id == actor.id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    caregiver = db.session.scalar(statement)
    if caregiver is None:
        db.session.rollback()
        raise CaregiverNotFound("您还不是护工,请先提交护工资料")
    return caregiver
