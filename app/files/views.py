from flask import Response, current_app, g, request
from app.common.api import Blueprint

from app.common.auth import current_actor, user_or_staff_required
from app.extensions import limiter
from app.files import services
from app.files.schemas import FileSchema, FileUploadFormSchema

blp = Blueprint("files", __name__, url_prefix="/api/v1/files", description="文件上传")


def file_response(record, data: bytes) -> Response:
    """A stored file's bytes: shown inline, never cached, never sniffed into another type."""
    return Response(data, mimetype=record.content_type, headers={
        "Content-Disposition": f'inline; filename="file-{record.id}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


FILE_RESPONSE_DOC = {"200": {"description": "文件内容", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}}
    for content_type in ("image/jpeg", "image/png", "application/pdf")}}}


def _uploader_key():
    """Uploads are limited per account, not per address (many users share a carrier NAT)."""
    if "current_staff_id" in g:
        return f"staff:{g.current_staff_id}"
    return f"user:{g.current_user_id}"


@blp.post("")
@user_or_staff_required
@limiter.limit(lambda: current_app.config["UPLOAD_RATE_LIMIT"], key_func=_uploader_key,
               scope="upload")
@blp.arguments(FileUploadFormSchema, location="form", content_type="multipart/form-data")
@blp.errors(services.FileMissing, (services.FileMissing, "file_empty"), (413, "file_too_large"),
            (415, "unsupported_file_type"))
@blp.response(201, FileSchema)
def upload(form):
    """上传文件(JPEG/PNG/PDF,multipart 字段 file 与 purpose)"""
    return services.upload_file(current_actor(), request.files.get("file"), form["purpose"])


@blp.get("/<int:file_id>")
@blp.errors((404, "file_not_found"))
@blp.doc(responses=FILE_RESPONSE_DOC)
@user_or_staff_required
def download(file_id):
    """下载文件(本人或工作人员)"""
    return file_response(*services.readable_file(current_actor(), file_id))

