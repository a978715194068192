"""Shared steps for the qualification tests."""
from datetime import date, timedelta

from app.common.time import local_today
from app.extensions import db
from tests.conftest import make_caregiver, resident_id
from tests.files.test_files import JPEG, PDF, PNG, upload

ID_CARD = resident_id("11010119850101123")
OTHER_ID_CARD = resident_id("11010119800202456")
BASE = "/api/v1/caregiver/me/qualifications"
STAFF = "/api/v1/staff/qualifications"


def later(days=365) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


def become_caregiver(app, user, **columns) -> int:
    return make_caregiver(app, user_id=user["id"], **columns)


def file_id(client, user, data=PNG, purpose="qualification") -> int:
    response = upload(client, user, data, purpose=purpose)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def id_card_body(client, user, number=ID_CARD, **overrides) -> dict:
    body = {"kind": "id_card", "number": number, "file_ids": [file_id(client, user, PNG),
                                                              file_id(client, user, JPEG)],
            "issuer": "北京市公安局朝阳分局", "issued_on": "2015-01-01", "expires_on": None}
    body.update(overrides)
    return body


def health_body(client, user, **overrides) -> dict:
    body = {"kind": "health_certificate", "title": "健康证", "number": "JK-2026-0001",
            "issuer": "朝阳区疾控中心", "issued_on": "2025-06-01", "expires_on": later(),
            "file_ids": [file_id(client, user, PDF)]}
    body.update(overrides)
    return body


def nursing_body(client, user, **overrides) -> dict:
    body = {"kind": "nursing_certificate", "title": "养老护理员职业技能等级证书",
            "number": "YL-0001", "issuer": "北京市人社局", "issued_on": "2020-03-01",
            "expires_on": later(800), "file_ids": [file_id(client, user, PNG)]}
    body.update(overrides)
    return body


def create(client, user, body, status=201):
    response = client.post(BASE, json=body, headers=user["headers"])
    assert response.status_code == status, response.get_json()
    return response.get_json()


def decide(client, staff, qualification_id, status=200, **decision):
    response = client.post(f"{STAFF}/{qualification_id}/decision", json=decision,
                           headers=staff["headers"])
    assert response.status_code == status, response.get_json()
    return response.get_json()


def approved_caregiver(client, app, user, reviewer, *, health_expires=None) -> dict:
    """An approved caregiver holding an approved ID card (long-term) and health certificate."""
    caregiver_id = become_caregiver(app, user)
    number = resident_id(f"11010119860202{user['id'] % 1000:03d}")  # one per person
    card = create(client, user, id_card_body(client, user, number=number))
    health = create(client, user, health_body(
        client, user, **({"expires_on": health_expires} if health_expires else {})))
    decide(client, reviewer, card["id"], approve=True)
    decide(client, reviewer, health["id"], approve=True)
    return {"caregiver_id": caregiver_id, "id_card": card["id"], "health": health["id"]}


def set_columns(app, model, row_id, **values):
    with app.app_context():
        row = db.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()
        db.session.remove()


def inbox(app, user_id) -> list[tuple]:
    from sqlalchemy import select

    from app.notifications.models import Notification

    with app.app_context():
        rows = db.session.execute(select(Notification.kind, Notification.ref_type,
                                         Notification.ref_id, Notification.body)
                                  .where(Notification.user_id == user_id)
                                  .order_by(Notification.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def caregiver_state(app, caregiver_id) -> tuple:
    from app.caregivers.models import Caregiver

    with app.app_context():
        caregiver = db.session.get(Caregiver, caregiver_id)
        state = (caregiver.status, caregiver.suspended_by, caregiver.suspend_reason)
        db.session.remove()
    return state


def yesterday() -> date:
    return local_today() - timedelta(days=1)
