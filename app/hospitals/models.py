"""The catalogue: hospitals, their two-level departments, doctors and schedules (排班).

A hospital's booking rules decide when a day can be booked: day D opens
`booking_days_ahead` days before at `release_time`, stops at `stop_time` on D-1, and a
booking may be cancelled until `cancel_time` on D-`cancel_days_before`. Times are Asia/Shanghai.
"""
from datetime import date, time

from sqlalchemy import (Boolean, Date, Double, ForeignKey, Integer, String, Text, Time,
                        UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.common.models import TimestampMixin, transition
from app.extensions import db

HOSPITAL_LEVELS = {
    "3A": "三级甲等", "3B": "三级乙等", "3C": "三级丙等",
    "2A": "二级甲等", "2B": "二级乙等", "2C": "二级丙等", "1": "一级",
}
DOCTOR_TITLES = ("主任医师", "副主任医师", "主治医师", "住院医师", "医师")
PERIODS = {"morning": "上午", "afternoon": "下午", "evening": "晚间"}
SCHEDULE_STATUSES = ("open", "stopped")


class Hospital(TimestampMixin, db.Model):
    __tablename__ = "hospitals"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    level: Mapped[str] = mapped_column(String(4), index=True)
    province_code: Mapped[str] = mapped_column(String(6), index=True)
    city_code: Mapped[str] = mapped_column(String(6), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    address: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(32))
    # WGS-84 degrees; caregiver search sorts by distance from a hospital or the user
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    intro: Mapped[str | None] = mapped_column(Text)
    notice: Mapped[str | None] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    booking_days_ahead: Mapped[int] = mapped_column(Integer, default=7)
    release_time: Mapped[time] = mapped_column(Time, default=time(8, 30))
    stop_time: Mapped[time] = mapped_column(Time, default=time(15, 0))
    cancel_days_before: Mapped[int] = mapped_column(Integer, default=1)
    cancel_time: Mapped[time] = mapped_column(Time, default=time(15, 30))

    departments = relationship("Department", back_populates="hospital",
                               order_by="Department.sort_order, Department.id")


class Department(TimestampMixin, db.Model):
    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("hospital_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    intro: Mapped[str | None] = mapped_column(Text)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)

    hospital = relationship("Hospital", back_populates="departments")


class Doctor(TimestampMixin, db.Model):
    __tablename__ = "doctors"

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(16))
    specialty: Mapped[str | None] = mapped_column(String(200))
    intro: Mapped[str | None] = mapped_column(Text)
    avatar_url: Mapped[str | None] = mapped_column(String(512))


class Schedule(TimestampMixin, db.Model):
    """One doctor's clinic on one date and period, with its slot counts.

    `available` is the truth about free slots; it only changes through conditional updates
    (see app/booking/slots.py), never by reading and writing back.
    """

    __tablename__ = "schedules"
    __table_args__ = (UniqueConstraint("doctor_id", "work_date", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    hospital_id: Mapped[int] = mapped_column(ForeignKey("hospitals.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctors.id"), index=True)
    work_date: Mapped[date] = mapped_column(Date)
    period: Mapped[str] = mapped_column(String(16))
    start_time: Mapped[time] = mapped_column(Time)
    end_time: Mapped[time] = mapped_column(Time)
    total: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    numbers_issued: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    fee_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="open")
    stop_reason: Mapped[str | None] = mapped_column(String(200))

    hospital = relationship("Hospital")
    doctor = relationship("Doctor")
    department = relationship("Department")

    def stop(self, reason: str):
        transition(self, "status", {"open"}, "stopped")
        self.stop_reason = reason


db.Index("ix_schedules_department_date", Schedule.department_id, Schedule.work_date)
