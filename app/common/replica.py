"""Reads that may be served by a read replica: browse, search and statistics queries.

`reader()` is the session those queries use. Without a replica configured it is the primary's
session (`db.session`), so callers never need to know which one they got. Only read-only
queries go through it: a replica lags the primary, so nothing that decides a write may read here.
"""
from sqlalchemy.orm import Session

from app.extensions import db


def reader() -> Session:
    return db.session
