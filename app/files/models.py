from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.common.models import TimestampMixin
from app.extensions import db

FILE_PURPOSES = {"id_photo": "证件照片", "qualification": "资质证书", "attachment": "附件",
                 "board_image": "讨论区图片"}


class StoredFile(TimestampMixin, db.Model):
    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    purpose: Mapped[str] = mapped_column(String(32))
    content_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    original_name: Mapped[str | None] = mapped_column(String(128))
