"""A small care marketplace for the care-order tests: one hospital, caregivers working every
day around the clock (or as asked), families with a patient each; and the steps the
mini-program takes (quote, book, pay through the WeChat Pay simulator, the caregiver's
answers), all through HTTP."""
import os
from datetime import datetime, time, timedelta

import pytest
import requests

from app.common.auth import issue_token
from app.common.time import LOCAL_TZ
from app.extensions import db
from tests.booking.conftest import make_patient
from tests.conftest import auth, make_caregiver
from tests.payments.conftest import run_jobs  # noqa: F401  (re-exported for the tests)

API = "/api/v1/care-orders"
CAREGIVER_API = "/api/v1/caregiver/care-orders"


def local_midnight(days_ahead: int) -> datetime:
    today = datetime.now(LOCAL_TZ).date() + timedelta(days=days_ahead)
    return datetime.combine(today, time(0), tzinfo=LOCAL_TZ)


def window(days_ahead=3, hour=8, hours=24):
    """[start, end) as ISO strings, `days_ahead` days from today at `hour`:00 local."""
    start = local_midnight(days_ahead) + timedelta(hours=hour)
    return start.isoformat(), (start + timedelta(hours=hours)).isoformat()


@pytest.fixture
def care_world(app):
    """`hospital_id`, `caregiver(...)` (a listed caregiver working 00:00–24:00 every day, with a
    user and a token), `family(...)` (a user with a patient and a token)."""
    from app.availability.models import WeeklyWindow
    from app.availability.services import rebuild_day_windows
    from app.caregivers.models import Caregiver
    from app.hospitals.models import Hospital
    from app.users.models import User

    with app.app_context():
        hospital = Hospital(code=f"CH-{os.urandom(3).hex()}", name="护理测试医院", level="3A",
                            province_code="110000", city_code="110100", district_code="110101",
                            address="北京市东城区测试路9号", phone="010-1", is_active=True,
                            latitude=39.90, longitude=116.40)
        db.session.add(hospital)
        db.session.commit()
        hospital_id = hospital.id
        db.session.remove()

    def caregiver(prices=None, windows=((0, 1440),), hospital_ids=None, **fields):
        with app.app_context():
            user = User(openid=f"cw-{os.urandom(6).hex()}", status="active", token_version=1)
            user.phone = "13700000001"
            db.session.add(user)
            db.session.commit()
            user_id = user.id
            db.session.remove()
        caregiver_id = make_caregiver(
            app, user_id=user_id, prices=prices or {"full_day": 30000, "hourly": 5000,
                                                     "escort": 12000, "day_shift": 18000,
                                                     "night_shift": 20000},
            hospital_ids=(hospital_id,) if hospital_ids is None else hospital_ids, **fields)
        with app.app_context():
            for weekday in range(7):
                for start, end in windows:
                    db.session.add(WeeklyWindow(caregiver_id=caregiver_id, weekday=weekday,
                                                start_minute=start, end_minute=end))
            db.session.commit()
            rebuild_day_windows([caregiver_id])
            db.session.remove()
            headers = auth(issue_token("user", user_id, 1))
        return {"id": caregiver_id, "user_id": user_id, "headers": headers}

    def family(name="王小明"):
        with app.app_context():
            user = User(openid=f"cf-{os.urandom(6).hex()}", status="active", token_version=1,
                        real_name_status="verified")
            db.session.add(user)
            db.session.flush()
            patient_id = make_patient(user.id, name=name)
            db.session.commit()
            person = {"id": user.id, "patient_id": patient_id,
                      "headers": auth(issue_token("user", user.id, 1))}
            db.session.remove()
        return person

    return {"hospital_id": hospital_id, "caregiver": caregiver, "family": family}


def order_body(world, person, caregiver=None, care_type="full_day", days_ahead=3, hour=8,
               hours=24, **extra):
    start, end = window(days_ahead, hour, hours)
    body = {"care_type": care_type, "start": start, "end": end,
            "patient_id": person["patient_id"], "hospital_id": world["hospital_id"],
            "department": "心内科", "bed": "12床", "needs": "术后第三天,需协助翻身"}
    if caregiver is not None:
        body["caregiver_id"] = caregiver["id"]
    body.update(extra)
    return body


def book(client, person, body):
    return client.post(API, json=body, headers=person["headers"])


def pay(app, created_body):
    """Pay through the simulator; its notification reaches /wechat/pay/notify over HTTP."""
    prepay_id = created_body["pay_params"]["package"].split("=", 1)[1]
    response = requests.post(app.config["LIVE_URL"] + "/_sim/pay", json={"prepay_id": prepay_id},
                             timeout=30)
    assert response.status_code == 200, response.text


def order_row(app, order_id):
    from app.care_orders.models import CareOrder

    with app.app_context():
        order = db.session.get(CareOrder, order_id)
        row = {column: getattr(order, column) for column in (
            "status", "caregiver_id", "total_fen", "refunded_fen", "dispatch_count",
            "acceptance_deadline", "start_at", "end_at")}
        db.session.remove()
    return row


def set_order(app, order_id, **values):
    """Move an order's clock (deadlines, end) as time passing would."""
    from app.care_orders.models import CareOrder

    with app.app_context():
        order = db.session.get(CareOrder, order_id)
        for key, value in values.items():
            setattr(order, key, value)
        db.session.commit()
        db.session.remove()


def busy_blocks(app, order_id):
    from sqlalchemy import select

    from app.availability.models import BusyBlock

    with app.app_context():
        rows = db.session.execute(select(BusyBlock.caregiver_id, BusyBlock.start_at,
                                         BusyBlock.end_at).where(
            BusyBlock.ref_type == "care_order", BusyBlock.ref_id == order_id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def money(app, order_id):
    """(paid, refunds reserved, Σ net, Σ commission) of one order."""
    from sqlalchemy import func, select

    from app.earnings.models import EarningEntry
    from app.payments.models import Payment, Refund

    with app.app_context():
        payment = db.session.scalar(select(Payment).where(Payment.order_type == "care_order",
                                                          Payment.order_id == order_id))
        paid = payment.amount_fen if payment and payment.paid_at else 0
        refunded = db.session.scalar(select(func.coalesce(func.sum(Refund.amount_fen), 0)).where(
            Refund.payment_id == (payment.id if payment else 0))) or 0
        net, commission = db.session.execute(select(
            func.coalesce(func.sum(EarningEntry.net_fen), 0),
            func.coalesce(func.sum(EarningEntry.commission_fen), 0)).where(
            EarningEntry.order_id == order_id)).one()
        db.session.remove()
    return int(paid), int(refunded), int(net), int(commission)


def paid_order(app, client, world, family, caregiver, **kwargs) -> int:
    """An order booked and paid through the API, offered to `caregiver` (or dispatched)."""
    created = book(client, family, order_body(world, family, caregiver, **kwargs))
    assert created.status_code == 201, created.get_json()
    pay(app, created.get_json())
    order_id = created.get_json()["order"]["id"]
    assert order_row(app, order_id)["status"] == "awaiting_acceptance"
    return order_id


def served_order(app, client, world, family, caregiver) -> int:
    """A paid order the caregiver accepted, started (its start moved to 5 minutes from now)
    and ended: waiting for the family to confirm."""
    from app.common.time import utcnow
    order_id = paid_order(app, client, world, family, caregiver)
    headers = caregiver["headers"]
    assert client.post(f"{CAREGIVER_API}/{order_id}/accept", headers=headers).status_code == 200
    set_order(app, order_id, start_at=utcnow() + timedelta(minutes=5))
    assert client.post(f"{CAREGIVER_API}/{order_id}/start", json={},
                       headers=headers).status_code == 200
    assert client.post(f"{CAREGIVER_API}/{order_id}/end", headers=headers).status_code == 200
    return order_id
