"""Webhook jobs to hospitals (the "push" queue): ids in, idempotent (a delivery is claimed with
a lease before it is sent; one already succeeded is never sent again)."""
from app.common.jobs import job
from app.hospital_webhooks import delivery


@job
def deliver_hospital_webhook(delivery_id: str):
    return delivery.deliver(delivery_id)


@job
def sweep_hospital_webhooks():
    """Every minute: deliveries due whose job was lost (a Redis flush) or whose sender died."""
    return delivery.sweep()
