"""Demo data for `make run`. Every row is looked up by a natural key first, so running it
again adds nothing."""
from datetime import date

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.patients.models import Patient
from app.staff.models import StaffUser
from app.staff.services import create_staff
from app.users.models import User
from app.wechat.simulator.miniprogram import openid_for_code

DEMO_LOGIN_CODE = "demo-user"


def seed_demo_data():
    lines = []
    username = current_app.config.get("DEMO_ADMIN_USERNAME", "admin")
    password = current_app.config.get("DEMO_ADMIN_PASSWORD", "admin-demo-2026")
    if db.session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is None:
        create_staff(username, password, "admin", "演示管理员")
        lines.append(f"created demo admin {username}")
    for name, role in (("reviewer", "reviewer"), ("operator", "operator")):
        if db.session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is None:
            create_staff(name, password, role, f"演示{'审核员' if role == 'reviewer' else '运营'}")
            lines.append(f"created demo {role} {name}")

    openid = openid_for_code(DEMO_LOGIN_CODE)
    user = db.session.scalar(select(User).where(User.openid == openid))
    if user is None:
        user = User(openid=openid, nickname="演示用户", real_name_status="verified")
        user.phone = "13800138000"
        user.real_name_encrypted = "张三"
        db.session.add(user)
        db.session.flush()
        for name, id_number, phone, insured in (
            ("张三", "110101199003078515", "13800138000", True),
            ("李四", "310104198512120023", "13900139000", False),
        ):
            patient = Patient(user_id=user.id, alive=True, name=name, is_insured=insured,
                              birthday=date(1990, 1, 1), gender="male")
            patient.set_id("resident_id", id_number)
            from app.common.identity import parse_resident_id
            patient.birthday, patient.gender = parse_resident_id(id_number)
            patient.phone = phone
            db.session.add(patient)
        db.session.commit()
        lines.append(f"created demo user #{user.id} (wx.login code '{DEMO_LOGIN_CODE}') "
                     "with 2 patients")
    if not lines:
        lines.append("demo data already present; nothing added")
    return lines
