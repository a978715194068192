"""Membership levels and privileges: levels reached by money paid (and points) over the rolling
window; each privilege changes behaviour exactly as the levels' settings say."""
import copy
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from app.common.time import LOCAL_TZ
from app.extensions import db
from tests.booking.conftest import book, catalogue, local_now, pay, registration_row, verified  # noqa: F401
from tests.care_orders.conftest import care_world  # noqa: F401
from tests.conftest import row_counts

URL = "/api/v1/staff/settings/membership-levels"


def ladder(app, **gold_privileges):
    """The default ladder with gold reachable by 50 yuan paid and gold's privileges changed."""
    levels = copy.deepcopy(list(app.config["MEMBERSHIP_LEVELS"]))
    levels[1].update(min_points=1, min_spend_fen=1000)
    levels[2].update(min_points=2, min_spend_fen=5000)
    levels[3].update(min_points=3, min_spend_fen=900_000)
    levels[2]["privileges"].update(gold_privileges)
    return levels


@pytest.fixture
def admin(staff_factory):
    return staff_factory("admin")


def save(client, admin, levels):
    response = client.put(URL, headers=admin["headers"], json={"levels": levels})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def membership(client, person):
    response = client.get("/api/v1/me/membership", headers=person["headers"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def make_gold(client, app, catalogue, person):  # noqa: F811
    """Pay one 50-yuan registration: 5000 fen over the window reaches gold in `ladder`."""
    schedule_id = catalogue["schedule"](days_ahead=5, total=50, fee_fen=5000)
    body = book(client, person, schedule_id).get_json()
    pay(app, body)
    return body["registration"]["id"]


def test_a_new_user_is_regular_with_progress(client, app, verified):  # noqa: F811
    person, = verified(1)
    mine = membership(client, person)
    assert (mine["level"], mine["level_name"]) == ("regular", "普通")
    assert mine["points"] == 0 and mine["spend_fen"] == 0
    silver = app.config["MEMBERSHIP_LEVELS"][1]
    assert mine["next"] == {"level": "白银", "points_needed": silver["min_points"],
                            "spend_fen_needed": silver["min_spend_fen"]}
    assert mine["privileges"]["early_access_minutes"] == 0
    assert [level["name"] for level in mine["levels"]] == ["普通", "白银", "黄金", "铂金"]
    assert client.get("/api/v1/me/membership").status_code == 401


def test_paid_money_raises_the_level_and_refunds_lower_it(client, app, admin, catalogue,
                                                          verified):  # noqa: F811
    save(client, admin, ladder(app))
    person, = verified(1)
    registration_id = make_gold(client, app, catalogue, person)
    mine = membership(client, person)
    assert mine["level"] == "gold" and mine["spend_fen"] == 5000
    assert mine["next"]["spend_fen_needed"] == 900_000 - 5000
    from app.payments.models import Payment
    with app.app_context():  # the money went back: the level follows at once
        payment = db.session.scalar(select(Payment).where(Payment.order_id == registration_id))
        payment.refunded_fen = 5000
        db.session.commit()
        db.session.remove()
    assert membership(client, person)["level"] == "regular"


def test_admins_edit_levels_and_bad_ladders_change_nothing(client, app, admin, staff_factory):
    levels = ladder(app)
    saved = save(client, admin, levels)
    assert saved["levels"][2]["min_spend_fen"] == 5000
    operator = staff_factory("operator")
    assert client.put(URL, headers=operator["headers"], json={"levels": levels}).status_code \
        == 403
    before = row_counts(app)
    bad = [
        [],                                                               # none
        [dict(levels[1])],                                                # first not open
        [levels[0], dict(levels[2]), dict(levels[1])],                    # not rising
        [levels[0], {**levels[1], "code": "regular"}],                    # duplicate code
        [levels[0], {**levels[1], "privileges": {**levels[1]["privileges"],
                                                 "care_discount_percent": 90}}],
        [levels[0], {**levels[1], "min_points": "300"}],                  # not an integer
        [levels[0], {**levels[1], "privileges": {}}],                     # privileges missing
    ]
    for proposal in bad:
        response = client.put(URL, headers=admin["headers"], json={"levels": proposal})
        assert response.status_code == 422, (proposal, response.get_json())
    assert client.get(URL, headers=admin["headers"]).get_json() == saved
    assert row_counts(app) == before


def _service_book(app, person, schedule_id, now):
    from app.booking import services
    from app.errors import AppError
    from app.users.models import User

    with app.app_context():
        user = db.session.get(User, person["id"])
        try:
            services.book(user, schedule_id, person["patient_id"], now=now)
            return "ok"
        except AppError as error:
            return error.code, error.details
        finally:
            db.session.remove()


def test_early_access_exactly_as_configured(client, app, admin, catalogue, verified):  # noqa: F811
    save(client, admin, ladder(app, early_access_minutes=30))
    member, other = verified(2)
    make_gold(client, app, catalogue, member)
    schedule_id = catalogue["schedule"](days_ahead=7)
    work_date = local_now().date() + timedelta(days=7)
    release = datetime.combine(work_date - timedelta(days=7), time(8, 30), LOCAL_TZ)
    refused = _service_book(app, member, schedule_id, release - timedelta(minutes=31))
    assert refused[0] == "not_released" and refused[1]["opens_at"].endswith("08:00")
    assert _service_book(app, other, schedule_id, release - timedelta(minutes=30))[0] \
        == "not_released"
    assert _service_book(app, member, schedule_id, release - timedelta(minutes=30)) == "ok"
    assert _service_book(app, other, schedule_id, release) == "ok"
    # the setting moves: 10 minutes now
    save(client, admin, ladder(app, early_access_minutes=10))
    later = catalogue["schedule"](days_ahead=7, period="afternoon")
    assert _service_book(app, member, later, release - timedelta(minutes=11))[0] \
        == "not_released"
    assert _service_book(app, member, later, release - timedelta(minutes=10)) == "ok"


def _service_cancel(app, person, registration_id, now):
    from app.booking import services
    from app.errors import AppError
    from app.users.models import User

    with app.app_context():
        user = db.session.get(User, person["id"])
        try:
            services.cancel(user, registration_id=registration_id, now=now)
            return "ok"
        except AppError as error:
            return error.code, error.message
        finally:
            db.session.remove()


def test_late_cancellation_within_hours_and_monthly_limit(client, app, admin, catalogue,
                                                          verified):  # noqa: F811
    save(client, admin, ladder(app, late_cancel_hours=12, late_cancels_per_month=1))
    member, other = verified(2)
    make_gold(client, app, catalogue, member)
    schedule_id = catalogue["schedule"](days_ahead=3, total=20, fee_fen=100)
    first, second = (book(client, member, schedule_id).get_json(), None)
    pay(app, first)
    plain = book(client, other, schedule_id).get_json()
    pay(app, plain)
    deadline = datetime.combine(local_now().date() + timedelta(days=2), time(15, 30), LOCAL_TZ)
    # not a member: the hospital's deadline holds
    refused = _service_cancel(app, other, plain["registration"]["id"],
                              deadline + timedelta(minutes=1))
    assert refused[0] == "cancel_deadline_passed" and "无超时免费取消权益" in refused[1]
    # the member: past 12 hours after the deadline is refused, within it allowed once
    too_late = _service_cancel(app, member, first["registration"]["id"],
                               deadline + timedelta(hours=12))
    assert too_late[0] == "cancel_deadline_passed"
    assert _service_cancel(app, member, first["registration"]["id"],
                           deadline + timedelta(hours=11)) == "ok"
    assert registration_row(app, first["registration"]["id"])["status"] == "cancelled"
    assert membership(client, member)["late_cancels_used"] == 1
    # the month's one use is spent
    second = book(client, member, schedule_id).get_json()
    pay(app, second)
    spent = _service_cancel(app, member, second["registration"]["id"],
                            deadline + timedelta(hours=1))
    assert spent[0] == "cancel_deadline_passed" and "次数已用完" in spent[1]
    assert registration_row(app, second["registration"]["id"])["status"] == "booked"
    from app.membership.models import PrivilegeUse
    with app.app_context():
        assert db.session.scalar(select(func.count(PrivilegeUse.id))) == 1
        db.session.remove()


def test_priorities_and_discount_follow_the_level(client, app, admin, catalogue,
                                                  verified):  # noqa: F811
    from app.membership import services
    from app.users.models import User

    save(client, admin, ladder(app, waitlist_priority=7, dispatch_priority=5,
                               care_discount_percent=9))
    member, other = verified(2)
    make_gold(client, app, catalogue, member)
    with app.app_context():
        gold = db.session.get(User, member["id"])
        plain = db.session.get(User, other["id"])
        assert services.waitlist_priority(gold) == 7 and services.waitlist_priority(plain) == 0
        assert services.dispatch_priority(gold) == 5
        decision = services.may(gold, "care_discount")
        assert decision.allowed and decision.value == 9 and "黄金" in decision.reason
        assert not services.may(plain, "care_discount").allowed
        with pytest.raises(ValueError):
            services.may(gold, "fly")
        db.session.remove()


def paid(app, user_id, fen):
    """Money the user paid (a paid payment row): what levels count besides points."""
    from datetime import datetime

    from app.payments.models import Payment
    with app.app_context():
        db.session.add(Payment(out_trade_no=f"M{user_id:012d}{fen:08d}"[:32],
                               order_type="membership_test", order_id=user_id, user_id=user_id,
                               payer_openid="test", description="会员测试", amount_fen=fen,
                               refunded_fen=0, status="paid", expires_at=datetime.utcnow(),
                               paid_at=datetime.utcnow()))
        db.session.commit()
        db.session.remove()


def test_care_discount_and_dispatch_priority(client, app, admin, care_world):
    """A gold family pays 9 % less for the same care, the order is dispatched at that price
    (every quote for it carries the same discount), and the sweep offers it first."""
    from app.care_orders.dispatch import orders_due_for_dispatch
    from tests.care_orders.conftest import API, book as book_care, order_body, order_row, \
        pay as pay_care, run_jobs, set_order

    save(client, admin, ladder(app, care_discount_percent=9, dispatch_priority=4))
    member, plain = care_world["family"](), care_world["family"](name="李四")
    paid(app, member["id"], 5000)
    caregiver = care_world["caregiver"](prices={"full_day": 30000})
    quotes = {}
    for name, person in (("member", member), ("plain", plain)):
        body = order_body(care_world, person, None, days_ahead=3 if name == "member" else 5)
        quotes[name] = client.post(f"{API}/quote", json=body, headers=person["headers"]).get_json()
    assert quotes["plain"]["member_discount_fen"] == 0
    subtotal = quotes["member"]["total_fen"] + quotes["member"]["member_discount_fen"]
    assert quotes["member"]["member_discount_bp"] == 900
    assert quotes["member"]["member_discount_fen"] == subtotal * 900 // 10000 > 0
    created = book_care(client, member, order_body(care_world, member, None, days_ahead=3))
    assert created.status_code == 201, created.get_json()
    order = created.get_json()["order"]
    assert order["price"]["member_discount_fen"] == quotes["member"]["member_discount_fen"]
    assert order["price"]["total_fen"] == quotes["member"]["total_fen"]
    pay_care(app, created.get_json())
    run_jobs(app)  # dispatched at the discounted price: the caregiver is found all the same
    assert order_row(app, order["id"])["caregiver_id"] == caregiver["id"]
    other = book_care(client, plain, order_body(care_world, plain, None, days_ahead=5))
    pay_care(app, other.get_json())
    run_jobs(app)
    # both offers time out; the sweep takes the member's order first whatever the deadlines
    from datetime import datetime, timedelta
    past = datetime.utcnow() - timedelta(minutes=5)
    set_order(app, order["id"], acceptance_deadline=past)
    set_order(app, other.get_json()["order"]["id"], acceptance_deadline=past - timedelta(hours=1))
    with app.app_context():
        due = orders_due_for_dispatch()
        db.session.remove()
    assert due[:2] == [order["id"], other.get_json()["order"]["id"]]
