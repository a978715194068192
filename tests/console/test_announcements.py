"""Announcements in the console (admins only): published from the form through the service,
refused with the service's codes, and the detail page shows the progress the batches and pushes
make (inbox count, sent and failed pushes)."""
import re

from sqlalchemy import select, update

from app.announcements.models import Announcement
from app.audit.models import AuditEntry
from app.extensions import db
from app.users.models import User
from tests.announcements.conftest import (bulk_users, give_quota, queued_jobs, run_worker,
                                          sim_subscribe)
from tests.console.conftest import post, text

PAGE = "/console/announcements"
FORM = {"title": "系统维护通知", "body": "本周六 02:00-04:00 系统维护,期间暂停挂号。",
        "segment": "all", "city_code": "", "date_from": "", "date_to": "", "page": ""}


def _announcements(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(select(Announcement.id, Announcement.title,
                                         Announcement.created_by_staff_id)).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def _cell(html, cell_id) -> str:
    return re.search(rf'id="{cell_id}">([^<]*)<', html).group(1)


def test_publish_and_watch_the_progress(app, console):
    users = bulk_users(app, 5, "notice")
    ids = sorted(users)
    give_quota(app, ids[:3])  # three may get a WeChat message, the other two only the inbox
    sim_subscribe(app, [users[user_id] for user_id in ids[:3]], threads=1)
    client, staff_id = console("admin")
    assert 'id="announcement-form"' in text(client.get(PAGE))

    created = post(client, PAGE, FORM, page=PAGE)
    assert created.status_code == 303, text(created)[:500]
    [(announcement_id, title, by)] = _announcements(app)
    assert (title, by) == ("系统维护通知", staff_id)
    assert created.headers["Location"].endswith(f"/console/announcements/{announcement_id}")
    page = text(client.get(created.headers["Location"]))
    assert "共 5 位收件人" in page and 'id="announcement-status">发送中<' in page
    assert (_cell(page, "inbox-count"), _cell(page, "total")) == ("0", "5")
    assert 'http-equiv="refresh"' in page  # it refreshes itself while sending

    # the batch writes the inbox rows and the pushes; one recipient is banned before delivery
    run_worker(app, queues=("default",))
    with app.app_context():
        db.session.execute(update(User).where(User.id == ids[0]).values(status="banned"))
        db.session.commit()
        db.session.remove()
    page = text(client.get(f"{PAGE}/{announcement_id}"))
    assert _cell(page, "inbox-count") == "5" and _cell(page, "pushes-pending") == "3"
    run_worker(app, queues=("push",))

    page = text(client.get(f"{PAGE}/{announcement_id}"))
    assert _cell(page, "announcement-status") == "已完成"
    assert (_cell(page, "pushes-sent"), _cell(page, "pushes-failed"),
            _cell(page, "pushes-pending")) == ("2", "1", "0")
    assert 'http-equiv="refresh"' not in page and 'id="finished-at"' in page
    listing = text(client.get(PAGE))
    assert f'id="announcement-{announcement_id}"' in listing and "失败 1" in listing

    with app.app_context():
        assert db.session.scalar(select(AuditEntry.id).where(
            AuditEntry.staff_id == staff_id, AuditEntry.source == "console",
            AuditEntry.action == PAGE)) is not None
        db.session.remove()


def test_bad_input_is_a_422_page_and_sends_nothing(app, console):
    client, _ = console("admin")
    for bad, code in (({"title": ""}, "validation_error"),
                      ({"body": "字" * 501}, "validation_error"),
                      ({"segment": "vip"}, "validation_error"),
                      ({"page": "https://evil.example/x"}, "validation_error"),
                      ({"segment": "city"}, "city_code_required"),
                      ({"segment": "city", "city_code": "31010"}, "validation_error"),
                      ({"city_code": "310100"}, "segment_field_not_allowed"),
                      ({"segment": "booking_range", "date_from": "2026-12-01"},
                       "date_range_required"),
                      ({"segment": "booking_range", "date_from": "2026-12-02",
                        "date_to": "2026-12-01"}, "date_range_reversed"),
                      ({"segment": "booking_range", "date_from": "2026-13-01",
                        "date_to": "2026-12-01"}, "validation_error")):
        response = post(client, PAGE, {**FORM, **bad}, page=PAGE)
        assert response.status_code == 422, (bad, text(response)[:300])
        assert f'data-error-code="{code}"' in text(response), (bad, text(response)[:1200])
    assert _announcements(app) == []
    assert queued_jobs(app, "default") == []


def test_a_city_announcement_with_nobody_in_it_is_completed_at_once(app, console):
    client, _ = console("admin")
    created = post(client, PAGE, {**FORM, "segment": "city", "city_code": "650100"}, page=PAGE)
    assert created.status_code == 303
    page = text(client.get(created.headers["Location"]))
    assert "共 0 位收件人" in page and _cell(page, "announcement-status") == "已完成"


def test_operators_and_reviewers_get_the_403_page(app, console):
    for role in ("operator", "reviewer"):
        client, _ = console(role)
        for path in (PAGE, f"{PAGE}/1"):
            response = client.get(path)
            assert response.status_code == 403 and 'data-error-code="forbidden"' in text(response)
        assert post(client, PAGE, FORM).status_code == 403
        assert 'href="/console/announcements"' not in text(client.get("/console/"))
    assert _announcements(app) == []
    admin, _ = console("admin")
    assert admin.get(f"{PAGE}/999999").status_code == 404
