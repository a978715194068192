"""The inbox: pagination, the unread filter and count, mark read and mark all read, each
scoped to its owner (another user's message is 404 and stays as it was)."""
from app.extensions import db
from app.notifications.models import Notification
from app.notifications.services import notify
from tests.conftest import row_counts

API = "/api/v1/notifications"


def _send(app, user_id, count, kind="test_event"):
    with app.app_context():
        for index in range(count):
            assert notify(user_id, kind, f"标题{index}", f"内容{index}", "test", index + 1)
        # the same (user, kind, thing) again is not a second message
        assert not notify(user_id, kind, "标题0", "内容0", "test", 1)
        db.session.commit()
        ids = db.session.scalars(db.select(Notification.id).where(
            Notification.user_id == user_id).order_by(Notification.id)).all()
        db.session.remove()
    return ids


def _read_at(app, notification_id):
    with app.app_context():
        value = db.session.get(Notification, notification_id).read_at
        db.session.remove()
    return value


def _unread(client, user):
    response = client.get(f"{API}/unread-count", headers=user["headers"])
    assert response.status_code == 200
    return response.get_json()["unread"]


def test_unread_count_filter_and_mark_read(client, app, alice, bob):
    ids = _send(app, alice["id"], 3)
    _send(app, bob["id"], 2)
    assert _unread(client, alice) == 3 and _unread(client, bob) == 2

    marked = client.post(f"{API}/{ids[0]}/read", headers=alice["headers"])
    assert marked.status_code == 200, marked.get_json()
    assert marked.get_json()["id"] == ids[0] and marked.get_json()["read_at"].endswith("+08:00")
    first_read_at = _read_at(app, ids[0])
    assert first_read_at is not None
    assert _unread(client, alice) == 2
    # again: still read, the first read time stands
    again = client.post(f"{API}/{ids[0]}/read", headers=alice["headers"])
    assert again.status_code == 200 and again.get_json()["read_at"] == marked.get_json()["read_at"]
    assert _read_at(app, ids[0]) == first_read_at and _unread(client, alice) == 2

    unread = client.get(f"{API}?unread=true", headers=alice["headers"]).get_json()
    assert [n["id"] for n in unread["items"]] == [ids[2], ids[1]] and unread["total"] == 2
    read = client.get(f"{API}?unread=false", headers=alice["headers"]).get_json()
    assert [n["id"] for n in read["items"]] == [ids[0]] and read["total"] == 1
    everything = client.get(f"{API}?page_size=2&page=2", headers=alice["headers"]).get_json()
    assert (everything["total"], [n["id"] for n in everything["items"]]) == (3, [ids[0]])
    bad = client.get(f"{API}?unread=maybe", headers=alice["headers"])
    assert bad.status_code == 422 and bad.get_json()["error"]["code"] == "validation_error"

    assert _unread(client, bob) == 2  # alice's reading is hers only


def test_another_users_message_is_404_and_stays_unread(client, app, alice, bob):
    ids = _send(app, alice["id"], 1)
    before = row_counts(app)
    for path in (f"{API}/{ids[0]}/read", f"{API}/999999/read"):
        response = client.post(path, headers=bob["headers"])
        assert response.status_code == 404
        error = response.get_json()["error"]
        assert error["code"] == "notification_not_found" and error["message"] == "消息不存在"
    assert _read_at(app, ids[0]) is None and _unread(client, alice) == 1
    assert row_counts(app) == before
    assert client.post(f"{API}/{ids[0]}/read").status_code == 401


def test_mark_all_read_counts_what_it_changed_and_is_idempotent(client, app, alice, bob):
    ids = _send(app, alice["id"], 4)
    _send(app, bob["id"], 3)
    client.post(f"{API}/{ids[1]}/read", headers=alice["headers"])
    kept = _read_at(app, ids[1])
    response = client.post(f"{API}/read-all", headers=alice["headers"])
    assert response.status_code == 200 and response.get_json() == {"updated": 3}
    assert _unread(client, alice) == 0
    assert _read_at(app, ids[1]) == kept  # an earlier read keeps its time
    assert client.post(f"{API}/read-all", headers=alice["headers"]).get_json() == {"updated": 0}
    assert _unread(client, bob) == 3  # nobody else's messages change
    assert client.get(f"{API}?unread=true", headers=bob["headers"]).get_json()["total"] == 3
    # a new message after read-all is unread again
    _send(app, alice["id"], 1, kind="later_event")
    assert _unread(client, alice) == 1


def test_one_kind_only(client, app, alice, bob):
    """The home page shows the user's announcements: ?kind=announcement, nobody else's."""
    _send(app, alice["id"], 2)
    notices = _send(app, alice["id"], 2, kind="announcement")[-2:]
    _send(app, bob["id"], 1, kind="announcement")
    page = client.get(f"{API}?kind=announcement", headers=alice["headers"]).get_json()
    assert [n["id"] for n in page["items"]] == notices[::-1] and page["total"] == 2
    assert {n["kind"] for n in page["items"]} == {"announcement"}
    assert client.get(f"{API}?kind=nothing_like_it", headers=alice["headers"]).get_json()[
        "total"] == 0
    for bad in ("Announcement", "a" * 33, "x;drop", ""):
        answer = client.get(f"{API}", query_string={"kind": bad}, headers=alice["headers"])
        assert answer.status_code == 422, bad
        assert answer.get_json()["error"]["code"] == "validation_error"
