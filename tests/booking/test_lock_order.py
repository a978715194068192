"""One lock order (schedule → registration → payment → refund) for every use case, a deadlock
retried once, and prepay holding the order row. Real threads against the real database."""
import logging
import secrets
import threading
import time
from datetime import timedelta

import requests
from sqlalchemy import text

from app.common.time import utcnow
from app.extensions import db
from tests.conftest import BACKEND

ROUNDS = 100 if BACKEND == "mariadb" else 10


def _lock_waits(app) -> int:
    """Transactions of this test database waiting for a row lock (MariaDB)."""
    with app.app_context():
        count = db.session.execute(text(
            "SELECT COUNT(*) FROM information_schema.INNODB_TRX t "
            "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
            "WHERE t.trx_state = 'LOCK WAIT' AND p.DB = DATABASE()")).scalar()
        db.session.remove()
        return count


def _wait_until_blocked_or_done(app, thread, seconds=10):
    """Until `thread` waits for a row lock (MariaDB tells), or has finished. SQLite cannot
    tell: there the other transaction is held off by BEGIN IMMEDIATE anyway."""
    deadline = time.monotonic() + (seconds if BACKEND == "mariadb" else 1)
    while time.monotonic() < deadline and thread.is_alive():
        if BACKEND == "mariadb" and _lock_waits(app):
            return
        time.sleep(0.02)


def test_a_deadlock_is_retried_once(app, verified, caplog):
    from app.common.deadlock import retry_deadlock
    from app.users.models import User

    first, second = (person["id"] for person in verified(2))
    barrier = threading.Barrier(2)
    calls, errors = [], []

    @retry_deadlock
    def lock_both(one, other, state):
        calls.append(one)
        db.session.get(User, one, with_for_update=True, populate_existing=True)
        if not state.get("waited"):  # both hold their first row, then ask for the other's
            state["waited"] = True
            try:
                barrier.wait(timeout=3 if BACKEND == "mariadb" else 0.5)
            except threading.BrokenBarrierError:
                pass  # SQLite: the other transaction cannot begin while this one runs
        db.session.get(User, other, with_for_update=True).last_login_at = utcnow()
        db.session.commit()

    def run(one, other):
        with app.app_context():
            try:
                lock_both(one, other, {})
            except Exception as error:  # noqa: BLE001 — the test reports it
                errors.append(repr(error))
            finally:
                db.session.remove()

    caplog.set_level(logging.WARNING, logger="app.deadlock")
    threads = [threading.Thread(target=run, args=pair) for pair in ((first, second),
                                                                      (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    retries = [r for r in caplog.records if "deadlock" in r.getMessage()]
    if BACKEND == "mariadb":  # InnoDB chose a victim; it ran again and got through
        assert len(calls) == 3 and len(retries) == 1
    else:
        assert len(calls) == 2 and retries == []


def test_prepay_waits_for_a_cancel_that_holds_the_order(client, app, catalogue, verified):
    """Prepay locks the order row: it cannot issue pay parameters for an order a concurrent
    cancel is closing (before: it read the order without a lock and answered 200)."""
    from app.booking.services import lock_registration, release_slot
    from tests.booking.conftest import book

    schedule_id = catalogue["schedule"](total=2)
    person, = verified(1)
    booked = client.post("/api/v1/registrations", headers=person["headers"], json={
        "schedule_id": schedule_id, "patient_id": person["patient_id"]})
    registration_id = booked.get_json()["registration"]["id"]
    with app.app_context():  # an order with no payment yet (its prepay failed, say)
        from app.payments.models import Payment
        db.session.query(Payment).delete()
        db.session.commit()
        db.session.remove()
    locked, answers = threading.Event(), []

    def prepay():
        locked.wait(10)
        answers.append(requests.post(app.config["LIVE_URL"] + "/api/v1/payments/prepay",
                                     headers=person["headers"], timeout=60,
                                     json={"order_type": "registration",
                                           "order_id": registration_id}))

    payer = threading.Thread(target=prepay)
    payer.start()
    with app.app_context():  # a cancel in the middle of its transaction
        registration = lock_registration(registration_id)
        locked.set()
        _wait_until_blocked_or_done(app, payer)
        registration.cancel(utcnow())
        release_slot(registration)
        db.session.commit()
        db.session.remove()
    payer.join()
    response, = answers
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "order_not_payable"
    with app.app_context():
        from app.payments.models import Payment
        assert db.session.query(Payment).count() == 0
        db.session.remove()
    assert book(client, person, schedule_id).status_code == 201


def _round(app, catalogue, people):
    """One schedule with a booked-and-paid order (A), an unpaid one about to be paid (B) and
    an unpaid one past its deadline (C)."""
    from app.booking.models import Registration
    from app.hospitals.models import Schedule
    from app.payments.models import Payment

    schedule_id = catalogue["schedule"](total=10, fee_fen=1000,
                                        doctor_id=catalogue["another_doctor"]())
    ids = {"schedule": schedule_id}
    with app.app_context():
        schedule = db.session.get(Schedule, schedule_id)
        schedule.available = 7
        now = utcnow()
        for name, person, status in (("A", people[0], "booked"),
                                     ("B", people[1], "pending_payment"),
                                     ("C", people[2], "pending_payment")):
            registration = Registration(
                order_no="G" + secrets.token_hex(8), user_id=person["id"],
                patient_id=person["patient_id"], schedule_id=schedule_id,
                hospital_id=schedule.hospital_id, department_id=schedule.department_id,
                doctor_id=schedule.doctor_id, visit_date=schedule.work_date,
                period=schedule.period, fee_fen=1000, patient_name="王小明", status=status,
                active=True, visit_number=1 if status == "booked" else None,
                paid_at=now if status == "booked" else None)
            db.session.add(registration)
            db.session.flush()
            payment = Payment(
                out_trade_no="P" + secrets.token_hex(10), order_type="registration",
                order_id=registration.id, user_id=person["id"], payer_openid="o-test",
                description="挂号费", amount_fen=1000, refunded_fen=0,
                status="paid" if status == "booked" else "created",
                transaction_id=("42" + secrets.token_hex(12)) if status == "booked" else None,
                paid_at=now if status == "booked" else None,
                expires_at=now - timedelta(seconds=5) if name == "C"
                else now + timedelta(minutes=15))
            db.session.add(payment)
            db.session.flush()
            ids[name] = registration.id
            ids[f"payment_{name}"] = payment.id
            ids[f"out_trade_no_{name}"] = payment.out_trade_no
        db.session.commit()
        db.session.remove()
    return ids


def test_cancel_stop_pay_and_ttl_close_race_on_the_same_rows(app, catalogue, verified,
                                                            staff_factory):
    from app.booking import services as booking
    from app.booking.models import Registration
    from app.errors import AppError
    from app.hospitals import rules
    from app.payments import services as payments
    from app.payments.models import Payment, Refund
    from app.staff.models import StaffUser
    from app.users.models import User
    from app.wechat.simulator.pay import build_notification

    people = verified(3)
    operator = staff_factory("operator")
    errors, outcomes = [], {"cancel": {}, "notify": {}, "close": {}}
    live = app.config["LIVE_URL"]
    http = requests.Session()

    for _ in range(ROUNDS):
        ids = _round(app, catalogue, people)
        with app.app_context():
            headers, body = build_notification("TRANSACTION.SUCCESS", "transaction", {
                "appid": app.config["WECHATPAY_APPID"], "mchid": app.config["WECHATPAY_MCHID"],
                "out_trade_no": ids["out_trade_no_B"],
                "transaction_id": "42" + secrets.token_hex(12), "trade_type": "JSAPI",
                "trade_state": "SUCCESS", "trade_state_desc": "支付成功",
                "success_time": utcnow().strftime("%Y-%m-%dT%H:%M:%S+00:00"),
                "payer": {"openid": "o-test"},
                "amount": {"total": 1000, "payer_total": 1000, "currency": "CNY",
                           "payer_currency": "CNY"}})
        barrier = threading.Barrier(4)

        def in_app(name, work):
            def run():
                with app.app_context():
                    barrier.wait()
                    try:
                        result = work()
                        outcomes.setdefault(name, {})
                        outcomes[name][result] = outcomes[name].get(result, 0) + 1
                    except AppError as error:
                        if name == "cancel" and error.code == "invalid_state_transition":
                            outcomes["cancel"]["already stopped"] = \
                                outcomes["cancel"].get("already stopped", 0) + 1
                        else:
                            errors.append((name, error.code, error.message))
                    except Exception as error:  # noqa: BLE001 — the test reports it
                        errors.append((name, repr(error)))
                    finally:
                        db.session.remove()
            return threading.Thread(target=run)

        def cancel():
            user = db.session.get(User, people[0]["id"])
            booking.cancel(user, registration_id=ids["A"], now=rules.now_local())
            return "cancelled"

        def stop():
            staff = db.session.get(StaffUser, operator["id"])
            return str(booking.stop_schedule(staff, schedule_id=ids["schedule"],
                                             reason="医生临时出诊任务"))

        def notify():
            return http.post(live + "/wechat/pay/notify", data=body, headers=headers,
                             timeout=60).status_code

        def close():
            return payments.close_if_unpaid(ids["payment_C"])

        threads = [in_app("cancel", cancel), in_app("stop", stop), in_app("notify", notify),
                   in_app("close", close)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [], errors

        with app.app_context():
            rows = {name: db.session.get(Registration, ids[name]) for name in "ABC"}
            pays = {name: db.session.get(Payment, ids[f"payment_{name}"]) for name in "ABC"}
            refunds = {name: db.session.query(Refund).filter_by(
                payment_id=ids[f"payment_{name}"]).all() for name in "ABC"}
            assert rows["A"].status in ("cancelled", "stopped")
            assert rows["B"].status in ("stopped", "closed")  # paid before or after 停诊
            assert rows["C"].status == "closed"
            for name in "AB":  # the money came back in full, reserved exactly once
                assert pays[name].status == "refunding", (name, pays[name].status)
                assert [(r.amount_fen, r.status) for r in refunds[name]] == [(1000, "processing")]
            assert pays["C"].status == "closed" and refunds["C"] == []
            db.session.remove()
    assert outcomes["notify"] == {204: ROUNDS}
    assert sum(outcomes["close"].values()) == ROUNDS
    assert sum(outcomes["cancel"].values()) == ROUNDS
