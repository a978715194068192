"""Who a caregiver is: the one error every caregiver domain answers with, the caller's own
profile, and who is listed (the public may see and book them). Lives apart from services.py because qualifications and availability need it and
caregivers.services imports them."""
from sqlalchemy import and_, select

from app.caregivers.models import Caregiver
from app.errors import NotFound
from app.extensions import db
from app.users.models import User


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


def listed_clause():
    """Caregivers the public may see and book (the statement must join User on
    Caregiver.user_id): approved, and their account active."""
    return and_(Caregiver.status == "approved", User.status == "active")
