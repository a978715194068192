"""Push jobs (the "push" queue): ids in, idempotent (a push is claimed before it is sent)."""
from app.common.jobs import job
from app.notifications import delivery


@job
def deliver_push(push_id: int):
    return delivery.deliver(push_id)


@job
def deliver_pushes(push_ids: list[int]):
    """A batch (announcements): one claim and one commit of outcomes for all of them."""
    return delivery.deliver_many(push_ids)


@job
def sweep_pushes():
    """Every minute: pushes whose job was lost (a Redis flush) or whose sender died."""
    return delivery.sweep()
