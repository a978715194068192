"""The search index this process answers from: one SearchIndex (index.py), kept current with
the search-data version (cache.py) and used only while it is.

A search reads the version and epoch in the same Redis round trip as its cache lookup. When
the index carries that version it answers (no SQL at all once the cards are rendered). When it
is behind, the commits in between are looked up in the change log: their caregivers are
patched in (a few milliseconds), in the request, by whichever thread gets the refresh lock
first; the others, and every search while a full load runs, answer from SQL, which is always
exact. A full load (new day, new epoch, a change of everything, a caregiver newly listed, the
change log trimmed, the index older than CAREGIVER_SEARCH_INDEX_MAX_AGE_SECONDS) runs in a
background thread ("background", the default) or in the request ("inline", the tests: every
search after a write then goes through the refresh). "off" always answers from SQL.

Whatever refreshes the index reads the version first and the database after, in a session
of its own begun after that read, so the index holds at least what that version names (and
never what the request's own session has not committed).
"""
import logging
import threading
import time
from contextlib import contextmanager

from flask import current_app

from app.common.time import local_today, utcnow
from app.extensions import db
from app.marketplace import cache
from app.marketplace.index import SearchIndex

log = logging.getLogger("app.marketplace.index")

RETRY_AFTER_FAILURE_SECONDS = 30.0


class LiveIndex:
    def __init__(self):
        self.index: SearchIndex | None = None
        self._refresh = threading.Lock()
        self._loader: threading.Thread | None = None
        self._failed_at = 0.0

    def reset(self) -> None:
        """Forget the index (tests, after they rewrite the database behind its back)."""
        with self._refresh:
            self.index = None
            self._failed_at = 0.0

    def serves_without_lookup(self) -> bool:
        """Whether a search can be answered from the index with the version the watch knows
        (no Redis round trip)."""
        known = cache.version_watch.current()
        return known is not None and _current(self.index, *known, local_today()) and \
            not _too_old(self.index)

    def serving(self, version: int, epoch: str):
        """The index to answer from for search-data (version, epoch), or None: answer from
        SQL."""
        mode = current_app.config["CAREGIVER_SEARCH_INDEX"]
        if mode == "off":
            return None
        today = local_today()
        index = self.index
        if _current(index, version, epoch, today):
            if _too_old(index) and mode == "background":
                self._start_loader()
            return index
        if not self._refresh.acquire(blocking=False):
            return None  # another thread is refreshing: SQL meanwhile
        try:
            index = self.index
            if _current(index, version, epoch, today):
                return index
            if (index is not None and index.epoch == epoch and index.today == today
                    and index.version < version and not _too_old(index)):
                patched = self._patch(index, version)
                if patched is not None:
                    return patched
            if mode == "inline":
                return self._load_now(version, epoch)
        finally:
            self._refresh.release()
        self._start_loader()
        return None

    def _patch(self, index: SearchIndex, version: int):
        changed = cache.changes_between(index.version, version)
        if changed is None:
            return None
        with _own_session() as session:
            patched = index.patched(session, changed)
            if patched is None:
                return None
            patched.version, patched.epoch = version, index.epoch
            _render_cards(patched, sorted(i for i in changed if i in patched.position))
        self.index = patched
        return patched

    def _load_now(self, version: int, epoch: str):
        with _own_session() as session:
            index = SearchIndex.load(session, local_today())
            index.version, index.epoch = version, epoch
            _render_cards(index, index.ids.tolist())
        self.index = index
        return index

    def _start_loader(self) -> None:
        cache.version_watch.start(current_app._get_current_object())
        if self._loader is not None and self._loader.is_alive():
            return
        if time.monotonic() - self._failed_at < RETRY_AFTER_FAILURE_SECONDS:
            return
        app = current_app._get_current_object()
        self._loader = threading.Thread(target=self._load_in_background, args=(app,),
                                        name="caregiver-search-index", daemon=True)
        self._loader.start()

    def _load_in_background(self, app) -> None:
        started = time.monotonic()
        try:
            with app.app_context():
                try:
                    known = cache.search_data_version()
                    if known is None:
                        raise RuntimeError("the search-data version cannot be read from Redis")
                    index = SearchIndex.load(db.session, local_today())
                    index.version, index.epoch = known
                    _render_cards(index, index.ids.tolist())
                finally:
                    db.session.remove()
        except Exception:  # noqa: BLE001  (a failed load leaves SQL answering; retried later)
            self._failed_at = time.monotonic()
            log.exception("caregiver search index load failed; searches use the database")
            return
        with self._refresh:
            current = self.index
            if (current is None or current.epoch != index.epoch or current.today != index.today
                    or current.version <= index.version or _too_old(current)):
                self.index = index
        log.info("caregiver search index loaded: %d caregivers, %.1f MiB, version %s, %.1f s",
                 index.size, index.memory_bytes() / 2**20, index.version,
                 time.monotonic() - started)

    def start(self, app) -> None:
        """Begin loading now (a worker at boot) instead of at the first search, and watch the
        version."""
        with app.app_context():
            if app.config["CAREGIVER_SEARCH_INDEX"] == "background":
                cache.version_watch.start(app)
                self._start_loader()


@contextmanager
def _own_session():
    """db.session of a new application context: a session (and transaction) of its own, begun
    now, blind to whatever the request's session holds; closed afterwards."""
    with current_app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()


def _current(index, version: int, epoch: str, today) -> bool:
    return (index is not None and index.version == version and index.epoch == epoch
            and index.today == today)


def _too_old(index: SearchIndex) -> bool:
    limit = float(current_app.config["CAREGIVER_SEARCH_INDEX_MAX_AGE_SECONDS"])
    return (utcnow() - index.loaded_at).total_seconds() > limit


CARD_BATCH = 500


def _render_cards(index: SearchIndex, ids: list[int]) -> None:
    from app.marketplace.services import public_cards

    for offset in range(0, len(ids), CARD_BATCH):
        index.cards.update(public_cards(ids[offset:offset + CARD_BATCH], index.today))


live_index = LiveIndex()
