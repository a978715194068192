"""User behaviour events: recorded where logins and searches happen, buffered in Redis, moved
into user_events by the flush job exactly once; a Redis outage writes them directly; recording
never fails the request."""
import json

from sqlalchemy import func, select

from app.extensions import db, redis_client
from app.stats.events import BUFFER_KEY, _redis, flush_events, record_event
from tests.conftest import auth, login


def events(app):
    from app.stats.models import UserEvent

    with app.app_context():
        rows = db.session.execute(select(UserEvent.kind, UserEvent.user_id)
                                  .order_by(UserEvent.id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def flush(app):
    with app.app_context():
        return flush_events()


def test_logins_and_searches_are_recorded_once_flushed(app, client):
    alice = login(client, "wx-code-alice")
    assert client.get("/api/v1/hospitals", headers=auth(alice["token"])).status_code == 200
    assert client.get("/api/v1/caregivers?page=1").status_code == 200
    assert client.get("/api/v1/caregivers?page=3").status_code == 200  # paging, not a search
    # refused searches are not searches
    assert client.get("/api/v1/caregivers?sort=nonsense").status_code == 422
    assert client.get("/api/v1/hospitals?page_size=0").status_code == 422
    assert events(app) == []  # buffered, not yet written
    assert flush(app) == 3
    assert events(app) == [("login", alice["user"]["id"]),
                           ("hospital_search", alice["user"]["id"]),
                           ("caregiver_search", None)]
    assert flush(app) == 0 and len(events(app)) == 3


def test_a_batch_written_twice_counts_once(app):
    with app.app_context():
        record_event("login", 7)
        record_event("hospital_search", None)
        raw = redis_client.conn.lrange(BUFFER_KEY, 0, -1)
        assert flush_events() == 2
        # the job died after inserting and before trimming: the same entries are read again
        redis_client.conn.rpush(BUFFER_KEY, *raw)
        assert flush_events() == 2
        db.session.remove()
    assert events(app) == [("login", 7), ("hospital_search", None)]


def test_an_unreadable_entry_is_dropped_and_the_rest_written(app):
    with app.app_context():
        redis_client.conn.rpush(BUFFER_KEY, b"not json", json.dumps(["k" * 32, "login", "x", 1]))
        record_event("login", 5)
        assert flush_events() == 3
        db.session.remove()
    assert events(app) == [("login", 5)]


def test_with_redis_unusable_events_go_straight_to_the_table(app, client):
    _redis.down_until = float("inf")  # as after a failed Redis call
    try:
        alice = login(client, "wx-code-alice")
        assert client.get("/api/v1/hospitals").status_code == 200
    finally:
        _redis.reset()
    assert events(app) == [("login", alice["user"]["id"]), ("hospital_search", None)]
    with app.app_context():
        assert redis_client.conn.llen(BUFFER_KEY) == 0


def test_a_login_succeeds_even_when_its_event_cannot_be_stored(app, client):
    from app.stats.models import UserEvent

    # Redis unusable and the table gone: the event is dropped (and logged), the login is not
    _redis.down_until = float("inf")
    with app.app_context():
        UserEvent.__table__.drop(db.engine)
    try:
        response = client.post("/api/v1/auth/wechat-login", json={"code": "wx-code-bob"})
        assert response.status_code == 200 and response.get_json()["token"]
        assert client.get("/api/v1/hospitals").status_code == 200
    finally:
        _redis.reset()
        with app.app_context():
            UserEvent.__table__.create(db.engine)  # with its indexes
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserEvent)) == 0
        db.session.remove()
