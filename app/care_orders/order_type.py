"""Care orders as a payable order type (see app/payments/protocol.py).

Payments calls `lock_order` before it locks the payment row, so every hook below finds the
caregiver and the order locked in the house order (caregiver → order → payment;
docs/locking.md).
"""
from app.care_orders.core import (ORDER_TYPE, CareOrderNotFound, acceptance_deadline,
                                  close_unpaid, fen_to_yuan, lock_order, message_context,
                                  open_assignment, order_summary, record_event)
from app.care_orders.models import CareOrder
from app.caregivers.models import CARE_TYPES, Caregiver
from app.common.time import utcnow
from app.extensions import db, jobs
from app.notifications.services import notify
from app.payments.protocol import OrderNotPayable, PaymentTerms, register_order_type
from app.points import services as points_services


class CareOrderType:
    order_type = ORDER_TYPE
    refunds_through_order = True  # staff refund through cancel or a dispute's resolution

    def payment_terms(self, actor, order_id):
        order = lock_order(order_id)
        if order is None or order.user_id != actor.id:
            raise CareOrderNotFound()
        if order.status != "pending_payment":
            raise OrderNotPayable()
        # pay before the service starts, if that comes before the payment TTL
        return PaymentTerms(amount_fen=order.total_fen, user_id=order.user_id,
                            description=f"陪护服务-{CARE_TYPES[order.care_type][0]}-"
                                        f"{order.order_no}"[:40],
                            pay_before=order.start_at)

    def lock_order(self, order_id):
        lock_order(order_id)

    def on_paid(self, order_id, payment):
        from app.tasks.care_orders import dispatch_order

        order = db.session.get(CareOrder, order_id)
        if order.status != "pending_payment":
            return False  # closed or cancelled meanwhile: payments refunds it in full
        now = utcnow()
        if order.caregiver_id is None:  # platform dispatch: the dispatch job picks someone
            order.mark_paid(now, now)
            record_event(order, "paid", "family")
            jobs.enqueue_after_commit(db.session, dispatch_order, order.id,
                                      job_id=f"care-dispatch-{order.id}-0")
            notify(order.user_id, "care_order_paid", "支付成功",
                   f"{order_summary(order)}已支付 {fen_to_yuan(order.total_fen)} 元,"
                   "平台正在为您匹配护工。", "care_order", order.id,
                   context=message_context(order, "已支付"))
            return True
        # the family's chosen caregiver: their time is held since the booking
        order.mark_paid(now, acceptance_deadline(order, now))
        order.dispatch_count = 1
        record_event(order, "paid", "family")
        notify(order.user_id, "care_order_paid", "支付成功",
               f"{order_summary(order)}已支付 {fen_to_yuan(order.total_fen)} 元,等待护工接单。",
               "care_order", order.id, context=message_context(order, "已支付"))
        open_assignment(order, db.session.get(Caregiver, order.caregiver_id), by="family",
                        quote_fen=order.total_fen, now=now)
        return True

    def on_closed(self, order_id, payment):
        """Unpaid at the payment's deadline (a cancel has already moved the order)."""
        order = db.session.get(CareOrder, order_id)
        if order.status == "pending_payment":
            close_unpaid(order)
        points_services.reverse_spend(ORDER_TYPE, order_id)  # never paid: its points come back

    def on_refunded(self, order_id, payment, refund):
        order = db.session.get(CareOrder, order_id)
        notify(order.user_id, "refund_succeeded", "退款成功",
               f"{order_summary(order)}的 {fen_to_yuan(refund.amount_fen)} 元已原路退回。",
               "refund", refund.id,
               context={**message_context(order, "退款成功"), "amount_fen": refund.amount_fen})
        if payment.status == "refunded":
            # refunded in full (a partial refund leaves points alone: app/points/services.py)
            points_services.reverse_order(ORDER_TYPE, order_id)


register_order_type(CareOrderType())
