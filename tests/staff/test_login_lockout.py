"""Staff password guessing: a per-account lockout with backoff, whatever the source address."""
import itertools
import threading
from datetime import timedelta

import requests

from app.common.time import utcnow
from app.extensions import db
from app.staff.models import StaffUser
from app.staff.services import create_staff

PASSWORD = "correct-horse-battery"


def make_staff(app, username="nurse"):
    with app.app_context():
        staff_id = create_staff(username, PASSWORD, "reviewer").id
        db.session.remove()
    return staff_id


_addresses = itertools.count(1)


def attempt(client, password, address=None, username="nurse"):
    # a different source address each time: the per-address rate limit must not be what stops it
    address = address or f"10.1.{next(_addresses) % 250}.{next(_addresses) % 250}"
    return client.post("/api/v1/staff/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def lock_state(app, staff_id):
    with app.app_context():
        staff = db.session.get(StaffUser, staff_id)
        state = staff.failed_login_count, staff.locked_until
        db.session.remove()
    return state


def expire_lock(app, staff_id):
    """Move the lock into the past (instead of waiting for it)."""
    with app.app_context():
        staff = db.session.get(StaffUser, staff_id)
        staff.locked_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        db.session.remove()


def test_five_failures_lock_the_account_from_every_address(client, app):
    staff_id = make_staff(app)
    for index in range(5):
        response = attempt(client, "wrong-password", address=f"10.0.1.{index}")
        assert response.status_code == 401
        assert response.get_json()["error"]["code"] == "bad_credentials"
    right = attempt(client, PASSWORD, address="10.0.2.1")
    wrong = attempt(client, "wrong-password", address="10.0.2.2")
    for response in (right, wrong):
        assert response.status_code == 429
        error = response.get_json()["error"]
        assert error["code"] == "account_locked"
        assert "锁定" in error["message"] and "请 1 分钟后再试" in error["message"]
        assert 55 <= error["details"]["retry_after_seconds"] <= 60
        # (Flask-Limiter merges its own window into the header: the later of the two, floored)
        assert int(response.headers["Retry-After"]) >= error["details"]["retry_after_seconds"] - 1
    # the same answer whether the password was right or wrong (only the request id differs)
    strip = lambda response: {**response.get_json()["error"], "request_id": None}  # noqa: E731
    assert strip(right) == strip(wrong)
    assert "token" not in right.get_json()
    count, locked_until = lock_state(app, staff_id)
    assert count == 5 and locked_until > utcnow() + timedelta(seconds=50)


def test_the_lock_doubles_with_each_further_failure_up_to_the_cap(client, app):
    staff_id = make_staff(app)
    for _ in range(5):
        attempt(client, "wrong-password")
    waits = []
    for _ in range(3):
        expire_lock(app, staff_id)
        assert attempt(client, "wrong-password").status_code == 401
        waits.append(attempt(client, PASSWORD).get_json()["error"]["details"]
                     ["retry_after_seconds"])
    assert [round(wait / 60) for wait in waits] == [2, 4, 8]
    with app.app_context():
        staff = db.session.get(StaffUser, staff_id)
        staff.failed_login_count, staff.locked_until = 40, None
        db.session.commit()
        db.session.remove()
    assert attempt(client, "wrong-password").status_code == 401
    locked = attempt(client, PASSWORD)
    assert 3590 <= locked.get_json()["error"]["details"]["retry_after_seconds"] <= 3600
    assert "60 分钟" in locked.get_json()["error"]["message"]


def test_a_success_resets_the_count(client, app):
    staff_id = make_staff(app)
    for _ in range(4):
        assert attempt(client, "wrong-password").status_code == 401
    assert attempt(client, PASSWORD).status_code == 200
    assert lock_state(app, staff_id) == (0, None)
    for _ in range(4):
        assert attempt(client, "wrong-password").status_code == 401
    assert attempt(client, PASSWORD).status_code == 200
    # after an expired lock, the right password logs in and clears it
    for _ in range(5):
        attempt(client, "wrong-password")
    expire_lock(app, staff_id)
    assert attempt(client, PASSWORD).status_code == 200
    assert lock_state(app, staff_id) == (0, None)


def test_an_unknown_username_is_refused_and_locked_like_a_known_one(client, app):
    """The lockout must not tell a guesser which usernames exist."""
    make_staff(app)
    answers = {}
    for username in ("nurse", "nobody"):
        answers[username] = [attempt(client, "wrong-password", username=username)
                             for _ in range(6)]
    shape = {username: [(r.status_code, r.get_json()["error"]["code"],
                         r.get_json()["error"]["message"]) for r in responses]
             for username, responses in answers.items()}
    assert shape["nurse"] == shape["nobody"]
    assert [code for _, code, _ in shape["nobody"]] == ["bad_credentials"] * 5 + [
        "account_locked"]
    assert int(answers["nobody"][-1].headers["Retry-After"]) >= 59


def test_a_burst_of_concurrent_guesses_gets_no_more_than_five_checked(app):
    """Every attempt is counted (committed) before its password is checked, under the row's
    lock, so 12 guesses at once against the live server get at most 5 answers of 'wrong
    password'; the rest are told the account is locked."""
    staff_id = make_staff(app)
    url = app.config["LIVE_URL"] + "/api/v1/staff/login"
    barrier = threading.Barrier(12)
    answers = []

    def guess(index):
        barrier.wait()
        response = requests.post(url, json={"username": "nurse", "password": f"guess-{index}"},
                                 timeout=60)
        answers.append((response.status_code, response.json()["error"]["code"]))

    threads = [threading.Thread(target=guess, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = [code for _, code in answers]
    assert len(codes) == 12
    # (the per-address limit of 10 a minute may answer some of them first: all come from
    # 127.0.0.1)
    assert set(codes) <= {"bad_credentials", "account_locked", "rate_limited"}
    assert codes.count("bad_credentials") == 5, answers
    assert lock_state(app, staff_id)[0] == 5  # refused attempts are not counted again

