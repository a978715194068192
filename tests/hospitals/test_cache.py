"""The Redis caches: schedule counts never lag the database by more than about a second,
catalogue entries last until a staff change, and a Redis outage only costs speed."""
import time
from datetime import timedelta

import redis

from app.extensions import db, jobs, redis_client
from app.hospitals import cache, services
from app.hospitals.models import Hospital, Schedule
from tests.hospitals.conftest import today

API = "/api/v1"


def urls(catalogue, days_ahead=2):
    base = f"{API}/hospitals/{catalogue['h1']}/departments"
    day = (today() + timedelta(days=days_ahead)).isoformat()
    return (f"{base}/{catalogue['cardio']}/schedules?date={day}",
            f"{base}/{catalogue['internal']}/calendar")


def counts(client, catalogue, days_ahead=2):
    day_url, calendar_url = urls(catalogue, days_ahead)
    items = client.get(day_url).get_json()["items"]
    days = client.get(calendar_url).get_json()["days"]
    return items[0]["available"], days[days_ahead - 1]["available"]


def wait_for(predicate, timeout=10.0):
    """Poll until predicate() is true. The timeout only bounds a failing test: the promise
    under test is checked on the cache entries' lifetimes, not on the wall clock."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the condition never became true"
        time.sleep(0.05)


def test_counts_follow_a_direct_database_change_within_a_second(client, app, catalogue,
                                                                  db_update):
    schedule_id = catalogue["schedule"]("dr_li", 2, total=30)
    assert counts(client, catalogue) == (30, 30)
    with app.app_context():
        conn = redis_client.conn
        keys = conn.keys("cache:counts:*")
        assert keys, "the counts were not cached"
        db_update(schedule_id, available=27)  # a booking elsewhere, no invalidation at all
        # what the API can still show is what these entries hold, for at most their lifetime
        lifetimes = [conn.pttl(key) for key in keys]
    assert all(-2 <= ttl <= 1000 and ttl != -1 for ttl in lifetimes), lifetimes
    wait_for(lambda: counts(client, catalogue) == (27, 27))
    with app.app_context():  # and what is cached now is the new count, again for <= 1 s
        assert all(0 < redis_client.conn.pttl(key) <= 1000 or redis_client.conn.pttl(key) == -2
                   for key in redis_client.conn.keys("cache:counts:*"))


def test_invalidate_schedule_counts_shows_the_change_at_once(client, app, catalogue, db_update):
    """The booking module calls it after its commit: with a Schedule, an id, or from an
    after-commit hook where the session can no longer read."""
    schedule_id = catalogue["schedule"]("dr_li", 2, total=30)
    expected = 30
    for how in ("object", "id", "after_commit", "primitive"):
        assert counts(client, catalogue) == (expected, expected)
        expected -= 1
        with app.app_context():
            schedule = db.session.get(Schedule, schedule_id)
            department_id, work_date = schedule.department_id, schedule.work_date
            db.session.query(Schedule).filter(Schedule.id == schedule_id).update(
                {"available": expected})
            if how == "after_commit":
                jobs.call_after_commit(db.session, cache.invalidate_schedule_counts, schedule_id)
            db.session.commit()
            if how == "object":
                cache.invalidate_schedule_counts(schedule)  # expired by the commit
            elif how == "id":
                cache.invalidate_schedule_counts(schedule_id)
            elif how == "primitive":
                cache.invalidate_counts(department_id, work_date)
            db.session.remove()
        assert counts(client, catalogue) == (expected, expected), how
    with app.app_context():  # unknown ids and garbage are ignored
        cache.invalidate_schedule_counts(999999)
        cache.invalidate_schedule_counts("not an id")
        db.session.remove()


def test_catalogue_is_cached_until_a_staff_change(client, app, catalogue, staff):
    detail_url = f"{API}/hospitals/{catalogue['h1']}"
    assert client.get(detail_url).get_json()["name"] == "京华测试医院"
    assert "京华测试医院" in [i["name"] for i in client.get(f"{API}/hospitals").get_json()["items"]]
    with app.app_context():  # behind the services' back: the cache does not know
        db.session.get(Hospital, catalogue["h1"]).name = "改名未通知"
        db.session.commit()
        db.session.remove()
    assert client.get(detail_url).get_json()["name"] == "京华测试医院"
    with app.app_context():
        conn = redis_client.conn
        ttl = conn.pttl(next(iter(conn.keys("cache:catalogue:*:hospital:*"))))
    assert 0 < ttl <= 60_000
    staff(services.update_hospital, hospital_id=catalogue["h1"], data={"name": "京华协和测试医院"})
    assert client.get(detail_url).get_json()["name"] == "京华协和测试医院"
    listed = [i["name"] for i in client.get(f"{API}/hospitals").get_json()["items"]]
    assert "京华协和测试医院" in listed
    # a new department and a doctor's new title show at once
    assert client.get(f"{API}/doctors/{catalogue['dr_wang']}").get_json()["title"] == "主治医师"
    staff(services.create_department, hospital_id=catalogue["h1"],
          data={"code": "EK", "name": "儿科"})
    staff(services.update_doctor, doctor_id=catalogue["dr_wang"], data={"title": "副主任医师"})
    assert [d["name"] for d in client.get(detail_url).get_json()["departments"]] == [
        "儿科", "内科", "外科", "眼科"]  # sort_order 0 comes first
    assert client.get(f"{API}/doctors/{catalogue['dr_wang']}").get_json()["title"] == "副主任医师"
    # disabling hides it everywhere at once
    staff(services.set_hospital_active, hospital_id=catalogue["h1"], active=False)
    assert client.get(detail_url).status_code == 404
    assert "京华协和测试医院" not in [i["name"] for i in
                                      client.get(f"{API}/hospitals").get_json()["items"]]


def test_rule_changes_reach_the_calendar_at_once(client, catalogue, staff):
    _, calendar_url = urls(catalogue)
    assert len(client.get(calendar_url).get_json()["days"]) == 7
    staff(services.update_hospital, hospital_id=catalogue["h1"], data={"booking_days_ahead": 3})
    assert len(client.get(calendar_url).get_json()["days"]) == 3


def test_redis_outage_answers_from_the_database(client, app, catalogue, staff, db_update, caplog):
    schedule_id = catalogue["schedule"]("dr_li", 2, total=30)
    day_url, calendar_url = urls(catalogue)
    paths = (f"{API}/hospitals?region=110000", f"{API}/hospitals/{catalogue['h1']}",
             day_url, calendar_url, f"{API}/doctors/{catalogue['dr_li']}")
    healthy = [client.get(path).get_json() for path in paths]
    saved = redis_client._conn

    class CountingConnection(redis.Connection):
        """redis-py's own connection, counting how often anything tries to reach Redis."""
        attempts = 0

        def connect(self):
            type(self).attempts += 1
            return super().connect()

    redis_client._conn = redis.Redis(connection_pool=redis.ConnectionPool(
        connection_class=CountingConnection, host="127.0.0.1", port=9,
        socket_connect_timeout=0.5))
    try:
        caplog.set_level("WARNING", logger="app.hospitals.cache")
        answers = [client.get(path) for path in paths]
        # one try, no retries, and then Redis is left alone: not seconds of retries per request
        # (one try for the catalogue cache, one for the statistics' buffer of search events)
        assert CountingConnection.attempts == 2
        assert [r.status_code for r in answers] == [200] * 5
        assert [r.get_json() for r in answers] == healthy
        db_update(schedule_id, available=11)  # straight from the database, no stale cache
        assert counts(client, catalogue) == (11, 11)
        staff(services.update_hospital, hospital_id=catalogue["h1"],
              data={"notice": "Redis 停机期间的公告"})
        assert client.get(paths[1]).get_json()["notice"] == "Redis 停机期间的公告"
        assert any("cache" in r.getMessage() for r in caplog.records
                   if r.levelname == "WARNING")
    finally:
        redis_client._conn = saved
    # Redis is back and its entry from before the outage has not expired: the invalidation
    # that failed during the outage is made up for before the entry could be served
    cache.reset()
    assert client.get(paths[1]).get_json()["notice"] == "Redis 停机期间的公告"
    assert client.get(paths[0]).status_code == 200


def test_counts_cache_can_be_switched_off(client, app, catalogue, db_update):
    schedule_id = catalogue["schedule"]("dr_li", 2, total=30)
    app.config["HOT_READ_CACHE_SECONDS"] = 0
    try:
        assert counts(client, catalogue) == (30, 30)
        db_update(schedule_id, available=3)
        assert counts(client, catalogue) == (3, 3)
        with app.app_context():
            assert redis_client.conn.keys("cache:counts:*") == []
    finally:
        app.config["HOT_READ_CACHE_SECONDS"] = 1
