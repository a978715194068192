"""The caregiver's income (the ledger, read by its caregiver) and the weekly settlement.

Settlement marks due entries settled, one SettlementBatch per caregiver per ISO week. Paying
the batch out to the caregiver's WeChat (企业付款到零钱) is not part of this: a settled entry is
money the platform owes the caregiver as of the batch; the payout is a later piece of work
that reads the batches.

Lock order (docs/locking.md): caregiver → (their entries). A dispute opens and resolves under
caregiver → order, so holding the caregiver while settling means an order cannot become
disputed between the check and the settling, and a dispute cannot open on a completed order
whose entry is being settled.
"""
import logging
from datetime import datetime, timezone

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from app.care_orders.core import fen_to_yuan
from app.care_orders.models import CareOrder
from app.caregivers.models import CARE_TYPES, Caregiver
from app.caregivers.ownership import own_caregiver
from app.common.deadlock import retry_deadlock
from app.common.pagination import paginate
from app.common.time import LOCAL_TZ, utcnow
from app.earnings.models import ENTRY_KINDS, ENTRY_STATUSES, EarningEntry, SettlementBatch
from app.extensions import db
from app.notifications.services import notify

log = logging.getLogger("app.earnings")
SUMMARY_MONTHS = 12


# ---- reading -----------------------------------------------------------------------------------

def _aware(value: datetime | None) -> datetime | None:
    """A stored naive-UTC time as local time, in whole seconds (as care orders answer: MariaDB
    keeps none, and the answer should not depend on the backend)."""
    return value.replace(tzinfo=timezone.utc, microsecond=0).astimezone(LOCAL_TZ) \
        if value else None


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _month_start(year: int, month: int) -> datetime:
    """Local midnight of the month's first day (aware)."""
    while month < 1:
        year, month = year - 1, month + 12
    while month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=LOCAL_TZ)


def _month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of a local month "YYYY-MM", naive UTC."""
    year, number = int(month[:4]), int(month[5:7])
    return (_naive_utc(_month_start(year, number)), _naive_utc(_month_start(year, number + 1)))


def entry_view(entry: EarningEntry, order: CareOrder) -> dict:
    return {"id": entry.id, "order_id": entry.order_id, "order_no": order.order_no,
            "care_type": order.care_type, "care_type_name": CARE_TYPES[order.care_type][0],
            "kind": entry.kind, "kind_name": ENTRY_KINDS.get(entry.kind, entry.kind),
            "amount_fen": entry.amount_fen, "commission_fen": entry.commission_fen,
            "net_fen": entry.net_fen, "status": entry.status,
            "status_name": ENTRY_STATUSES[entry.status], "due_at": _aware(entry.due_at),
            "settled_at": _aware(entry.settled_at), "created_at": _aware(entry.created_at)}


def _summary(caregiver_id: int, now: datetime) -> dict:
    """What is pending and settled in all, and the last 12 local months (oldest first, the
    current month last; a month with nothing is there with zeros). An entry counts in the
    month it was written."""
    pending, settled = db.session.execute(select(*(
        func.coalesce(func.sum(case((EarningEntry.status == status, EarningEntry.net_fen),
                                    else_=0)), 0) for status in ("pending", "settled")))
        .where(EarningEntry.caregiver_id == caregiver_id)).one()
    local_now = now.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ)
    first = _month_start(local_now.year, local_now.month - (SUMMARY_MONTHS - 1))
    months = {}
    for offset in range(SUMMARY_MONTHS):
        start = _month_start(first.year, first.month + offset)
        months[start.strftime("%Y-%m")] = {"month": start.strftime("%Y-%m"), "orders": set(),
                                           "net_fen": 0, "commission_fen": 0,
                                           "settled_net_fen": 0}
    # a caregiver writes a few entries a week: a year of them is summed here rather than in
    # SQL, where grouping by a local month differs per database
    rows = db.session.execute(select(
        EarningEntry.created_at, EarningEntry.order_id, EarningEntry.net_fen,
        EarningEntry.commission_fen, EarningEntry.status).where(
        EarningEntry.caregiver_id == caregiver_id,
        EarningEntry.created_at >= _naive_utc(first)))
    for created_at, order_id, net, commission, status in rows:
        bucket = months.get(_aware(created_at).strftime("%Y-%m"))
        if bucket is None:
            continue
        bucket["orders"].add(order_id)
        bucket["net_fen"] += net
        bucket["commission_fen"] += commission
        if status == "settled":
            bucket["settled_net_fen"] += net
    return {"pending_net_fen": int(pending), "settled_net_fen": int(settled),
            "months": [{**bucket, "orders": len(bucket["orders"])} for bucket in months.values()]}


def income(actor, *, month: str | None = None, status: str | None = None, page: int = 1,
           page_size: int = 20, now: datetime | None = None) -> dict:
    """The caller's ledger, newest first (optionally one local month, one status), and the
    summary (always over everything, whatever the filter)."""
    caregiver = own_caregiver(actor)
    statement = select(EarningEntry).where(EarningEntry.caregiver_id == caregiver.id)
    if month:
        start, end = _month_bounds(month)
        statement = statement.where(EarningEntry.created_at >= start,
                                    EarningEntry.created_at < end)
    if status:
        statement = statement.where(EarningEntry.status == status)
    result = paginate(statement.order_by(EarningEntry.created_at.desc(),
                                         EarningEntry.id.desc()), page, page_size)
    order_ids = {entry.order_id for entry in result["items"]}
    orders = {order.id: order for order in db.session.scalars(
        select(CareOrder).where(CareOrder.id.in_(order_ids)))} if order_ids else {}
    result["items"] = [entry_view(entry, orders[entry.order_id]) for entry in result["items"]]
    result["summary"] = _summary(caregiver.id, now or utcnow())
    return result


# ---- settlement --------------------------------------------------------------------------------

def period_key(now: datetime) -> str:
    """The local ISO week of `now` (naive UTC), e.g. 2026-W48."""
    year, week, _ = now.replace(tzinfo=timezone.utc).astimezone(LOCAL_TZ).isocalendar()
    return f"{year}-W{week:02d}"


def _due(now: datetime):
    """Pending entries due by `now` of orders not in dispute (a disputed order's money may
    still go back to the family)."""
    return (select(EarningEntry).join(CareOrder, CareOrder.id == EarningEntry.order_id)
            .where(EarningEntry.status == "pending", EarningEntry.due_at <= now,
                   CareOrder.status != "disputed"))


def caregivers_due(now: datetime) -> list[int]:
    """Who has something to settle (read without locks; each is checked again locked)."""
    ids = db.session.scalars(_due(now).with_only_columns(EarningEntry.caregiver_id)
                             .distinct().order_by(EarningEntry.caregiver_id)).all()
    db.session.rollback()
    return list(ids)


@retry_deadlock
def settle_caregiver(caregiver_id: int, now: datetime) -> SettlementBatch | None:
    """One caregiver's batch for the week of `now`: their due entries, settled with it, one
    commit. None when the week's batch exists already (the job ran this week: entries that
    fell due since wait for next week's) or nothing is due."""
    key = period_key(now)
    caregiver = db.session.get(Caregiver, caregiver_id, with_for_update=True,
                               populate_existing=True)
    exists = db.session.scalar(select(SettlementBatch.id).where(
        SettlementBatch.caregiver_id == caregiver_id, SettlementBatch.period_key == key))
    if caregiver is None or exists is not None:
        db.session.rollback()
        return None
    entries = db.session.scalars(_due(now).where(EarningEntry.caregiver_id == caregiver_id)
                                 .order_by(EarningEntry.id).with_for_update()
                                 .execution_options(populate_existing=True)).all()
    if not entries:
        db.session.rollback()
        return None
    settled_at = utcnow()
    batch = SettlementBatch(caregiver_id=caregiver_id, period_key=key, entries=len(entries),
                            net_fen=sum(entry.net_fen for entry in entries),
                            settled_at=settled_at)
    db.session.add(batch)
    try:
        db.session.flush()
    except IntegrityError:  # another run wrote the week's batch first (the index's word)
        db.session.rollback()
        return None
    for entry in entries:
        entry.settle(batch.id, settled_at)
    notify(caregiver.user_id, "earnings_settled", "收入已结算",
           f"本周结算 {len(entries)} 笔收入,合计 {fen_to_yuan(batch.net_fen)} 元。",
           "settlement_batch", batch.id,
           context={"subject": f"陪护收入 {len(entries)} 笔", "status": "已结算",
                    "amount_fen": batch.net_fen, "time": settled_at})
    db.session.commit()
    return batch


def settle_due_entries(now: datetime | None = None) -> dict:
    """The weekly job: every caregiver with due entries gets the week's batch. Idempotent: a
    second run in the same week settles nothing. One caregiver failing does not stop the
    others (the next run picks them up)."""
    now = now or utcnow()
    counts = {"batches": 0, "entries": 0, "net_fen": 0}
    for caregiver_id in caregivers_due(now):
        try:
            batch = settle_caregiver(caregiver_id, now)
        except Exception:
            db.session.rollback()
            log.exception("settling caregiver %s failed", caregiver_id)
            continue
        if batch is not None:
            counts["batches"] += 1
            counts["entries"] += batch.entries
            counts["net_fen"] += batch.net_fen
    log.info("settlement %s: %s", period_key(now), counts)
    return counts
