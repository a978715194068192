"""The search cache: answers are reused, any committed change to search data is seen by the very
next search (whoever wrote it, ORM object or bulk statement), nothing is bumped on rollback or
on unrelated writes, and a Redis outage only costs the cache. The same freshness holds for the
in-process index (live_index.py), which takes in a caregiver's change by a patch."""
from datetime import datetime, timedelta

import pytest
import redis
from sqlalchemy import text, update

from app.common.time import LOCAL_TZ, local_today
from app.extensions import db, redis_client
from app.marketplace import cache
from tests.conftest import make_caregiver
from tests.marketplace.conftest import API
from tests.payments.conftest import wait_for


@pytest.fixture(autouse=True)
def index_off(app, monkeypatch):
    """The cache is what these tests watch: searches answer from SQL through it (a test that
    wants the index turns it back on)."""
    monkeypatch.setitem(app.config, "CAREGIVER_SEARCH_INDEX", "off")


def ids(client, query=""):
    return [item["id"] for item in client.get(f"{API}?{query}").get_json()["items"]]


def version(app):
    with app.app_context():
        return int(redis_client.conn.get(cache.VERSION_KEY) or 0)


def raw_update(app, sql, **params):
    """A change behind the session's back (no events): only the TTL bounds it."""
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text(sql), params)


def test_answers_are_cached_until_a_committed_change(client, app):
    first = make_caregiver(app, years_experience=3)
    assert ids(client, "min_experience=5") == []
    with app.app_context():
        keys = sorted(redis_client.conn.keys(f"{cache.PREFIX}search:*"))
        ttls = [redis_client.conn.pttl(key) for key in keys]
    # one entry by the normalised query, one by the raw query string
    assert [key.split(b":")[3] for key in keys] == [b"body", b"raw"]
    assert all(0 < ttl <= 10_000 for ttl in ttls)
    # a change the session never saw: the cached answer stands (it is a cache)
    raw_update(app, "UPDATE caregivers SET years_experience = 9 WHERE id = :id", id=first)
    assert ids(client, "min_experience=5") == []
    # a change through the ORM: the very next search sees it (and the raw one with it)
    from app.caregivers.models import Caregiver
    with app.app_context():
        db.session.get(Caregiver, first).rating_avg = 4.0
        db.session.commit()
        db.session.remove()
    assert ids(client, "min_experience=5") == [first]


@pytest.mark.parametrize("index", ["off", "inline"])
def test_every_kind_of_write_is_seen_by_the_next_search(client, app, monkeypatch, index):
    from app.availability.services import add_busy_block, remove_busy_blocks
    from app.marketplace.live_index import live_index
    from app.caregivers.models import Caregiver, CaregiverPrice, CaregiverSkill
    from app.users.models import User

    caregiver_id = make_caregiver(app, skills=("elderly",), prices={"hourly": 5000})
    with app.app_context():
        from app.availability.models import WeeklyWindow
        from app.availability.services import rebuild_day_windows
        db.session.add_all(WeeklyWindow(caregiver_id=caregiver_id, weekday=d, start_minute=0,
                                        end_minute=1440) for d in range(7))
        db.session.commit()
        rebuild_day_windows([caregiver_id])
        user_id = db.session.get(Caregiver, caregiver_id).user_id
        db.session.remove()
    midnight = datetime.combine(local_today(), datetime.min.time(), tzinfo=LOCAL_TZ)
    start, end = midnight + timedelta(days=2, hours=9), midnight + timedelta(days=2, hours=11)
    window = "start={}&end={}".format(*(t.isoformat().replace("+", "%2B") for t in (start, end)))

    monkeypatch.setitem(app.config, "CAREGIVER_SEARCH_INDEX", index)
    loads = []

    def step(change, query, expected, reload=False):
        ids(client, query)  # cache the answer (or load the index) before the change
        loaded = live_index.index.loaded_at if index == "inline" else None
        with app.app_context():
            change()
            db.session.commit()
            db.session.remove()
        response = client.get(f"{API}?{query}")
        assert [item["id"] for item in response.get_json()["items"]] == expected, query
        if index == "inline":
            # a caregiver's own rows are patched in; a user's ban reloads the whole index
            assert response.headers["X-Search-Source"] == "index"
            assert (live_index.index.loaded_at != loaded) is reload, query
            loads.append(reload)

    # ORM attribute change
    step(lambda: setattr(db.session.get(Caregiver, caregiver_id), "night_service", True),
         "night_service=true", [caregiver_id])
    # child rows added through the ORM
    step(lambda: db.session.add(CaregiverSkill(caregiver_id=caregiver_id, skill_code="stroke")),
         "skills=stroke", [caregiver_id])
    # a bulk UPDATE statement through the session
    step(lambda: db.session.execute(update(CaregiverPrice).where(
        CaregiverPrice.caregiver_id == caregiver_id).values(price_fen=9000)),
        "care_type=hourly&min_price_fen=8000", [caregiver_id])
    # a busy block (the care orders' path) and its removal
    step(lambda: add_busy_block(caregiver_id, start, end, ref_type="care_order", ref_id=77),
         window, [])
    step(lambda: remove_busy_blocks(ref_type="care_order", ref_id=77), window, [caregiver_id])
    # the user's ban (a bulk UPDATE of users.status too)
    step(lambda: db.session.get(User, user_id).ban("违规"), "", [], reload=True)
    step(lambda: db.session.execute(update(User).where(User.id == user_id).values(
        status="active")), "", [caregiver_id], reload=True)
    assert index == "off" or loads.count(False) == 5


def test_unrelated_writes_and_rollbacks_keep_the_cache(client, app, alice):
    from app.caregivers.models import Caregiver
    from app.users.models import User
    caregiver_id = make_caregiver(app)
    ids(client)
    before = version(app)
    with app.app_context():
        db.session.get(User, alice["id"]).nickname = "新昵称"  # not search data
        db.session.commit()
        db.session.get(Caregiver, caregiver_id).years_experience = 20
        db.session.flush()
        db.session.rollback()  # never happened
        db.session.remove()
    assert version(app) == before
    with app.app_context():
        db.session.get(Caregiver, caregiver_id).years_experience = 20
        db.session.commit()  # one commit, one bump, however many rows and tables
        db.session.remove()
    assert version(app) == before + 1


def test_redis_outage_answers_from_the_database(client, app, caplog):
    from app.caregivers.models import Caregiver
    caregiver_id = make_caregiver(app)
    healthy = client.get(API).get_json()
    saved = redis_client._conn
    redis_client._conn = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.2)
    try:
        caplog.set_level("WARNING", logger="app.marketplace.cache")
        assert client.get(API).get_json() == healthy
        assert any("caregiver search cache" in r.getMessage() for r in caplog.records)
        # a write during the outage: its bump fails, it is not a 500, and the DB is asked
        with app.app_context():
            db.session.get(Caregiver, caregiver_id).years_experience = 30
            db.session.commit()
            db.session.remove()
        assert client.get(API).get_json()["items"][0]["years_experience"] == 30
        assert client.get(f"{API}/{caregiver_id}").status_code == 200
    finally:
        redis_client._conn = saved
        cache.reset()
    # back up: the bump that failed is made before the next cached read, so an answer cached
    # before the outage is not served
    assert client.get(API).get_json()["items"][0]["years_experience"] == 30


def test_a_repeated_query_string_is_answered_before_parsing(client, app, monkeypatch):
    """The second identical query string (parameters in any order) is answered from the raw
    entry: neither the argument parser nor the service runs; a bump makes it compute again."""
    from app.marketplace import services

    first = make_caregiver(app, years_experience=7)
    answer = client.get(f"{API}?min_experience=5&sort=experience")
    assert answer.status_code == 200

    def must_not_run(**query):
        raise AssertionError("the service ran for a cached query string")

    monkeypatch.setattr(services, "search_caregivers", must_not_run)
    again = client.get(f"{API}?sort=experience&min_experience=5")
    assert again.status_code == 200 and again.data == answer.data
    assert again.mimetype == "application/json"
    monkeypatch.undo()
    from app.caregivers.models import Caregiver
    with app.app_context():
        db.session.get(Caregiver, first).status = "suspended"
        db.session.commit()
        db.session.remove()
    assert ids(client, "sort=experience&min_experience=5") == []


def test_refused_query_strings_are_never_cached(client, app):
    make_caregiver(app)
    for _ in range(2):
        refused = client.get(f"{API}?min_age=60&max_age=20")
        assert refused.status_code == 422
        assert refused.get_json()["error"]["code"] == "invalid_age_range"
    with app.app_context():
        assert redis_client.conn.keys(f"{cache.PREFIX}search:raw:*") == []


def test_the_version_watch_hears_bumps_and_a_flushed_redis(app):
    """Another process's commit arrives by pub/sub (the poll is far too slow to be what
    delivered it); a flushed Redis (no message at all) is noticed by the poll, which starts a
    new epoch: no index of the old history can be current any more."""
    slow, quick = cache.VersionWatch(), cache.VersionWatch()
    slow.POLL_SECONDS, quick.POLL_SECONDS = 60.0, 0.2
    slow.start(app)
    quick.start(app)
    try:
        assert wait_for(lambda: slow.current() is not None and quick.current() is not None)
        before = slow.current()
        with app.app_context():
            cache.bump_version({7})  # the bump of a commit made in some other process
        assert wait_for(lambda: slow.current() == (before[0] + 1, before[1]))
        with app.app_context():
            redis_client.conn.flushdb()
        assert wait_for(lambda: quick.current()[1] != before[1])
        assert quick.current()[0] == 0
        assert slow.current() == (before[0] + 1, before[1])  # no message: only the poll sees it
        with app.app_context():
            cache.bump_version({7})  # the new history's first commit
        # slow already holds version 1 of the old epoch (the first bump, when `before` was 0):
        # wait for the message that moves it into the new one, not just for a version of 1
        assert wait_for(lambda: quick.current()[0] == 1 and slow.current()[0] == 1
                        and slow.current()[1] != before[1])
        assert slow.current()[1] == quick.current()[1] != before[1]
    finally:
        slow.stop()
        quick.stop()
    assert slow.current() is None


def test_background_index_answers_without_a_round_trip_and_sees_each_commit(client, app,
                                                                              monkeypatch):
    """As in production: the index loads in a thread (the database answers until then), then
    answers with no Redis command at all, and a commit is seen by the very next search."""
    from app.caregivers.models import Caregiver
    from app.marketplace.live_index import live_index

    first = make_caregiver(app, years_experience=3)
    monkeypatch.setitem(app.config, "CAREGIVER_SEARCH_INDEX", "background")
    monkeypatch.setattr(cache.VersionWatch, "POLL_SECONDS", 60.0)
    live_index.start(app)
    try:
        assert wait_for(lambda: client.get(API).headers["X-Search-Source"] == "index", 20)
        # the version watch subscribes in its own thread: until then a search reads the version
        with app.app_context():
            assert wait_for(live_index.serves_without_lookup, 20)
            commands = []
            conn = cache._redis.conn()
            original = conn.execute_command
            monkeypatch.setattr(conn, "execute_command",
                                lambda *a, **k: commands.append(a[0]) or original(*a, **k))
        response = client.get(f"{API}?min_experience=5")
        assert response.headers["X-Search-Source"] == "index" and commands == []
        assert response.get_json()["items"] == []
        with app.app_context():
            db.session.get(Caregiver, first).years_experience = 9
            db.session.commit()
            db.session.remove()
        response = client.get(f"{API}?min_experience=5")
        assert [item["id"] for item in response.get_json()["items"]] == [first]
        assert response.headers["X-Search-Source"] == "index"  # patched in, in the request

        # the same string again, nothing changed: this process's page memo answers it
        commands.clear()
        again = client.get(f"{API}?min_experience=5")
        assert again.headers["X-Search-Source"] == "memo" and commands == []
        assert again.get_data() == response.get_data()
        with app.app_context():  # a commit: the memo's page is for an older version now
            db.session.get(Caregiver, first).years_experience = 4
            db.session.commit()
            db.session.remove()
        after = client.get(f"{API}?min_experience=5")
        assert after.headers["X-Search-Source"] == "index" and after.get_json()["items"] == []
    finally:
        cache.version_watch.stop()
        cache.page_memo.clear()


def test_the_page_memo_keeps_pages_for_the_cache_ttl_and_a_bounded_size(client, app,
                                                                         monkeypatch):
    from app.marketplace.live_index import live_index

    make_caregiver(app, years_experience=3)
    monkeypatch.setitem(app.config, "CAREGIVER_SEARCH_INDEX", "background")
    monkeypatch.setitem(app.config, "CAREGIVER_SEARCH_CACHE_SECONDS", 10)
    monkeypatch.setattr(cache.VersionWatch, "POLL_SECONDS", 60.0)
    cache.page_memo.clear()
    live_index.start(app)
    clock = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    try:
        with app.app_context():
            assert wait_for(live_index.serves_without_lookup, 20)
        source = lambda query: client.get(f"{API}?{query}").headers["X-Search-Source"]  # noqa: E731
        assert source("min_experience=1") == "index"
        clock[0] += 9.9
        assert source("min_experience=1") == "memo"
        clock[0] += 0.2  # past the TTL
        assert source("min_experience=1") == "index"
        # refused strings are never kept
        assert client.get(f"{API}?page_size=0").status_code == 422
        assert b"page_size=0" not in cache.page_memo._pages

        # past MEMO_BYTES the oldest pages go first (five empty pages of one size); an entry
        # counts its query string, its page and the bookkeeping
        entry = (len(b"min_experience=10") + len(client.get(f"{API}?min_experience=10").get_data())
                 + cache.PageMemo.ENTRY_BYTES)
        monkeypatch.setattr(cache.PageMemo, "MEMO_BYTES", entry * 3)
        cache.page_memo.clear()
        for years in range(10, 15):
            assert source(f"min_experience={years}") == "index"
        assert list(cache.page_memo._pages) == [b"min_experience=12", b"min_experience=13",
                                                b"min_experience=14"]
        assert cache.page_memo._bytes == entry * 3
        assert source("min_experience=14") == "memo" and source("min_experience=10") == "index"
        # a long query string with a tiny page weighs its length: it pushes out two pages
        # (13 and 14; 10 was asked last)
        long_query = "min_experience=14&city_code=310100" + "&skills_match=any" * 10
        assert source(long_query) == "index"
        assert list(cache.page_memo._pages) == [b"min_experience=10", long_query.encode()]
        assert cache.page_memo._bytes <= entry * 3
    finally:
        cache.version_watch.stop()
        cache.page_memo.clear()
