"""CSRF for the console: one random token per session, sent back in a hidden field of every
form (or the X-CSRF-Token header) and compared in constant time on every POST."""
import hmac
import secrets

from flask import request, session

FIELD = "csrf_token"


def csrf_token() -> str:
    token = session.get(FIELD)
    if not token:
        token = session[FIELD] = secrets.token_urlsafe(32)
    return token


def csrf_valid() -> bool:
    expected = session.get(FIELD)
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    return bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())


def rotate_csrf():
    """A new token on sign-in and sign-out: one seen before sign-in is worthless after."""
    session[FIELD] = secrets.token_urlsafe(32)
