"""The caregiver's income: their entries newest first with order and care type, filtered by
local month and status; the summary (pending, settled, the last 12 months); nobody else's."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.common.time import LOCAL_TZ, utcnow
from app.earnings.models import EarningEntry
from app.extensions import db
from tests.care_disputes.conftest import API, ok, order_at, set_row

INCOME = "/api/v1/caregiver/income"


def entry_ids(app, order_id):
    with app.app_context():
        ids = db.session.scalars(select(EarningEntry.id).where(
            EarningEntry.order_id == order_id).order_by(EarningEntry.id)).all()
        db.session.remove()
    return list(ids)


def month_of(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m")


def last_month_noon() -> datetime:
    """Noon (local) on the 15th of last month, as naive UTC."""
    first = datetime.now(LOCAL_TZ).replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    previous = (first - timedelta(days=1)).replace(day=15)
    return previous.astimezone(timezone.utc).replace(tzinfo=None)


@pytest.fixture
def two_orders(app, client, care_world):
    """One caregiver: an order completed (30000 kept) and one the family cancelled after
    acceptance (80 % back: 6000 kept), in that order."""
    caregiver = care_world["caregiver"]()
    family = care_world["family"]()
    completed = order_at(app, client, care_world, "completed", caregiver=caregiver,
                         family=family, days_ahead=3)
    cancelled = order_at(app, client, care_world, "accepted", caregiver=caregiver,
                         family=family, days_ahead=5)
    ok(client.post(f"{API}/{cancelled['id']}/cancel", json={}, headers=family["headers"]))
    return {"caregiver": caregiver, "family": family, "completed": completed,
            "cancelled": cancelled}


def test_my_entries_newest_first_with_the_summary(app, client, two_orders):
    caregiver = two_orders["caregiver"]
    income = ok(client.get(INCOME, headers=caregiver["headers"]))
    assert income["total"] == 2 and income["page"] == 1
    newest, oldest = income["items"]
    assert newest["order_id"] == two_orders["cancelled"]["id"]
    assert (newest["kind"], newest["kind_name"]) == ("cancellation", "取消补偿")
    assert (newest["amount_fen"], newest["commission_fen"], newest["net_fen"]) == (
        6000, 1200, 4800)
    assert oldest["order_id"] == two_orders["completed"]["id"]
    assert (oldest["kind"], oldest["kind_name"]) == ("completion", "服务完成")
    assert (oldest["amount_fen"], oldest["commission_fen"], oldest["net_fen"]) == (
        30000, 6000, 24000)
    for item in income["items"]:
        assert item["order_no"].startswith("C")
        assert (item["care_type"], item["care_type_name"]) == ("full_day", "全天陪护")
        assert (item["status"], item["status_name"]) == ("pending", "待结算")
        assert item["settled_at"] is None and item["created_at"].endswith("+08:00")
        due = datetime.fromisoformat(item["due_at"])
        created = datetime.fromisoformat(item["created_at"])
        assert timedelta(days=7) - timedelta(seconds=5) <= due - created <= timedelta(days=7)
    summary = income["summary"]
    assert (summary["pending_net_fen"], summary["settled_net_fen"]) == (28800, 0)
    months = summary["months"]
    assert len(months) == 12 and months[-1]["month"] == month_of(datetime.now(LOCAL_TZ))
    assert months == sorted(months, key=lambda month: month["month"])
    assert len({month["month"] for month in months}) == 12
    assert months[-1] == {"month": months[-1]["month"], "orders": 2, "net_fen": 28800,
                          "commission_fen": 7200, "settled_net_fen": 0}
    assert all(month["orders"] == month["net_fen"] == 0 for month in months[:-1])
    # paging
    page = ok(client.get(f"{INCOME}?page=2&page_size=1", headers=caregiver["headers"]))
    assert page["total"] == 2 and [item["id"] for item in page["items"]] == [oldest["id"]]


def test_month_and_status_filters(app, client, two_orders):
    caregiver = two_orders["caregiver"]
    [completion] = entry_ids(app, two_orders["completed"]["id"])
    set_row(app, EarningEntry, completion, created_at=last_month_noon())
    last, this = month_of(last_month_noon().replace(tzinfo=timezone.utc)), month_of(
        datetime.now(LOCAL_TZ))
    then = ok(client.get(f"{INCOME}?month={last}", headers=caregiver["headers"]))
    assert [item["id"] for item in then["items"]] == [completion] and then["total"] == 1
    now = ok(client.get(f"{INCOME}?month={this}", headers=caregiver["headers"]))
    assert [item["kind"] for item in now["items"]] == ["cancellation"]
    # the summary is over everything, whatever the filter; each entry in its own month
    months = {month["month"]: month for month in now["summary"]["months"]}
    assert (months[last]["orders"], months[last]["net_fen"]) == (1, 24000)
    assert (months[this]["orders"], months[this]["net_fen"]) == (1, 4800)
    assert ok(client.get(f"{INCOME}?month=2000-01", headers=caregiver["headers"]))["total"] == 0

    with app.app_context():
        from app.earnings.services import settle_due_entries
        assert settle_due_entries(utcnow() + timedelta(days=8))["entries"] == 2
        db.session.remove()
    settled = ok(client.get(f"{INCOME}?status=settled", headers=caregiver["headers"]))
    assert settled["total"] == 2
    assert all(item["status"] == "settled" and item["settled_at"] for item in settled["items"])
    assert ok(client.get(f"{INCOME}?status=pending", headers=caregiver["headers"]))["total"] == 0
    summary = settled["summary"]
    assert (summary["pending_net_fen"], summary["settled_net_fen"]) == (0, 28800)
    months = {month["month"]: month for month in summary["months"]}
    assert months[last]["settled_net_fen"] == 24000 and months[this]["settled_net_fen"] == 4800


@pytest.mark.parametrize("query", ["month=2026-13", "month=2026-1", "month=202611",
                                   "month=abcd-ef", "month=", "status=paid", "page=0",
                                   "page_size=1000"])
def test_bad_queries_are_422(app, client, care_world, query):
    caregiver = care_world["caregiver"]()
    response = client.get(f"{INCOME}?{query}", headers=caregiver["headers"])
    assert response.status_code == 422, (query, response.get_json())
    assert response.get_json()["error"]["code"] == "validation_error"


def test_nobody_else_sees_my_income(app, client, care_world, two_orders):
    other = care_world["caregiver"]()
    theirs = ok(client.get(INCOME, headers=other["headers"]))
    assert theirs["items"] == [] and theirs["total"] == 0
    assert (theirs["summary"]["pending_net_fen"], theirs["summary"]["settled_net_fen"]) == (0, 0)
    assert all(month["net_fen"] == 0 for month in theirs["summary"]["months"])
    # a user who is not a caregiver, and no one at all
    response = client.get(INCOME, headers=two_orders["family"]["headers"])
    assert (response.status_code, response.get_json()["error"]["code"]) == (
        404, "caregiver_not_found")
    assert client.get(INCOME).status_code == 401
