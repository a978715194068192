"""Registrations as a payable order type (see app/payments/protocol.py)."""
from datetime import timezone

from app.booking.models import Registration
from app.booking.services import ORDER_TYPE, RegistrationNotFound, release_slot
from app.booking.slots import issue_visit_number
from app.common.time import utcnow
from app.extensions import db, jobs
from app.hospitals import rules
from app.hospitals.models import PERIODS
from app.notifications.services import notify
from app.payments.protocol import OrderNotPayable, PaymentTerms, register_order_type


class RegistrationOrderType:
    order_type = ORDER_TYPE

    def payment_terms(self, actor, order_id):
        registration = db.session.get(Registration, order_id)
        if registration is None or registration.user_id != actor.id:
            raise RegistrationNotFound()
        if registration.status != "pending_payment":
            raise OrderNotPayable()
        hospital = registration.hospital
        # pay before booking for that day stops, if that comes before the payment TTL
        stop = rules.stop_at(hospital, registration.visit_date)
        pay_before = stop.astimezone(timezone.utc).replace(tzinfo=None)
        return PaymentTerms(
            amount_fen=registration.fee_fen, user_id=registration.user_id,
            description=f"挂号费-{hospital.name}-{registration.department.name}"[:40],
            pay_before=pay_before)

    def on_paid(self, order_id, payment):
        registration = db.session.get(Registration, order_id, with_for_update=True)
        registration.mark_booked(issue_visit_number(registration.schedule_id), utcnow())
        if registration.schedule.status == "stopped":
            # paid while the clinic was being stopped: treat it as stopped at once
            registration.stop(utcnow())
            jobs.enqueue_after_commit(db.session, "app.tasks.booking.refund_registration",
                                      registration.id, "医生停诊")
            return
        notify(registration.user_id, "registration_booked", "预约成功",
               f"{registration.patient_name}已预约{registration.hospital.name}"
               f"{registration.department.name}{registration.doctor.name}医生,"
               f"{registration.visit_date.isoformat()}{PERIODS.get(registration.period, '')}"
               f",就诊序号 {registration.visit_number}。", "registration", registration.id)

    def on_closed(self, order_id, payment):
        registration = db.session.get(Registration, order_id, with_for_update=True)
        if registration.status == "pending_payment":
            registration.close(utcnow())
            release_slot(registration)

    def on_refunded(self, order_id, payment, refund):
        registration = db.session.get(Registration, order_id, with_for_update=True)
        if payment.status == "refunded" and registration.status in ("cancelled", "stopped"):
            registration.mark_refunded(utcnow())


register_order_type(RegistrationOrderType())
