"""Registrations as a payable order type (see app/payments/protocol.py).

Payments calls `lock_order` before it locks the payment row, so every hook below finds the
schedule and the registration locked in the house order (schedule → registration → payment;
docs/locking.md).
"""
from datetime import timezone

from app.booking.models import Registration
from app.booking.services import (ORDER_TYPE, RegistrationNotFound, close_unpaid,
                                  fen_to_yuan, lock_registration, message_context,
                                  order_summary)
from app.booking.slots import issue_visit_number
from app.common.time import utcnow
from app.extensions import db
from app.hospital_webhooks.events import registration_event as hospital_webhook
from app.hospitals import rules
from app.notifications.services import notify
from app.payments.protocol import OrderNotPayable, PaymentTerms, register_order_type
from app.points import services as points_services
from app.waitlist.services import hold_deadline, hold_paid


class RegistrationOrderType:
    order_type = ORDER_TYPE

    def payment_terms(self, actor, order_id):
        # the order row is locked while pay parameters are issued: a cancel or the TTL close
        # waits for this prepay's commit, or this prepay sees the order closed
        registration = db.session.get(Registration, order_id, with_for_update=True,
                                      populate_existing=True)
        if registration is None or registration.user_id != actor.id:
            raise RegistrationNotFound()
        if registration.status != "pending_payment":
            raise OrderNotPayable()
        hospital = registration.hospital
        # pay before booking for that day stops, if that comes before the payment TTL
        stop = rules.stop_at(hospital, registration.visit_date)
        pay_before = stop.astimezone(timezone.utc).replace(tzinfo=None)
        held = hold_deadline(registration.id)  # a waitlist hold: its own, shorter window
        if held is not None and held < pay_before:
            pay_before = held
        return PaymentTerms(
            amount_fen=registration.fee_fen - registration.points_discount_fen,
            user_id=registration.user_id,
            description=f"挂号费-{hospital.name}-{registration.department.name}"[:40],
            pay_before=pay_before)

    def lock_order(self, order_id):
        lock_registration(order_id)

    def on_paid(self, order_id, payment):
        registration = db.session.get(Registration, order_id)
        if registration.status != "pending_payment" or registration.schedule.status != "open":
            return False  # closed, cancelled or stopped meanwhile: payments refunds it in full
        registration.mark_booked(issue_visit_number(registration.schedule_id), utcnow())
        hold_paid(registration)  # a waitlist hold: its entry is booked
        hospital_webhook(registration, "booked")  # sent after the commit, never inline
        notify(registration.user_id, "registration_booked", "预约成功",
               f"{order_summary(registration)}已预约成功,就诊序号 {registration.visit_number}。",
               "registration", registration.id, context=message_context(registration, "预约成功"))
        return True

    def on_closed(self, order_id, payment):
        """Unpaid at the payment's deadline (a cancel or 停诊 has already moved the order)."""
        registration = db.session.get(Registration, order_id)
        if registration.status == "pending_payment":
            close_unpaid(registration)
        points_services.reverse_spend(ORDER_TYPE, order_id)  # never paid: its points come back

    def on_refunded(self, order_id, payment, refund):
        registration = db.session.get(Registration, order_id)
        notify(registration.user_id, "refund_succeeded", "退款成功",
               f"{order_summary(registration)}的挂号费 {fen_to_yuan(refund.amount_fen)} 元"
               "已原路退回。",
               "refund", refund.id,
               context={**message_context(registration, "退款成功"), "time": refund.succeeded_at,
                        "amount_fen": refund.amount_fen})
        # money that arrived after the order closed never booked it: the order stays as it was
        if registration.paid_at is not None and payment.status == "refunded" \
                and registration.status in ("cancelled", "stopped"):
            registration.mark_refunded(utcnow())
            hospital_webhook(registration, "refunded")
        if payment.status == "refunded":
            # refunded in full (a partial refund leaves points alone: app/points/services.py)
            points_services.reverse_order(ORDER_TYPE, order_id)


register_order_type(RegistrationOrderType())
