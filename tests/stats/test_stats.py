"""Statistics through the staff API: every figure equals a direct count over the rows; the
nightly job is idempotent and catches up missed days; today is live; filters, bad input, roles."""
import csv
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, select

from app.extensions import db
from tests.stats.conftest import STATS, direct_figures, run_nightly, world  # noqa: F401


def get(client, staff, path, **query):
    response = client.get(f"{STATS}/{path}", query_string=query, headers=staff["headers"])
    return response


def summary_rows(app):
    from app.stats.models import StatsCaregiverDay, StatsDay, StatsOrderDay

    with app.app_context():
        days = [tuple(getattr(r, c.name) for c in StatsDay.__table__.columns
                      if c.name != "computed_at")
                for r in db.session.scalars(select(StatsDay).order_by(StatsDay.day))]
        orders = sorted(db.session.execute(select(
            StatsOrderDay.day, StatsOrderDay.kind, StatsOrderDay.dimension, StatsOrderDay.dim_key,
            StatsOrderDay.orders, StatsOrderDay.paid_orders, StatsOrderDay.paid_fen)).all())
        caregivers = sorted(db.session.execute(select(
            StatsCaregiverDay.day, StatsCaregiverDay.caregiver_id, StatsCaregiverDay.income_fen,
            StatsCaregiverDay.completed)).all())
        db.session.remove()
    return days, orders, caregivers


def test_figures_equal_direct_counts_over_the_rows(app, client, staff_factory, world):
    done = run_nightly(app)
    today, past = world["today"], world["past"]
    # a week of finished days, none of today
    assert done == [(today - timedelta(days=n)).isoformat() for n in range(7, 0, -1)]
    operator = staff_factory("operator")
    for start, end in ((today - timedelta(days=10), today), (past, past), (today, today),
                       (past - timedelta(days=1), today - timedelta(days=1))):
        expected = direct_figures(app, start, end)
        body = get(client, operator, "overview", **{"from": start.isoformat(),
                                                     "to": end.isoformat()}).get_json()
        for name in ("new_users", "total_users", "hospitals", "registrations",
                     "registrations_paid", "registration_fen", "care_orders", "care_orders_paid",
                     "care_fen", "logins", "searches"):
            assert body[name] == expected[name], (start, end, name, body, expected)
        offers = expected["offers"]
        decided = sum(offers.get(s, 0) for s in ("accepted", "rejected", "timed_out"))
        assert body["accept_rate"] == (round(offers.get("accepted", 0) / decided, 4)
                                       if decided else None)
        ended = expected["completed"] + expected["cancelled"]
        assert body["completion_rate"] == (round(expected["completed"] / ended, 4)
                                           if ended else None)
        reviews = sum(expected["stars"].values())
        assert body["reviews"] == reviews
        satisfaction = get(client, operator, "satisfaction", **{
            "from": start.isoformat(), "to": end.isoformat()}).get_json()
        assert {i["stars"]: i["reviews"] for i in satisfaction["items"]} == expected["stars"]
    # the whole range has real activity in it (not a comparison of zeros)
    whole = get(client, operator, "overview", **{"from": (today - timedelta(days=10)).isoformat()}
                ).get_json()
    assert whole["registrations"] == 3 and whole["registrations_paid"] == 2
    assert whole["registration_fen"] == 5000 + 3000
    assert whole["care_orders"] == 2 and whole["care_orders_paid"] == 2
    assert whole["reviews"] == 1 and whole["good_review_rate"] == 1.0
    assert whole["accept_rate"] == 0.5  # one accepted, one rejected
    assert whole["logins"] >= 1 and whole["searches"] == 4  # page 2 is not a new search
    assert whole["unsummarised_days"] == 0
    past_only = get(client, operator, "overview", **{"from": past.isoformat(),
                                                     "to": past.isoformat()}).get_json()
    assert past_only["registrations"] == 1 and past_only["care_orders"] == 1
    assert past_only["new_users"] == 1


def test_behaviour_counts_logins_searches_and_same_day_conversion(app, client, staff_factory,
                                                                   world):
    operator = staff_factory("operator")
    body = get(client, operator, "behaviour").get_json()
    today = body["items"][-1]
    # searchers: alice (hospitals, no order) and the family (caregivers, ordered today)
    assert today["searchers"] == 2 and today["converted"] == 1
    assert today["conversion_rate"] == 0.5
    assert today["logins"] == direct_figures(app, world["today"], world["today"])["logins"]


def test_dimensions_split_the_same_totals(app, client, staff_factory, world):
    run_nightly(app)
    operator = staff_factory("operator")
    overview = get(client, operator, "overview", **{"from": world["past"].isoformat()}).get_json()
    for dimension in ("hospital", "department", "city"):
        body = get(client, operator, "dimensions", dimension=dimension, page_size=100,
                   **{"from": world["past"].isoformat()}).get_json()
        assert body["total"] == len(body["items"])
        for name in ("registrations", "registration_fen", "care_orders", "care_fen"):
            assert sum(row[name] for row in body["items"]) == overview[name], (dimension, name)
    cities = get(client, operator, "dimensions", dimension="city",
                 **{"from": world["past"].isoformat()}).get_json()["items"]
    by_city = {row["key"]: row for row in cities}
    assert by_city["310100"]["registrations"] == 1 and by_city["310100"]["registration_fen"] == 3000
    assert by_city["310100"]["name"] == "上海市"  # from the data dictionary (its 市辖区 level)
    hospitals = get(client, operator, "dimensions", dimension="hospital").get_json()["items"]
    assert "上海测试医院" in {row["name"] for row in hospitals}
    departments = get(client, operator, "dimensions", dimension="department").get_json()["items"]
    assert any(row["name"].endswith("心内科(陪护)") for row in departments)
    # paging: one row a page, the same rows in the same order
    first = get(client, operator, "dimensions", dimension="hospital", page_size=1).get_json()
    assert first["page_size"] == 1 and len(first["items"]) == 1
    assert first["items"][0]["key"] == hospitals[0]["key"]


def test_trend_granularities_sum_to_the_days(app, client, staff_factory, world):
    run_nightly(app)
    operator = staff_factory("operator")
    start = (world["today"] - timedelta(days=40)).isoformat()
    days = get(client, operator, "trend", **{"from": start}).get_json()["items"]
    assert len(days) == 41
    for granularity in ("week", "month"):
        points = get(client, operator, "trend", granularity=granularity,
                     **{"from": start}).get_json()["items"]
        for name in ("registrations", "care_orders", "care_fen", "new_users", "searches"):
            assert sum(p[name] for p in points) == sum(d[name] for d in days)
        assert points[-1]["total_users"] == days[-1]["total_users"]


def test_nightly_job_is_idempotent_and_catches_up_a_missed_day(app, client, world):
    from app.stats.models import StatsCaregiverDay, StatsDay, StatsOrderDay

    first = run_nightly(app)
    rows = summary_rows(app)
    assert len(rows[0]) == 7 and rows[1]
    again = run_nightly(app)
    # only the last two days are recomputed; the rows are the same
    assert again == [(world["today"] - timedelta(days=n)).isoformat() for n in (2, 1)]
    assert summary_rows(app) == rows
    # a night that never ran: the day has no rows; the next run finds and computes it
    with app.app_context():
        for model in (StatsDay, StatsOrderDay, StatsCaregiverDay):
            db.session.execute(delete(model).where(model.day == world["past"]))
        db.session.commit()
        db.session.remove()
    assert world["past"].isoformat() in run_nightly(app)
    assert summary_rows(app) == rows
    assert first[0] == (world["today"] - timedelta(days=7)).isoformat()


def test_today_is_live_and_never_stored(app, client, staff_factory, world, catalogue, verified):
    from app.stats.models import StatsDay
    from tests.booking.conftest import book

    run_nightly(app)
    operator = staff_factory("operator")
    before = get(client, operator, "overview", **{"from": world["today"].isoformat()}).get_json()
    person = verified(1, prefix="late")[0]
    assert book(client, person, catalogue["schedule"](days_ahead=4)).status_code == 201
    after = get(client, operator, "overview", **{"from": world["today"].isoformat()}).get_json()
    assert after["registrations"] == before["registrations"] + 1
    assert after["new_users"] == before["new_users"] + 1
    with app.app_context():
        assert db.session.get(StatsDay, world["today"]) is None
        db.session.remove()


def test_a_day_not_yet_summarised_counts_as_zero_and_is_reported(app, client, staff_factory,
                                                                  world):
    operator = staff_factory("operator")
    body = get(client, operator, "overview", **{"from": world["past"].isoformat(),
                                                "to": world["past"].isoformat()}).get_json()
    assert body["unsummarised_days"] == 1 and body["registrations"] == 0
    run_nightly(app)
    body = get(client, operator, "overview", **{"from": world["past"].isoformat(),
                                                "to": world["past"].isoformat()}).get_json()
    assert body["unsummarised_days"] == 0 and body["registrations"] == 1


@pytest.mark.parametrize("query, status, code", [
    ({"from": "2026-02-10", "to": "2026-02-01"}, 422, "invalid_date_range"),
    ({"from": "2020-01-01", "to": "2021-06-01"}, 422, "date_range_too_long"),
    ({"to": "2999-01-01"}, 422, "date_in_future"),
    ({"from": "1999-12-31", "to": "2000-01-05"}, 422, "date_too_early"),
    ({"from": "yesterday"}, 422, "validation_error"),
    ({"from": "2026-02-30"}, 422, "validation_error"),
])
def test_bad_ranges_are_refused_in_chinese(client, staff_factory, query, status, code):
    operator = staff_factory("operator")
    for path in ("overview", "trend", "dimensions", "caregivers", "satisfaction", "behaviour"):
        response = get(client, operator, path, **query)
        assert response.status_code == status, (path, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == code, (path, error)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error


@pytest.mark.parametrize("path, query", [
    ("dimensions", {"dimension": "province"}), ("trend", {"granularity": "hour"}),
    ("export", {"table": "trend", "format": "pdf"}), ("export", {"table": "users"}),
    ("export", {}), ("dimensions", {"page": "0"}), ("dimensions", {"page_size": "1000"}),
])
def test_bad_options_are_refused(client, staff_factory, path, query):
    response = get(client, staff_factory("admin"), path, **query)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_error"


def test_only_operations_staff_and_admins_read_statistics(client, staff_factory, alice):
    for role, status in (("operator", 200), ("admin", 200), ("reviewer", 403)):
        staff = staff_factory(role)
        for path in ("overview", "trend", "dimensions", "caregivers", "satisfaction",
                     "behaviour", "export?table=trend"):
            response = client.get(f"{STATS}/{path}", headers=staff["headers"])
            assert response.status_code == status, (role, path)
    assert client.get(f"{STATS}/overview").status_code == 401
    assert client.get(f"{STATS}/overview", headers=alice["headers"]).status_code == 401


def _csv(response):
    assert response.status_code == 200, response.get_json()
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def _xlsx(response):
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.data), read_only=True).active
    return [[("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)]


def test_exports_parse_back_to_the_same_numbers(app, client, staff_factory, world):
    run_nightly(app)
    operator = staff_factory("operator")
    start = {"from": world["past"].isoformat()}
    trend = get(client, operator, "trend", **start).get_json()["items"]
    dims = get(client, operator, "dimensions", dimension="city", **start).get_json()["items"]
    cares = get(client, operator, "caregivers", **start).get_json()
    for fmt, parse in (("csv", _csv), ("xlsx", _xlsx)):
        rows = parse(get(client, operator, "export", table="trend", format=fmt, **start))
        assert rows[0][:5] == ["日期", "新增用户", "累计用户", "接入医院", "挂号订单"]
        assert [(r[0], int(r[4]), round(float(r[6]) * 100), int(r[7]), round(float(r[9]) * 100))
                for r in rows[1:]] == [
            (p["period"], p["registrations"], p["registration_fen"], p["care_orders"],
             p["care_fen"]) for p in trend]
        rows = parse(get(client, operator, "export", table="dimension", dimension="city",
                         format=fmt, **start))
        assert rows[0][:2] == ["城市编码", "城市"]
        assert [(r[0], int(r[2]), round(float(r[4]) * 100)) for r in rows[1:]] == [
            (d["key"], d["registrations"], d["registration_fen"]) for d in dims]
        rows = parse(get(client, operator, "export", table="income", format=fmt, **start))
        assert [(r[0], int(r[1])) for r in rows[1:]] == [
            (b["label"], b["caregivers"]) for b in cares["income_buckets"]]
        for table in ("caregivers", "ratings", "behaviour"):
            rows = parse(get(client, operator, "export", table=table, format=fmt, **start))
            assert len(rows) > 1 and all(rows[0])
    response = get(client, operator, "export", table="trend", format="xlsx", **start)
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]


def test_exports_neutralise_formulas_in_names(app, client, staff_factory, world):
    from app.hospitals.models import Hospital

    with app.app_context():
        hospital = db.session.scalar(select(Hospital).where(Hospital.code == "H-SH"))
        hospital.name = "=HYPERLINK(\"http://x\",\"点我\")"
        db.session.commit()
        db.session.remove()
    operator = staff_factory("operator")
    for fmt, parse in (("csv", _csv), ("xlsx", _xlsx)):
        rows = parse(get(client, operator, "export", table="dimension", format=fmt))
        names = [row[1] for row in rows[1:]]
        assert "'=HYPERLINK(\"http://x\",\"点我\")" in names, names
        assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


def test_income_distribution_buckets_each_earning_caregiver_once(app, client, staff_factory,
                                                                  world):
    from sqlalchemy import func

    from app.earnings.models import EarningEntry

    with app.app_context():
        earned = dict(db.session.execute(select(EarningEntry.caregiver_id,
                                                func.sum(EarningEntry.net_fen))
                                         .group_by(EarningEntry.caregiver_id)).all())
        db.session.remove()
    assert earned  # the completed order credited its caregiver
    body = get(client, staff_factory("operator"), "caregivers").get_json()
    assert body["earning_caregivers"] == len(earned)
    assert sum(b["caregivers"] for b in body["income_buckets"]) == len(earned)
    assert sum(b["income_fen"] for b in body["income_buckets"]) == sum(earned.values())
    assert body["completed"] == 1


def test_whole_months_come_from_the_monthly_rollup_and_agree_with_the_days(
        app, client, staff_factory, world):
    """A year's range reads whole months from stats_order_months / stats_caregiver_months and
    the ends from the day rows; moved two months back, the orders and the income still add up
    to a direct count, and a range cutting that month in two (day rows only) agrees too."""
    from sqlalchemy import func

    from app.booking.models import Registration
    from app.earnings.models import EarningEntry
    from app.stats.models import StatsCaregiverMonth, StatsOrderMonth
    from tests.stats.conftest import move, utc_at

    today = world["today"]
    old_day = today - timedelta(days=70)
    move(app, Registration, world["registrations"][0], created_at=utc_at(old_day, 9))
    with app.app_context():
        entry = db.session.scalars(select(EarningEntry.id)).first()
        db.session.remove()
    move(app, EarningEntry, entry, created_at=utc_at(old_day, 11))
    done = run_nightly(app)
    assert old_day.isoformat() in done
    month = old_day.replace(day=1)
    with app.app_context():
        rolled = db.session.execute(select(StatsOrderMonth.orders, StatsOrderMonth.paid_fen).where(
            StatsOrderMonth.month == month, StatsOrderMonth.dimension == "all",
            StatsOrderMonth.kind == "registration")).one()
        income = db.session.scalar(select(func.sum(StatsCaregiverMonth.income_fen)).where(
            StatsCaregiverMonth.month == month))
        earned = db.session.scalar(select(func.sum(EarningEntry.net_fen)))
        db.session.remove()
    assert tuple(rolled) == (1, 5000)
    assert income and income > 0
    operator = staff_factory("operator")
    for start in (today - timedelta(days=365), old_day, old_day + timedelta(days=1)):
        expected = direct_figures(app, start, today)
        for dimension in ("hospital", "department", "city"):
            body = get(client, operator, "dimensions", dimension=dimension, page_size=100,
                       **{"from": start.isoformat()}).get_json()
            for name in ("registrations", "registration_fen", "care_orders", "care_fen"):
                assert sum(row[name] for row in body["items"]) == expected[name], (
                    start, dimension, name)
        buckets = get(client, operator, "caregivers", **{"from": start.isoformat()}).get_json()
        expected_income = earned if start <= old_day else earned - income
        assert sum(b["income_fen"] for b in buckets["income_buckets"]) == expected_income
    # a second night changes nothing in the rollup
    run_nightly(app)
    with app.app_context():
        again = db.session.execute(select(StatsOrderMonth.orders, StatsOrderMonth.paid_fen).where(
            StatsOrderMonth.month == month, StatsOrderMonth.dimension == "all",
            StatsOrderMonth.kind == "registration")).one()
        db.session.remove()
    assert tuple(again) == (1, 5000)
