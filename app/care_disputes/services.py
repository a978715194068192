"""Disputes on care orders: either side opens one while the money is still the platform's to
move (a paid order, or a completed one whose earnings are not settled and whose dispute window,
settlement_hold_days, is open); staff resolve it with a full, partial or no refund.

While disputed, nothing moves the order: the offer timeout, dispatch and auto-completion jobs
act only on their own statuses, and the weekly settlement skips the order's entries.

Money on resolution (one transaction; locks caregiver → order → dispute → payment → refund):
    kept   = total − refunded so far
    refund = kept (full), the amount staff chose (partial, 1..kept−1) or 0 (none)
and the ledger is brought to what the order keeps: Σ(amount) of its entries becomes
total − refunded, by one more entry (kind "dispute"; negative when money went back after the
completion was booked). So paid = refunded + Σ net + Σ commission holds for the order.
"""
import logging
from datetime import timedelta, timezone

from sqlalchemy import case, func, select

from app.availability.services import add_busy_block
from app.care_disputes.models import DISPUTE_STATUSES, OPENED_BY, OUTCOMES, CareDispute
from app.care_orders import pricing
from app.care_orders.core import (BUSY_REF, CareOrderNotFound, current_assignment, fen_to_yuan,
                                  lock_order, message_context, order_summary, record_event,
                                  refund_part, release_time)
from app.care_orders.models import DISPUTABLE_STATUSES, STATUS_NAMES, CareOrder, CareOrderEvent
from app.caregivers.models import CARE_TYPES, Caregiver
from app.caregivers.ownership import own_caregiver
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_name, mask_phone
from app.common.pagination import paginate
from app.common.time import LOCAL_TZ, utcnow
from app.earnings.ledger import record_earning
from app.earnings.models import EarningEntry
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.files.models import StoredFile
from app.notifications.services import notify, notify_staff
from app.users.models import User

log = logging.getLogger("app.care_disputes")
EVIDENCE_MAX = 9


class DisputeNotFound(NotFound):
    code = "dispute_not_found"
    message = "纠纷不存在"


class EvidenceNotFound(NotFound):
    code = "file_not_found"
    message = "证据文件不存在"


class DisputeExists(Conflict):
    code = "dispute_exists"
    message = "该订单已申请过纠纷处理(每个订单限一次)"


class DisputeNotAllowed(Conflict):
    code = "dispute_not_allowed"
    message = "当前订单状态不能申请纠纷处理"


class DisputeWindowClosed(Conflict):
    code = "dispute_window_closed"
    message = "订单完成已超过纠纷申请期限(或收入已结算),不能再申请纠纷处理"


class DisputeResolved(Conflict):
    code = "dispute_already_resolved"
    message = "该纠纷已处理"


class OutcomeNotAllowed(Conflict):
    code = "outcome_not_allowed"
    message = "订单尚无护工,只能全额退款"


class RefundUnavailable(Conflict):
    code = "refund_unavailable"
    message = "该订单的支付当前无法退款,请核对支付记录后再处理"


def _aware(value):
    """A stored naive-UTC time as local time, in whole seconds (as care orders answer: MariaDB
    keeps none, and the answer should not depend on the backend)."""
    return value.replace(tzinfo=timezone.utc, microsecond=0).astimezone(LOCAL_TZ) \
        if value else None


# ---- opening -----------------------------------------------------------------------------------

def _own_evidence(actor, file_ids) -> list[int]:
    """The caller's own files, each once, in the order given; anyone else's is a 404."""
    file_ids = list(dict.fromkeys(file_ids or []))
    if len(file_ids) > EVIDENCE_MAX:
        raise ValidationFailed.for_field("evidence_file_ids", f"最多 {EVIDENCE_MAX} 个证据文件",
                                         "too_many_files")
    if file_ids:
        owned = set(db.session.scalars(select(StoredFile.id).where(
            StoredFile.id.in_(file_ids), StoredFile.owner_user_id == actor.id)))
        if owned != set(file_ids):
            raise EvidenceNotFound()
    return file_ids


def _check_disputable(order: CareOrder, now) -> None:
    if db.session.scalar(select(CareDispute.id).where(CareDispute.order_id == order.id)):
        raise DisputeExists()
    if order.status not in DISPUTABLE_STATUSES:
        raise DisputeNotAllowed(details={"status": order.status})
    if order.status == "completed":
        hold = timedelta(days=int(pricing.care_policy()["settlement_hold_days"]))
        settled = db.session.scalar(select(EarningEntry.id).where(
            EarningEntry.order_id == order.id, EarningEntry.status == "settled").limit(1))
        if settled is not None or order.completed_at + hold <= now:
            raise DisputeWindowClosed()


@retry_deadlock
def open_dispute(actor, *, order_id: int, side: str, text: str, evidence_file_ids=()) -> dict:
    """The family of the order (side "family") or its current caregiver ("caregiver") opens
    the order's one dispute: the order is frozen (disputed) until staff resolve it, and the
    other side is told."""
    evidence = _own_evidence(actor, evidence_file_ids)
    if side == "family":
        order = lock_order(order_id)
        if order is None or order.user_id != actor.id:
            db.session.rollback()
            raise CareOrderNotFound()
    else:
        caregiver = own_caregiver(actor, lock=True)
        order = db.session.get(CareOrder, order_id, with_for_update=True, populate_existing=True)
        if order is None or order.caregiver_id != caregiver.id:
            db.session.rollback()
            raise CareOrderNotFound()
    now = utcnow()
    try:
        _check_disputable(order, now)
        if side == "caregiver" and order.status == "awaiting_acceptance":
            # an offer not taken is declined, not disputed
            raise DisputeNotAllowed("接单后才能申请纠纷处理;不接此单请拒单",
                                    details={"status": order.status})
    except Conflict:
        db.session.rollback()
        raise
    order.open_dispute(now)
    dispute = CareDispute(order_id=order.id, opened_by=side, opened_by_user_id=actor.id,
                          text=text, evidence_file_ids=evidence, status="open")
    db.session.add(dispute)
    db.session.flush()
    # the text may hold medical detail: it stays in the encrypted dispute, not the timeline
    record_event(order, "disputed", side, "用户申请纠纷处理" if side == "family"
                 else "护工申请纠纷处理")
    summary = order_summary(order)
    body = f"{summary}已进入纠纷处理,平台将核实后处理,期间订单暂停。"
    context = message_context(order, DISPUTE_STATUSES["open"])
    if side == "family":
        if order.caregiver_id is not None:
            caregiver_user = db.session.scalar(select(Caregiver.user_id).where(
                Caregiver.id == order.caregiver_id))
            notify(caregiver_user, "care_dispute_opened", "用户申请了纠纷处理", body,
                   "care_dispute", dispute.id, context=context)
    else:
        notify(order.user_id, "care_dispute_opened", "护工申请了纠纷处理", body,
               "care_dispute", dispute.id, context=context)
    # the operators' to-do: the order number is what they look it up by in the console
    notify_staff("care_dispute_opened_staff", f"{OPENED_BY[side]}申请了陪护纠纷,请处理",
                 "care_dispute", dispute.id, roles=("operator",),
                 context={"subject": order.order_no, "order_no": order.order_no})
    view = dispute_view(dispute, order)
    db.session.commit()
    log.info("care order %s disputed by the %s (dispute %s)", order.id, side, dispute.id)
    return view


def dispute_view(dispute: CareDispute, order: CareOrder) -> dict:
    """What the side that opened it sees (its own text and files)."""
    return {"id": dispute.id, "order_id": order.id, "order_no": order.order_no,
            "opened_by": dispute.opened_by, "opened_by_name": OPENED_BY[dispute.opened_by],
            "status": dispute.status, "status_name": DISPUTE_STATUSES[dispute.status],
            "text": dispute.text, "evidence_file_ids": list(dispute.evidence_file_ids or []),
            "outcome": dispute.outcome,
            "outcome_name": OUTCOMES.get(dispute.outcome) if dispute.outcome else None,
            "refund_fen": dispute.refund_fen, "note": dispute.note,
            "created_at": _aware(dispute.created_at), "resolved_at": _aware(dispute.resolved_at)}


# ---- staff: reading ----------------------------------------------------------------------------

def _row_view(dispute: CareDispute, order: CareOrder) -> dict:
    return {"id": dispute.id, "order_id": order.id, "order_no": order.order_no,
            "order_status": order.status, "order_status_name": STATUS_NAMES[order.status],
            "status_before_dispute": order.status_before_dispute,
            "care_type": order.care_type, "care_type_name": CARE_TYPES[order.care_type][0],
            "total_fen": order.total_fen, "refunded_fen": order.refunded_fen,
            "opened_by": dispute.opened_by, "opened_by_name": OPENED_BY[dispute.opened_by],
            "status": dispute.status, "status_name": DISPUTE_STATUSES[dispute.status],
            "outcome": dispute.outcome,
            "outcome_name": OUTCOMES.get(dispute.outcome) if dispute.outcome else None,
            "refund_fen": dispute.refund_fen, "created_at": _aware(dispute.created_at),
            "resolved_at": _aware(dispute.resolved_at)}


def staff_list_disputes(actor, *, status: str | None = None, page: int = 1,
                        page_size: int = 20) -> dict:
    """Open ones oldest first (the work queue); otherwise newest first."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    statement = select(CareDispute)
    if status:
        statement = statement.where(CareDispute.status == status)
    statement = statement.order_by(CareDispute.id if status == "open" else CareDispute.id.desc())
    result = paginate(statement, page, page_size)
    order_ids = {dispute.order_id for dispute in result["items"]}
    orders = {order.id: order for order in db.session.scalars(
        select(CareOrder).where(CareOrder.id.in_(order_ids)))} if order_ids else {}
    result["items"] = [_row_view(dispute, orders[dispute.order_id])
                       for dispute in result["items"]]
    return result


def _party(user: User | None, name: str | None, phone: str | None) -> dict:
    return {"user_id": user.id if user else None, "name": mask_name(name),
            "phone": mask_phone(phone)}


def _evidence_url(dispute_id: int, file_id: int) -> str:
    return f"/api/v1/staff/care-disputes/{dispute_id}/evidence/{file_id}"


def staff_dispute(actor, *, dispute_id: int) -> dict:
    """Everything staff need to decide: the order and its money, both sides (masked), the
    text, the evidence (downloaded through the dispute) and the order's timeline."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    dispute = db.session.get(CareDispute, dispute_id)
    if dispute is None:
        raise DisputeNotFound()
    order = db.session.get(CareOrder, dispute.order_id)
    family = db.session.get(User, order.user_id)
    caregiver = db.session.get(Caregiver, order.caregiver_id) if order.caregiver_id else None
    events = db.session.scalars(select(CareOrderEvent).where(
        CareOrderEvent.order_id == order.id).order_by(CareOrderEvent.seq))
    return {
        **_row_view(dispute, order),
        "text": dispute.text,
        "evidence": [{"file_id": file_id, "url": _evidence_url(dispute.id, file_id)}
                     for file_id in dispute.evidence_file_ids or []],
        "note": dispute.note, "resolved_by_staff_id": dispute.resolved_by_staff_id,
        "kept_fen": order.total_fen - order.refunded_fen,
        "order": {"start": _aware(order.start_at), "end": _aware(order.end_at),
                  "patient_name": mask_name(order.patient_name),
                  "paid_at": _aware(order.paid_at), "accepted_at": _aware(order.accepted_at),
                  "started_at": _aware(order.started_at), "ended_at": _aware(order.ended_at),
                  "completed_at": _aware(order.completed_at),
                  "disputed_at": _aware(order.disputed_at),
                  "resolved_at": _aware(order.resolved_at)},
        "family": _party(family, family.real_name_encrypted if family else None,
                         family.phone if family else None),
        "caregiver": ({**_party(db.session.get(User, caregiver.user_id), caregiver.name,
                                caregiver.phone), "caregiver_id": caregiver.id}
                      if caregiver else None),
        "timeline": [{"at": _aware(event.at), "kind": event.kind, "status": event.status,
                      "status_name": STATUS_NAMES[event.status], "actor": event.actor,
                      "note": event.note} for event in events],
    }


def staff_evidence(actor, *, dispute_id: int, file_id: int):
    """One evidence file of a dispute and its bytes (operators read evidence through the
    dispute; /files/{id} is for owners and reviewers)."""
    from app.files.storage import storage
    from app.staff.services import require_role

    require_role(actor, "operator")
    dispute = db.session.get(CareDispute, dispute_id)
    if dispute is None:
        raise DisputeNotFound()
    if file_id not in (dispute.evidence_file_ids or []):
        raise EvidenceNotFound()
    record = db.session.get(StoredFile, file_id)
    if record is None:
        raise EvidenceNotFound()
    return record, storage().read(record.storage_key)


# ---- staff: resolving --------------------------------------------------------------------------

def _end_hold(order: CareOrder, previous: str, now) -> None:
    """The caregiver's time: given back when the service had not ended (an offer still open is
    withdrawn); a service under way keeps what was worked, as an early end does."""
    if previous == "awaiting_acceptance":
        assignment = current_assignment(order)
        if assignment is not None:
            assignment.decide("withdrawn", now, "纠纷处理")
        release_time(order)
    elif previous == "accepted":
        release_time(order)
    elif previous == "in_service" and now < order.end_at:
        release_time(order)
        if now > order.start_at and order.caregiver_id is not None:
            add_busy_block(order.caregiver_id, order.start_at.replace(tzinfo=timezone.utc),
                           now.replace(tzinfo=timezone.utc), ref_type=BUSY_REF, ref_id=order.id)


def _book_the_rest(order: CareOrder, now) -> EarningEntry | None:
    """Bring the order's ledger to what it keeps (see the module). The entry falls due with the
    order's pending ones (so a correction settles in the same batch as what it corrects), or at
    once: the one dispute is over, there is no window left to wait for."""
    booked, due = db.session.execute(select(
        func.coalesce(func.sum(EarningEntry.amount_fen), 0),
        func.max(case((EarningEntry.status == "pending", EarningEntry.due_at)))).where(
        EarningEntry.order_id == order.id)).one()
    entry = record_earning(order, order.total_fen - order.refunded_fen - int(booked), "dispute")
    if entry is not None:
        entry.due_at = due or now
    return entry


@retry_deadlock
def resolve(actor, *, order_id: int, outcome: str, note: str,
            refund_fen: int | None = None) -> dict:
    """Staff decide a disputed order: the refund is reserved (WeChat is asked after the
    commit), the caregiver's ledger follows, the order is resolved, both sides are told."""
    from app.staff.services import require_role

    require_role(actor, "operator")
    order = lock_order(order_id)
    if order is None:
        db.session.rollback()
        raise CareOrderNotFound()
    dispute = db.session.scalar(select(CareDispute).where(CareDispute.order_id == order.id)
                                .with_for_update().execution_options(populate_existing=True))
    if dispute is None:
        db.session.rollback()
        raise DisputeNotFound()
    if dispute.status != "open":
        db.session.rollback()
        raise DisputeResolved()
    kept = order.total_fen - order.refunded_fen
    if outcome == "partial_refund":
        if refund_fen is None or not 1 <= refund_fen <= kept - 1:
            db.session.rollback()
            message = (f"部分退款金额应在 0.01 至 {fen_to_yuan(kept - 1)} 元之间" if kept > 1
                       else "订单剩余金额不足以部分退款,请选择全额退款或不退款")
            raise ValidationFailed.for_field("refund_fen", message, "invalid_refund_amount")
        refund = refund_fen
    else:
        refund = kept if outcome == "full_refund" else 0
    if order.caregiver_id is None and refund != kept:
        db.session.rollback()
        raise OutcomeNotAllowed()
    now = utcnow()
    previous = order.status_before_dispute
    if refund_part(order, refund, f"纠纷处理:{OUTCOMES[outcome]}",
                   requested_by=f"staff:{actor.id}") is None and refund:
        db.session.rollback()
        log.error("care order %s: refund of %s for dispute %s not reservable", order_id,
                  refund, dispute.id)
        raise RefundUnavailable()
    _book_the_rest(order, now)
    _end_hold(order, previous, now)
    if previous == "completed" and refund == kept and order.caregiver_id is not None:
        # everything went back: the order no longer counts among the caregiver's completed
        # ones (search sorts and the detail page show that count); the row is locked
        caregiver = db.session.get(Caregiver, order.caregiver_id)
        caregiver.completed_orders = max(0, (caregiver.completed_orders or 0) - 1)
    order.resolve(now)
    dispute.resolve(outcome, refund, note, actor.id, now)
    record_event(order, "dispute_resolved", "staff", OUTCOMES[outcome])
    summary = order_summary(order)
    money = f",将退款 {fen_to_yuan(refund)} 元" if refund else ""
    notify(order.user_id, "care_dispute_resolved", "纠纷已处理",
           f"{summary}的纠纷已处理:{OUTCOMES[outcome]}{money}。处理说明:{note}",
           "care_dispute", dispute.id, context=message_context(order, OUTCOMES[outcome]))
    if order.caregiver_id is not None:
        caregiver_user = db.session.scalar(select(Caregiver.user_id).where(
            Caregiver.id == order.caregiver_id))
        notify(caregiver_user, "care_dispute_resolved", "纠纷已处理",
               f"{summary}的纠纷已处理:{OUTCOMES[outcome]}。处理说明:{note}",
               "care_dispute", dispute.id, context=message_context(order, OUTCOMES[outcome]))
    db.session.commit()
    log.info("care order %s dispute %s resolved by staff %s: %s, refund %s", order.id,
             dispute.id, actor.id, outcome, refund)
    return staff_dispute(actor, dispute_id=dispute.id)
