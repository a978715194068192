"""Open API tables.

External ids: a hospital names its departments, doctors and schedules with its own ids. They
live in one mapping table (hospital, kind, external_id) → internal id, not in new columns on
the catalogue tables: the catalogue stays the catalogue domain's (staff-created rows simply
have no mapping), one unique key enforces "one row per external id per hospital", and
isolation is structural: every lookup is scoped by the calling hospital's id, so another
hospital's ids are simply unknown (404 / per-item 422), never someone else's row.

OpenApiCall is the audit of the open API: one row per call whose key was known (who: hospital
and key, what: method and path, result: status and error code). Calls with no or an unknown
key are only logged (a flood of junk must not write rows).
"""
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.booking.models import Registration
from app.common.time import utcnow
from app.extensions import db

KINDS = ("department", "doctor", "schedule")


class ExternalId(db.Model):
    __tablename__ = "open_api_external_ids"
    __table_args__ = (UniqueConstraint("hospital_id", "kind", "external_id"),
                      UniqueConstraint("kind", "internal_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    internal_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OpenApiCall(db.Model):
    __tablename__ = "open_api_calls"
    __table_args__ = (Index("ix_open_api_calls_hospital_time", "hospital_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    hospital_id: Mapped[int] = mapped_column(Integer)  # no FK: the log outlives its subject
    key_id: Mapped[str] = mapped_column(String(32))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(200))
    status: Mapped[int] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(64))  # the error code, None on success
    ip: Mapped[str | None] = mapped_column(String(45))
    request_id: Mapped[str | None] = mapped_column(String(64))


# GET /open/v1/registrations/changes walks a hospital's registrations by (updated_at, id)
Index("ix_registrations_hospital_updated", Registration.hospital_id, Registration.updated_at,
      Registration.id)
