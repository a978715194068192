"""Uploads: type by content sniffing (never by name or header), size limit, owner-only reads."""
import hashlib
import uuid

from flask import current_app

from app.errors import AppError, NotFound, PayloadTooLarge, UnsupportedMediaType
from app.extensions import db
from app.files.models import StoredFile
from app.files.storage import storage

SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"%PDF-", "application/pdf", "pdf"),
)


class FileNotFound(NotFound):
    code = "file_not_found"
    message = "文件不存在"


class FileMissing(AppError):
    status = 400
    code = "file_missing"
    message = "请选择要上传的文件"


def sniff(data: bytes):
    for magic, content_type, extension in SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    return None


def upload_file(actor, upload, purpose: str) -> StoredFile:
    """`actor` is a User or a StaffUser; `upload` a werkzeug FileStorage (or None)."""
    if upload is None:
        raise FileMissing()
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"文件不能超过 {limit // (1024 * 1024)} MB",
                              code="file_too_large", details={"max_bytes": limit})
    if not data:
        raise FileMissing("文件内容为空", code="file_empty")
    kind = sniff(data)
    if kind is None:
        raise UnsupportedMediaType("仅支持 JPEG、PNG 图片或 PDF 文件",
                                   code="unsupported_file_type")
    content_type, extension = kind
    key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.{extension}"
    from app.staff.models import StaffUser

    record = StoredFile(purpose=purpose, content_type=content_type, size_bytes=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), storage_key=key,
                        original_name=(upload.filename or "")[:128] or None)
    if isinstance(actor, StaffUser):
        record.owner_staff_id = actor.id
    else:
        record.owner_user_id = actor.id
    storage().save(key, data)
    db.session.add(record)
    try:
        db.session.commit()
    except Exception:
        storage().delete(key)  # no orphan bytes for a row that never existed
        raise
    return record


def owned_file(user, file_id: int, purpose: str | None = None) -> StoredFile:
    """A user's own file (optionally of a purpose), else 404: never reveal others' files."""
    record = db.session.get(StoredFile, file_id)
    if record is None or record.owner_user_id != user.id or (purpose and record.purpose != purpose):
        raise FileNotFound()
    return record


def file_bytes(record: StoredFile) -> bytes:
    return storage().read(record.storage_key)


def readable_file(actor, file_id: int):
    """The file and its bytes, for its owner or for reviewing staff."""
    from app.staff.models import StaffUser

    record = db.session.get(StoredFile, file_id)
    if record is None:
        raise FileNotFound()
    if isinstance(actor, StaffUser):
        # ID photos and certificates are reviewers' material; operators do not need them
        allowed = actor.is_active and actor.has_role("reviewer")
    else:
        allowed = record.owner_user_id == actor.id
    if not allowed:
        raise FileNotFound()
    return record, file_bytes(record)
