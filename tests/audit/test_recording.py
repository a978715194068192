"""What is recorded: one entry per staff action with who, when, where and the row changes;
nothing for users' own actions or for a rolled-back action; personal data never as values."""
import pytest
from sqlalchemy import select, update

from app.audit.listeners import REDACTED, acting_as
from app.audit.models import AuditChange, AuditEntry, AuditLogImmutable
from app.extensions import db
from app.users.models import User
from tests.audit.conftest import change_of, dump, entries, only_entry
from tests.conftest import ID_MOTHER
from tests.files.test_files import PNG, upload


def test_ban_and_unban_each_leave_one_entry_with_before_and_after(app, client, alice, operator):
    banned = client.post(f"/api/v1/staff/users/{alice['id']}/ban", headers=operator["headers"],
                         json={"reason": "恶意刷单"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert banned.status_code == 200, banned.get_json()
    entry = only_entry(app)
    assert entry["staff_id"] == operator["id"] and entry["staff_role"] == "operator"
    assert entry["source"] == "api" and entry["method"] == "POST" and entry["ip"] == "10.1.2.3"
    assert entry["action"] == f"/api/v1/staff/users/{alice['id']}/ban"
    change = change_of(entry, "users", alice["id"], "update")
    assert change["before"]["status"] == "active" and change["after"]["status"] == "banned"
    assert change["before"]["ban_reason"] is None and change["after"]["ban_reason"] == "恶意刷单"
    assert change["after"]["token_version"] == change["before"]["token_version"] + 1

    unbanned = client.post(f"/api/v1/staff/users/{alice['id']}/unban",
                           headers=operator["headers"])
    assert unbanned.status_code == 200
    found = entries(app)
    assert len(found) == 2
    change = change_of(found[1], "users", alice["id"], "update")
    assert (change["before"]["status"], change["after"]["status"]) == ("banned", "active")


def test_a_refused_staff_action_leaves_no_entry(app, client, alice, operator):
    """The service raises (409: already active) and the request rolls back: no audit row."""
    refused = client.post(f"/api/v1/staff/users/{alice['id']}/unban", headers=operator["headers"])
    assert refused.status_code == 409
    assert entries(app) == []


def test_a_rolled_back_transaction_leaves_no_entry_and_the_next_commit_one(app, alice, admin):
    with app.app_context(), acting_as(admin["id"], "test:rollback"):
        user = db.session.get(User, alice["id"])
        user.ban_reason = "临时"
        db.session.flush()
        db.session.rollback()
        user = db.session.get(User, alice["id"])
        user.nickname = "新昵称"
        db.session.commit()
        db.session.remove()
    entry = only_entry(app)
    assert entry["source"] == "job" and entry["action"] == "test:rollback"
    change = change_of(entry, "users", alice["id"])
    assert change["after"] == {"nickname": REDACTED} and "ban_reason" not in change["after"]


def test_two_commits_of_one_action_share_its_entry(app, alice, bob, admin):
    with app.app_context(), acting_as(admin["id"], "test:two-commits"):
        db.session.get(User, alice["id"]).ban_reason = "一"
        db.session.commit()
        db.session.get(User, bob["id"]).ban_reason = "二"
        db.session.commit()
        db.session.remove()
    entry = only_entry(app)
    assert {c["row_id"] for c in entry["changes"]} == {str(alice["id"]), str(bob["id"])}
    assert entry["staff_role"] == "admin"


def test_users_own_actions_leave_no_entry(app, client, alice):
    photo = upload(client, alice, PNG).get_json()["id"]
    submitted = client.post("/api/v1/me/real-name", headers=alice["headers"], json={
        "name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
        "id_photo_file_id": photo})
    assert submitted.status_code == 201
    created = client.post("/api/v1/patients", headers=alice["headers"], json={
        "name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
        "phone": "13800138000", "relation": "mother"})
    assert created.status_code in (201, 422), created.get_json()
    assert entries(app) == []


def test_real_name_decision_is_recorded_without_the_name_or_number(app, client, alice, reviewer):
    photo = upload(client, alice, PNG).get_json()["id"]
    record = client.post("/api/v1/me/real-name", headers=alice["headers"], json={
        "name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
        "id_photo_file_id": photo}).get_json()
    decided = client.post(f"/api/v1/staff/real-name-reviews/{record['id']}/decision",
                          headers=reviewer["headers"], json={"approve": True})
    assert decided.status_code == 200, decided.get_json()
    entry = only_entry(app)
    assert entry["staff_id"] == reviewer["id"] and entry["staff_role"] == "reviewer"
    review = change_of(entry, "real_name_verifications", record["id"], "update")
    assert review["before"]["status"] == "pending" and review["after"]["status"] == "verified"
    user = change_of(entry, "users", alice["id"], "update")
    assert user["after"]["real_name_status"] == "verified"
    assert user["after"]["real_name_encrypted"] == REDACTED
    text = dump(app)
    assert "王芳" not in text and ID_MOTHER not in text and ID_MOTHER[-4:] not in text


def test_bulk_update_by_staff_records_each_row_before_and_after(app, alice, bob, admin):
    with app.app_context(), acting_as(admin["id"], "test:bulk"):
        db.session.execute(update(User).where(User.id.in_([alice["id"], bob["id"]]))
                           .values(ban_reason="批量"))
        db.session.commit()
        db.session.remove()
    entry = only_entry(app)
    for user_id in (alice["id"], bob["id"]):
        change = change_of(entry, "users", user_id, "update")
        assert change["before"] == {"ban_reason": None}
        assert change["after"] == {"ban_reason": "批量"}


def test_the_orm_refuses_to_change_or_delete_audit_rows(app, client, alice, operator):
    client.post(f"/api/v1/staff/users/{alice['id']}/ban", headers=operator["headers"],
                json={"reason": "恶意刷单"})
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry))
        entry.action = "/elsewhere"
        with pytest.raises(AuditLogImmutable):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AuditLogImmutable):
            db.session.delete(db.session.scalar(select(AuditChange)))
            db.session.flush()
        db.session.rollback()
        with pytest.raises(AuditLogImmutable):
            db.session.execute(update(AuditEntry).values(action="/elsewhere"))
        db.session.rollback()
        db.session.remove()
    assert only_entry(app)["action"] == f"/api/v1/staff/users/{alice['id']}/ban"


def test_a_rolled_back_savepoint_drops_only_what_it_changed(app, alice, bob, admin):
    with app.app_context(), acting_as(admin["id"], "test:savepoints"):
        db.session.get(User, alice["id"]).ban_reason = "外层"
        savepoint = db.session.begin_nested()
        db.session.get(User, bob["id"]).ban_reason = "撤销的"
        db.session.flush()
        savepoint.rollback()
        with db.session.begin_nested():  # released: kept
            db.session.get(User, alice["id"]).status = "banned"
        db.session.commit()
        db.session.remove()
    entry = only_entry(app)
    assert [c["row_id"] for c in entry["changes"]] == [str(alice["id"])]
    change = entry["changes"][0]
    assert change["after"] == {"ban_reason": "外层", "status": "banned"}
    assert change["before"] == {"ban_reason": None, "status": "active"}


def test_a_row_changed_and_changed_back_in_one_action_shows_no_change(app, alice, admin):
    with app.app_context(), acting_as(admin["id"], "test:back-and-forth"):
        user = db.session.get(User, alice["id"])
        user.ban_reason = "临时"
        db.session.flush()
        user.ban_reason = None
        db.session.flush()
        user.status = "banned"
        db.session.commit()
        db.session.remove()
    change = only_entry(app)["changes"][0]
    assert change["before"] == {"status": "active"} and change["after"] == {"status": "banned"}


def test_an_attribute_set_on_an_expired_row_still_shows_its_old_value(app, alice, admin):
    """After a commit the row is expired; setting it without reading records the value the
    database held (read before the flush)."""
    with app.app_context(), acting_as(admin["id"], "test:expired"):
        user = db.session.get(User, alice["id"])
        db.session.commit()  # expires user
        user.ban_reason = "不读先写"
        db.session.commit()
        db.session.remove()
    change = only_entry(app)["changes"][0]
    assert change["before"] == {"ban_reason": None}
    assert change["after"] == {"ban_reason": "不读先写"}
