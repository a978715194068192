"""Photos of service records. They are the caregiver's uploads (app/files), which only their
owner may download; the order lends them to its family and its current caregiver through
/care-orders/<order>/records/<record>/photos/<index> (and the same under /caregiver/). Anyone
else, a record of another order, an index past the record's photos: 404, saying nothing."""
from app.care_orders.core import CareOrderNotFound
from app.care_orders.models import CareOrder, CareServiceRecord
from app.care_orders.services import PhotoNotFound
from app.caregivers.models import Caregiver
from app.caregivers.ownership import own_caregiver
from app.extensions import db
from app.files.models import StoredFile
from app.files.storage import storage


def record_photo(actor, *, order_id: int, record_id: int, index: int,
                 as_caregiver: bool = False) -> tuple[StoredFile, bytes]:
    """(file row, bytes) of the record's `index`-th photo (0-based, as in photo_urls)."""
    order = db.session.get(CareOrder, order_id)
    if order is None:
        raise CareOrderNotFound()
    if as_caregiver:
        if order.caregiver_id != own_caregiver(actor).id:
            raise CareOrderNotFound()
    elif order.user_id != actor.id:
        raise CareOrderNotFound()
    record = db.session.get(CareServiceRecord, record_id)
    if record is None or record.order_id != order.id:
        raise PhotoNotFound()
    file_ids = record.photo_file_ids or []
    if not 0 <= index < len(file_ids):
        raise PhotoNotFound()
    stored = db.session.get(StoredFile, file_ids[index])
    writer = db.session.get(Caregiver, record.caregiver_id)
    # only what the record's caregiver uploaded (add_record checked it; this keeps it so)
    if stored is None or writer is None or stored.owner_user_id != writer.user_id:
        raise PhotoNotFound()
    try:
        data = storage().read(stored.storage_key)
    except (FileNotFoundError, ValueError):
        raise PhotoNotFound() from None
    return stored, data
