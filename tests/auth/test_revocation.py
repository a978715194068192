"""Revocation within 2 s: the per-process copy of principals, its purges, and the fill race.

A copy leaves this process's table only when it is dropped (expiry is checked on read), so
`key in local_principals._entries` tells a purge from a mere expiry.
"""
import threading
import time

import pytest
import redis
from sqlalchemy import text, update

from app.common.auth import _principal, _principal_key
from app.common.principal_cache import MAX_HOLD_SECONDS, LocalPrincipals, local_principals
from app.extensions import db


def wait_for(condition, seconds=5.0, message="condition never held"):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.01)


def hold_locally(client, headers, subject_id, kind="user", path="/api/v1/me") -> str:
    """Call as the subject until this process holds their principal; its key."""
    key = _principal_key(kind, subject_id)

    def held():
        assert client.get(path, headers=headers).status_code == 200
        return local_principals.get(key) is not None

    wait_for(held, message="the principal was never held locally")
    return key


class HeldFill:
    """A fill of `user_id`'s principal in another thread, held between its database read and
    its write to the local copy; `release()` lets it finish and returns what it read."""

    def __init__(self, app, user_id):
        self._read, self._release, self._seen = threading.Event(), threading.Event(), {}

        def hold_between_read_and_fill():
            self._read.set()
            assert self._release.wait(10)

        def filler():
            with app.app_context():
                self._seen["principal"] = _principal("user", user_id,
                                                     before_fill=hold_between_read_and_fill)

        self._thread = threading.Thread(target=filler)
        self._thread.start()
        assert self._read.wait(10), "the filler never read"

    def release(self):
        self._release.set()
        self._thread.join(10)
        return self._seen.get("principal")


def listener_id(app) -> int | None:
    """CLIENT ID of this process's purge listener, found by its unique client name."""
    conn = redis.Redis.from_url(app.config["REDIS_URL"])
    for entry in conn.client_list():
        if entry.get("name") == local_principals.client_name:
            return int(entry["id"])
    return None


def test_a_fill_that_read_before_a_ban_cannot_outlive_the_purge(app, client, alice,
                                                                staff_factory):
    """The filler reads the user, the ban commits and purges, then the filler writes: the next
    request must still be refused (before the fix the stale fill lived for 300 s)."""
    operator = staff_factory("operator")
    hold_locally(client, alice["headers"], alice["id"])  # the listener is up: fills are kept
    key = _principal_key("user", alice["id"])
    local_principals.drop(key)
    fill = HeldFill(app, alice["id"])
    try:
        response = client.post(f"/api/v1/staff/users/{alice['id']}/ban",
                               json={"reason": "刷号"}, headers=operator["headers"])
        assert response.status_code == 200, response.get_json()
    finally:
        principal = fill.release()
    assert principal["banned"] is False  # it really read before the ban
    assert key not in local_principals._entries
    answer = client.get("/api/v1/me", headers=alice["headers"])
    assert answer.status_code == 403
    assert answer.get_json()["error"]["code"] == "account_banned"


def test_a_fill_racing_a_purge_from_another_process_is_refused(app, client, alice,
                                                               staff_factory):
    """Same race, the change made elsewhere: a SQL update plus the purge another process
    publishes, arriving over pub/sub while this process's fill is held."""
    hold_locally(client, alice["headers"], alice["id"])
    key = _principal_key("user", alice["id"])
    local_principals.drop(key)
    fill = HeldFill(app, alice["id"])
    try:
        generation = local_principals.generation()
        with app.app_context():
            db.session.execute(text("UPDATE users SET token_version = token_version + 1 "
                                    "WHERE id = :id"), {"id": alice["id"]})
            db.session.commit()
            db.session.remove()
        other = redis.Redis.from_url(app.config["REDIS_URL"])
        other.publish(local_principals.channel, key)  # what the other process does
        wait_for(lambda: local_principals.generation() != generation,
                 message="the purge never reached this process")
    finally:
        principal = fill.release()
    assert principal is not None
    assert key not in local_principals._entries
    answer = client.get("/api/v1/me", headers=alice["headers"])
    assert answer.status_code == 401
    assert answer.get_json()["error"]["code"] == "token_invalid"


def test_a_purge_published_elsewhere_drops_this_process_copy_at_once(client, app, alice):
    """Another process logs the user out: its pub/sub purge reaches our copy."""
    key = hold_locally(client, alice["headers"], alice["id"])
    with app.app_context():
        db.session.execute(text("UPDATE users SET token_version = token_version + 1 "
                                "WHERE id = :id"), {"id": alice["id"]})
        db.session.commit()
        db.session.remove()
    redis.Redis.from_url(app.config["REDIS_URL"]).publish(local_principals.channel, key)
    wait_for(lambda: key not in local_principals._entries,
             message="the purge never reached this process")
    assert client.get("/api/v1/me", headers=alice["headers"]).status_code == 401


def test_a_change_made_in_sql_is_seen_when_the_copy_expires(client, app, alice):
    """No purge at all: the copy expires AUTH_LOCAL_CACHE_SECONDS after the read began."""
    key = hold_locally(client, alice["headers"], alice["id"])
    local_principals.drop(key)
    read_done = []
    with app.app_context():
        _principal("user", alice["id"], before_fill=lambda: read_done.append(time.monotonic()))
    expires_at, principal = local_principals._entries[key]
    assert principal["banned"] is False
    # the hold counts from before the database read, not from when the copy was stored
    assert expires_at <= read_done[0] + app.config["AUTH_LOCAL_CACHE_SECONDS"]
    assert app.config["AUTH_LOCAL_CACHE_SECONDS"] <= MAX_HOLD_SECONDS
    with app.app_context():
        db.session.execute(text("UPDATE users SET status = 'banned' WHERE id = :id"),
                           {"id": alice["id"]})
        db.session.commit()
        db.session.remove()

    def refused():
        answer = client.get("/api/v1/me", headers=alice["headers"])
        return answer.status_code == 403 and answer.get_json()["error"]["code"] == "account_banned"

    wait_for(refused, seconds=5, message="a ban made in SQL was never seen")


def test_a_bulk_orm_update_purges_every_copy(client, app, alice, bob):
    key_alice = hold_locally(client, alice["headers"], alice["id"])
    key_bob = hold_locally(client, bob["headers"], bob["id"])
    from app.users.models import User

    with app.app_context():
        db.session.execute(update(User).where(User.id == alice["id"])
                           .values(status="banned"))
        db.session.commit()
        db.session.remove()
    assert key_alice not in local_principals._entries
    assert key_bob not in local_principals._entries  # which rows changed is unknown: all go
    answer = client.get("/api/v1/me", headers=alice["headers"])
    assert answer.status_code == 403
    assert client.get("/api/v1/me", headers=bob["headers"]).status_code == 200


def test_a_staff_role_change_purges_at_once(client, app, staff_factory):
    reviewer = staff_factory("reviewer")
    path = "/api/v1/staff/real-name-reviews"
    key = hold_locally(client, reviewer["headers"], reviewer["id"], kind="staff", path=path)
    from app.staff.models import StaffUser

    with app.app_context():
        db.session.get(StaffUser, reviewer["id"]).role = "operator"
        db.session.commit()
        db.session.remove()
    assert key not in local_principals._entries
    response = client.get(path, headers=reviewer["headers"])
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_a_broken_purge_subscription_empties_this_process_copy(client, app, alice):
    """Copies are trusted only while purges can arrive: when the subscription breaks the copy
    is emptied, and held again only after subscribing again. Kills only our own listener."""
    key = hold_locally(client, alice["headers"], alice["id"])
    first = listener_id(app)
    assert first is not None
    generation = local_principals.generation()
    killer = redis.Redis.from_url(app.config["REDIS_URL"])
    assert killer.client_kill_filter(_id=first) == 1
    # the listener empties the copy and bumps the generation under one lock when it notices
    wait_for(lambda: local_principals.generation() != generation,
             message="the listener never noticed its connection was gone")
    assert key not in local_principals._entries
    wait_for(lambda: listener_id(app) not in (None, first),
             message="the listener never subscribed again")
    hold_locally(client, alice["headers"], alice["id"])  # subscribed again, it holds again


def test_the_per_process_copy_is_bounded_in_size_and_time():
    principals = LocalPrincipals()
    principals.MAX_ENTRIES = 3
    principals._listening = True  # as if subscribed; this test is about the bounds only
    for index in range(10):
        principals.put(f"k{index}", {"ver": index}, principals.generation(),
                       time.monotonic() + 30)
        assert len(principals._entries) <= 3
    assert principals._entries["k9"][1] == {"ver": 9}
    assert principals._entries["k9"][0] <= time.monotonic() + MAX_HOLD_SECONDS


def test_a_purge_refuses_a_fill_that_started_before_it():
    principals = LocalPrincipals()
    principals._listening = True
    generation = principals.generation()
    principals.drop("k")  # the purge lands between the caller's read and its fill
    principals.put("k", {"ver": 1}, generation, time.monotonic() + 1)
    assert "k" not in principals._entries


def test_a_hold_longer_than_the_promise_is_refused_at_startup():
    from flask import Flask

    from app.common.auth import install_principal_cache

    probe = Flask("probe")
    probe.config["AUTH_LOCAL_CACHE_SECONDS"] = 30  # the old default: stale for 30 s
    with pytest.raises(RuntimeError, match="AUTH_LOCAL_CACHE_SECONDS"):
        install_principal_cache(probe)
