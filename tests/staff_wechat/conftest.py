"""Messages to /wechat/official built the way WeChat builds them (signature over token,
timestamp and nonce; safe mode encrypted with wechatpy's WeChatCrypto), and a hand-made
dataset whose counts the menu answers are checked against."""
import hashlib
import itertools
import os
import secrets
import time as clock
from datetime import date, datetime, time, timedelta, timezone

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from app.booking.models import Registration
from app.care_disputes.models import CareDispute
from app.care_orders.models import CareOrder
from app.caregivers.models import CaregiverRevision
from app.common.identity import parse_resident_id
from app.common.time import LOCAL_TZ, local_today, utcnow
from app.extensions import db
from app.files.models import StoredFile
from app.hospitals.models import Schedule
from app.patients.models import Patient
from app.payments.models import Payment, Refund
from app.qualifications.models import Qualification
from app.staff.models import StaffUser
from app.users.models import RealNameVerification, User
from tests.conftest import ID_MOTHER, add_hospital_with_doctor, make_caregiver


def sign(*parts):
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


# WeChat deduplicates events by sender + CreateTime (seconds), so two clicks a test makes in
# the same second would be one event: each message gets its own second
_create_times = itertools.count(int(clock.time()))


def message_xml(openid, *, event=None, key=None, content=None, msg_id=None, create_time=None):
    create_time = create_time or next(_create_times)
    head = (f"<ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime>")
    if event:
        return (f"<xml>{head}<MsgType><![CDATA[event]]></MsgType>"
                f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key or ''}]]></EventKey>"
                "</xml>")
    msg_id = msg_id or secrets.randbelow(10**18)
    return (f"<xml>{head}<MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


class Official:
    """WeChat's side of the webhook, through the Flask test client."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        config = app.config
        self.token = config["WECHAT_OA_TOKEN"]
        self.crypto = WeChatCrypto(self.token, config["WECHAT_OA_AES_KEY"],
                                   config["WECHAT_OA_APP_ID"])

    def query(self, timestamp=None, nonce=None, **extra):
        timestamp = timestamp or str(int(clock.time()))
        nonce = nonce or secrets.token_hex(5)
        return {"signature": sign(self.token, timestamp, nonce), "timestamp": timestamp,
                "nonce": nonce, **extra}

    def post(self, xml, *, aes=False, query=None, crypto=None):
        """(response, reply text or None); an AES reply is decrypted (and so verified)."""
        query = query or self.query()
        body = xml
        if aes:
            envelope = xmltodict.parse((crypto or self.crypto).encrypt_message(
                xml, query["nonce"], query["timestamp"]))["xml"]
            query = {**query, "encrypt_type": "aes", "msg_signature": envelope["MsgSignature"]}
            body = ("<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
                    f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>")
        response = self.client.post("/wechat/official", query_string=query, data=body,
                                    content_type="text/xml")
        return response, self.reply_text(response, aes=aes)

    def reply_text(self, response, aes=False):
        text = response.get_data(as_text=True)
        if response.status_code != 200 or text in ("", "success"):
            return None
        if aes:
            envelope = xmltodict.parse(text)["xml"]
            text = self.crypto.decrypt_message(text, envelope["MsgSignature"],
                                               envelope["TimeStamp"], envelope["Nonce"])
        return xmltodict.parse(text)["xml"]["Content"]

    def click(self, openid, key, **kwargs):
        return self.post(message_xml(openid, event="CLICK", key=key), **kwargs)[1]

    def text(self, openid, content, **kwargs):
        return self.post(message_xml(openid, content=content), **kwargs)[1]


@pytest.fixture
def official(app, client):
    return Official(app, client)


def bind(app, staff_id, openid):
    with app.app_context():
        db.session.get(StaffUser, staff_id).official_openid = openid
        db.session.commit()
        db.session.remove()


def yesterday_utc():
    """23:59 yesterday in Shanghai, as stored (naive UTC): outside 'today' by one minute."""
    midnight = datetime.combine(local_today(), time(0), LOCAL_TZ)
    return (midnight - timedelta(minutes=1)).astimezone(timezone.utc).replace(tzinfo=None)


def midnight_utc():
    return datetime.combine(local_today(), time(0), LOCAL_TZ).astimezone(
        timezone.utc).replace(tzinfo=None)


# what `dataset` makes, to the row
EXPECTED_TODO = {"real_name_reviews": 3, "caregiver_reviews": 2, "caregiver_revisions": 1,
                 "qualification_reviews": 4, "disputes": 2, "failed_refunds": 2}
EXPECTED_TODAY = {"registrations": 4, "care_orders": 2, "payments": 3,
                  "revenue_fen": 5000 + 30000 + 12345}


@pytest.fixture
def dataset(app):
    """Each queue with rows in it and rows that must not count (decided, resolved, other
    days: 23:59 yesterday in Shanghai is 15:59 UTC, the same UTC day as today's early hours)."""
    with app.app_context():
        users = []
        for index in range(6):
            user = User(openid=f"wx-dataset-{index}-{os.urandom(3).hex()}", status="active")
            db.session.add(user)
            users.append(user)
        db.session.flush()
        photo = StoredFile(owner_user_id=users[0].id, purpose="id_photo",
                           content_type="image/png", size_bytes=10, sha256="0" * 64,
                           storage_key=f"test/{os.urandom(8).hex()}")
        db.session.add(photo)
        db.session.flush()
        for index, status in enumerate(["pending"] * 3 + ["verified", "rejected"]):
            db.session.add(RealNameVerification(
                user_id=users[index].id, name_encrypted="王小明", id_type="resident_id",
                id_number_encrypted=ID_MOTHER, id_number_index=f"idx-{index}",
                id_photo_file_id=photo.id, status=status))

        hospital, department, doctor = add_hospital_with_doctor("H-WX", "测试医院")
        # one schedule per registration: one active booking per patient and schedule
        schedules = [Schedule(hospital_id=hospital.id, department_id=department.id,
                              doctor_id=doctor.id, work_date=date.today() + timedelta(days=day),
                              period="morning", start_time=time(8), end_time=time(12), total=20,
                              available=20, numbers_issued=0, fee_fen=5000, status="open")
                     for day in range(1, 7)]
        db.session.add_all(schedules)
        patient = Patient(user_id=users[0].id, alive=True, name="王小明", is_insured=False)
        patient.set_id("resident_id", ID_MOTHER)
        patient.birthday, patient.gender = parse_resident_id(ID_MOTHER)
        patient.phone = "13800000000"
        db.session.add(patient)
        db.session.flush()

        now = utcnow()
        for index, created in enumerate([now, now, midnight_utc(), now,
                                         yesterday_utc(), yesterday_utc()]):
            schedule = schedules[index]
            db.session.add(Registration(
                order_no=f"R{os.urandom(6).hex()}", user_id=users[0].id, patient_id=patient.id,
                schedule_id=schedule.id, hospital_id=hospital.id, department_id=department.id,
                doctor_id=doctor.id, visit_date=schedule.work_date, period="morning",
                fee_fen=5000, patient_name="王小明", status="booked", active=True,
                created_at=created))
        orders = []
        for created in (now, now, yesterday_utc(), yesterday_utc(), yesterday_utc()):
            order = CareOrder(
                order_no=f"C{os.urandom(6).hex()}", user_id=users[0].id, patient_id=patient.id,
                patient_name="王小明", care_type="full_day", start_at=now,
                end_at=now + timedelta(days=1), city_code="110100", units=1,
                unit_price_fen=30000, base_fen=30000, total_fen=30000, status="disputed",
                created_at=created)
            db.session.add(order)
            orders.append(order)
        db.session.flush()
        for order, status in zip(orders[2:], ("open", "open", "resolved")):
            db.session.add(CareDispute(order_id=order.id, opened_by="family",
                                       opened_by_user_id=users[0].id, text="护工迟到",
                                       status=status))

        payments = []
        for amount, paid_at, status in ((5000, now, "paid"), (30000, midnight_utc(), "paid"),
                                        (12345, now, "refunding"),
                                        (99900, yesterday_utc(), "paid"),
                                        (7700, None, "created")):
            payment = Payment(out_trade_no=f"P{os.urandom(8).hex()}", order_type="registration",
                              order_id=len(payments) + 1, user_id=users[0].id,
                              payer_openid=users[0].openid, description="挂号费",
                              amount_fen=amount, status=status, paid_at=paid_at,
                              expires_at=now + timedelta(minutes=15))
            db.session.add(payment)
            payments.append(payment)
        db.session.flush()
        for status in ("failed", "failed", "processing", "succeeded"):
            db.session.add(Refund(out_refund_no=f"RF{os.urandom(8).hex()}",
                                  payment_id=payments[2].id, amount_fen=100, reason="测试",
                                  requested_by="staff", status=status))
        db.session.commit()
        db.session.remove()

    pending = [make_caregiver(app, status="pending_review") for _ in range(2)]
    approved = make_caregiver(app, status="approved")
    make_caregiver(app, status="draft")
    with app.app_context():
        for status in ("pending", "approved"):
            db.session.add(CaregiverRevision(caregiver_id=approved, status=status,
                                             changes_encrypted="{}"))
        for index, status in enumerate(["pending"] * 4 + ["approved"]):
            db.session.add(Qualification(
                caregiver_id=pending[index % 2] if status == "pending" else approved,
                kind="health_certificate", title="健康证", number=f"JK{index:06d}",
                number_index=f"q-{index}", status=status))
        db.session.commit()
        db.session.remove()
