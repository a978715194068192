from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.common.crypto import (EncryptedString, EncryptedText, cipher, encrypted_length,
                               indexed_pii)
from app.common.models import TimestampMixin
from app.extensions import db

GENDERS = {"male": "男", "female": "女"}


class Patient(TimestampMixin, db.Model):
    """就诊人: a person a user books for. Deleting keeps the row (orders point at it)."""

    __tablename__ = "patients"
    # `alive` is True or NULL (deleted); NULLs never collide, so a deleted patient does not
    # block adding the same person again.
    __table_args__ = (UniqueConstraint("user_id", "id_number_index", "alive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    alive: Mapped[bool | None] = mapped_column(Boolean, default=True)
    # names are personal data too: encrypted like the numbers (the attribute stays plaintext)
    name: Mapped[str] = mapped_column("name_encrypted", EncryptedString(encrypted_length(32)))
    id_type: Mapped[str] = mapped_column(String(32))
    id_number_encrypted: Mapped[str] = mapped_column(EncryptedString(encrypted_length(32)))
    id_number_index: Mapped[str] = mapped_column(String(64), index=True)
    gender: Mapped[str] = mapped_column(String(8))
    birthday: Mapped[date] = mapped_column(Date)
    phone_encrypted: Mapped[str] = mapped_column(EncryptedString(encrypted_length(20)))
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    is_insured: Mapped[bool] = mapped_column(Boolean, default=False)
    medical_card_no_encrypted: Mapped[str | None] = mapped_column(
        EncryptedString(encrypted_length(32)))
    contact_name: Mapped[str | None] = mapped_column("contact_name_encrypted",
                                                     EncryptedString(encrypted_length(32)))
    contact_phone_encrypted: Mapped[str | None] = mapped_column(
        EncryptedString(encrypted_length(20)))
    # caregiving details
    condition_encrypted: Mapped[str | None] = mapped_column(EncryptedText)
    hospital_name: Mapped[str | None] = mapped_column(String(64))
    ward: Mapped[str | None] = mapped_column(String(32))
    bed_no: Mapped[str | None] = mapped_column(String(16))

    @property
    def id_number(self):
        return self.id_number_encrypted

    def set_id(self, id_type, id_number):
        self.id_type = id_type
        self.id_number_encrypted = id_number
        self.id_number_index = cipher().blind_index(id_number, f"id:{id_type}")

    phone = indexed_pii("phone_encrypted", "phone_index", "phone")

    @property
    def medical_card_no(self):
        return self.medical_card_no_encrypted

    @medical_card_no.setter
    def medical_card_no(self, value):
        self.medical_card_no_encrypted = value or None

    @property
    def contact_phone(self):
        return self.contact_phone_encrypted

    @contact_phone.setter
    def contact_phone(self, value):
        self.contact_phone_encrypted = value or None

    @property
    def condition(self):
        return self.condition_encrypted

    @condition.setter
    def condition(self, value):
        self.condition_encrypted = value or None
