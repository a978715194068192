"""Personal data at rest: AES-256-GCM ciphertext plus an HMAC blind index for lookups.

Both keys are derived from the one PII_KEY secret with HKDF, under different labels, so the
index reveals nothing about the ciphertext key. Ciphertexts carry a version prefix so the key
can be rotated later without guessing which rows are old.
"""
import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import String, Text
from sqlalchemy.types import TypeDecorator

_VERSION = "v1"


class PiiCipher:
    def __init__(self, secret: str):
        if not secret or len(secret) < 32:
            raise RuntimeError("PII_KEY must be at least 32 characters")
        material = secret.encode()
        self._enc_key = self._derive(material, b"pii-encryption-v1")
        self._index_key = self._derive(material, b"pii-blind-index-v1")
        self._aead = AESGCM(self._enc_key)

    @staticmethod
    def _derive(material: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _VERSION.encode())
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        version, _, payload = token.partition(":")
        if version != _VERSION:
            raise ValueError("unknown PII ciphertext version")
        raw = base64.b64decode(payload)
        return self._aead.decrypt(raw[:12], raw[12:], _VERSION.encode()).decode()

    def blind_index(self, value: str, purpose: str) -> str:
        normalized = value.strip().upper()
        return hmac.new(self._index_key, f"{purpose}:{normalized}".encode(), hashlib.sha256).hexdigest()


_cipher: PiiCipher | None = None


def init_pii(app):
    global _cipher
    _cipher = PiiCipher(app.config["PII_KEY"])


def cipher() -> PiiCipher:
    if _cipher is None:
        raise RuntimeError("PII cipher not initialised")
    return _cipher


class EncryptedString(TypeDecorator):
    """A column whose Python value is plaintext and whose stored value is AES-GCM ciphertext."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else cipher().encrypt(value)

    def process_result_value(self, value, dialect):
        return None if value is None else cipher().decrypt(value)


class EncryptedText(EncryptedString):
    """For long free text (medical notes)."""

    impl = Text
    cache_ok = True


def encrypted_length(plaintext_max: int) -> int:
    """Column width for EncryptedString holding up to plaintext_max UTF-8 characters."""
    raw = plaintext_max * 4 + 12 + 16
    return len(_VERSION) + 1 + 4 * ((raw + 2) // 3)


def indexed_pii(column: str, index_column: str, purpose: str) -> property:
    """A plaintext property over an EncryptedString column that keeps its blind index in step
    (for phones and other values we look up or keep unique)."""

    def get(obj):
        return getattr(obj, column)

    def set_(obj, value):
        setattr(obj, column, value or None)
        setattr(obj, index_column, cipher().blind_index(value, purpose) if value else None)

    return property(get, set_)
