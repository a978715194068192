from flask import Response, request
from app.common.api import Blueprint

from app.common.auth import current_actor, user_or_staff_required
from app.files import services
from app.files.schemas import FileSchema, FileUploadFormSchema

blp = Blueprint("files", __name__, url_prefix="/api/v1/files", description="文件上传")


@blp.post("")
@user_or_staff_required
@blp.arguments(FileUploadFormSchema, location="form")
@blp.response(201, FileSchema)
def upload(form):
    """上传文件(JPEG/PNG/PDF,multipart 字段 file 与 purpose)"""
    return services.upload_file(current_actor(), request.files.get("file"), form["purpose"])


@blp.get("/<int:file_id>")
@user_or_staff_required
def download(file_id):
    """下载文件(本人或工作人员)"""
    record, data = services.readable_file(current_actor(), file_id)
    return Response(data, mimetype=record.content_type, headers={
        "Content-Disposition": f'inline; filename="file-{record.id}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
