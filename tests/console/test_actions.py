"""Each console page shows what its service returns, and each action changes state through the
service (its rules included: reasons, required documents, bans revoking tokens)."""
from app.caregivers.models import Caregiver
from app.extensions import db
from app.qualifications.models import Qualification, QualificationFile
from app.users.models import RealNameVerification, User
from tests.caregivers.conftest import add_qualifications
from tests.console.conftest import post, real_name_submission, row, text
from tests.conftest import make_caregiver
from tests.files.test_files import PDF, PNG, upload


def test_the_dashboard_counts_what_waits(app, client, console, alice):
    real_name_submission(client)
    make_caregiver(app, status="pending_review")
    make_caregiver(app, status="approved")
    pending_caregiver = make_caregiver(app, status="pending_review")
    add_qualifications(app, pending_caregiver, status="pending")  # two documents
    reviewer, _ = console("reviewer")
    page = text(reviewer.get("/console/"))
    for key, count in {"real_name": 1, "caregivers": 2, "caregiver_revisions": 0,
                       "qualifications": 2}.items():
        assert f'id="pending-{key}">{count}<' in page, key
    # a reviewer's 待办 is the reviewer's, as on the official account: no operator queues
    assert 'id="pending-disputes"' not in page and 'id="pending-failed_refunds"' not in page
    assert 'id="today-registrations">0<' in page and "¥0.00" in page


def test_real_name_approve_and_reject_with_a_reason(app, client, console):
    first = real_name_submission(client, "wx-code-carol")
    reviewer, staff_id = console("reviewer")
    queue = text(reviewer.get("/console/real-name"))
    assert f'id="real-name-{first["record_id"]}"' in queue
    assert "王芳" in queue and "310104" not in queue  # the number stays masked
    # the ID photo through the files service's staff check
    photo = reviewer.get(f"/console/files/{first['photo']}")
    assert photo.status_code == 200 and photo.data == PNG and photo.mimetype == "image/png"
    assert reviewer.get("/console/files/999999").status_code == 404

    no_reason = post(reviewer, f"/console/real-name/{first['record_id']}",
                     {"decision": "reject"}, page="/console/real-name")
    assert no_reason.status_code == 422 and "驳回时请填写原因" in text(no_reason)
    assert row(app, RealNameVerification, first["record_id"])["status"] == "pending"
    assert post(reviewer, f"/console/real-name/{first['record_id']}", {"decision": "maybe"},
                page="/console/real-name").status_code == 422

    rejected = post(reviewer, f"/console/real-name/{first['record_id']}",
                    {"decision": "reject", "reason": "照片不清晰"}, page="/console/real-name")
    assert rejected.status_code == 303
    record = row(app, RealNameVerification, first["record_id"])
    assert (record["status"], record["reject_reason"], record["reviewed_by_staff_id"]) == (
        "rejected", "照片不清晰", staff_id)
    assert "已驳回" in text(reviewer.get(rejected.headers["Location"]))

    second = real_name_submission(client, "wx-code-dave")
    approved = post(reviewer, f"/console/real-name/{second['record_id']}",
                    {"decision": "approve"}, page="/console/real-name")
    assert approved.status_code == 303
    assert row(app, RealNameVerification, second["record_id"])["status"] == "verified"
    assert row(app, User, second["id"])["real_name_status"] == "verified"
    # decided once: a second decision is the service's conflict, shown as a page
    again = post(reviewer, f"/console/real-name/{second['record_id']}",
                 {"decision": "approve"}, page="/console/real-name")
    assert again.status_code == 409


def test_caregiver_approve_needs_documents_and_reject_needs_a_reason(app, console):
    caregiver_id = make_caregiver(app, status="pending_review", name="李秀兰")
    reviewer, staff_id = console("reviewer")
    assert f'id="caregiver-{caregiver_id}"' in text(reviewer.get("/console/caregivers"))
    detail = text(reviewer.get(f"/console/caregivers/{caregiver_id}"))
    assert "李秀兰" in detail and "缺少已通过的必备证件" in detail

    missing = post(reviewer, f"/console/caregivers/{caregiver_id}", {"decision": "approve"})
    assert missing.status_code == 409
    assert row(app, Caregiver, caregiver_id)["status"] == "pending_review"
    no_reason = post(reviewer, f"/console/caregivers/{caregiver_id}", {"decision": "reject"})
    assert no_reason.status_code == 422
    too_short = post(reviewer, f"/console/caregivers/{caregiver_id}",
                     {"decision": "reject", "reason": "差"})
    assert too_short.status_code == 422
    assert row(app, Caregiver, caregiver_id)["status"] == "pending_review"

    add_qualifications(app, caregiver_id)
    approved = post(reviewer, f"/console/caregivers/{caregiver_id}", {"decision": "approve"})
    assert approved.status_code == 303
    caregiver = row(app, Caregiver, caregiver_id)
    assert (caregiver["status"], caregiver["reviewed_by_staff_id"]) == ("approved", staff_id)
    assert "李秀兰:已通过" in text(reviewer.get(approved.headers["Location"]))

    other = make_caregiver(app, status="pending_review")
    rejected = post(reviewer, f"/console/caregivers/{other}",
                    {"decision": "reject", "reason": "资料不完整"})
    assert rejected.status_code == 303
    assert (row(app, Caregiver, other)["status"], row(app, Caregiver, other)["reject_reason"]) \
        == ("rejected", "资料不完整")
    assert reviewer.get("/console/caregivers/999999").status_code == 404


def _qualification_with_files(app, client, caregiver_id, owner) -> tuple[int, list[int]]:
    files = [upload(client, owner, PNG, purpose="attachment").get_json()["id"],
             upload(client, owner, PDF, "c.pdf", purpose="attachment").get_json()["id"]]
    [qualification_id] = add_qualifications(app, caregiver_id, status="pending",
                                            kinds=("health_certificate",))
    with app.app_context():
        db.session.add_all(QualificationFile(qualification_id=qualification_id, file_id=f)
                           for f in files)
        db.session.commit()
        db.session.remove()
    return qualification_id, files


def test_qualification_review_with_file_previews(app, client, console, alice):
    caregiver_id = make_caregiver(app, user_id=alice["id"], status="approved", name="王秀英")
    qualification_id, (png, pdf) = _qualification_with_files(app, client, caregiver_id, alice)
    reviewer, staff_id = console("reviewer")
    assert f'id="qualification-{qualification_id}"' in text(reviewer.get("/console/qualifications"))
    detail = text(reviewer.get(f"/console/qualifications/{qualification_id}"))
    assert f'<img src="/console/files/{png}"' in detail
    assert f'href="/console/files/{pdf}"' in detail and "PDF" in detail
    assert reviewer.get(f"/console/files/{pdf}").mimetype == "application/pdf"

    rejected = post(reviewer, f"/console/qualifications/{qualification_id}",
                    {"decision": "reject", "reason": "证件已模糊"})
    assert rejected.status_code == 303
    qualification = row(app, Qualification, qualification_id)
    assert (qualification["status"], qualification["reject_reason"],
            qualification["reviewed_by_staff_id"]) == ("rejected", "证件已模糊", staff_id)

    second, _ = _qualification_with_files(app, client, caregiver_id, alice)
    assert post(reviewer, f"/console/qualifications/{second}",
                {"decision": "approve"}).status_code == 303
    assert row(app, Qualification, second)["status"] == "approved"


def test_users_search_ban_and_unban(app, client, console, alice, bob):
    with app.app_context():
        db.session.get(User, alice["id"]).phone = "13812345678"
        db.session.get(User, bob["id"]).nickname = "小明"
        db.session.commit()
        db.session.remove()
    operator, _ = console("operator")
    by_phone = text(operator.get("/console/users?q=13812345678"))
    assert f'id="user-{alice["id"]}"' in by_phone and f'id="user-{bob["id"]}"' not in by_phone
    assert "138****5678" in by_phone and "13812345678" not in by_phone.replace(
        'value="13812345678"', "")
    by_name = text(operator.get("/console/users?q=小明"))
    assert f'id="user-{bob["id"]}"' in by_name and f'id="user-{alice["id"]}"' not in by_name
    by_id = text(operator.get(f"/console/users?q={alice['id']}"))
    assert f'id="user-{alice["id"]}"' in by_id
    for odd in ("9" * 40, "²", "١٢٣", "%", "\\"):
        assert operator.get("/console/users", query_string={"q": odd}).status_code == 200, odd

    no_reason = post(operator, f"/console/users/{alice['id']}/ban", {"reason": " "},
                     page="/console/users")
    assert no_reason.status_code == 422
    assert row(app, User, alice["id"])["status"] == "active"

    banned = post(operator, f"/console/users/{alice['id']}/ban", {"reason": "恶意刷单"},
                  page="/console/users")
    assert banned.status_code == 303
    user = row(app, User, alice["id"])
    assert (user["status"], user["ban_reason"]) == ("banned", "恶意刷单")
    # the ban is the service's: alice's token is refused, with the reason
    refused = client.get("/api/v1/me", headers=alice["headers"])
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "account_banned"
    assert post(operator, f"/console/users/{alice['id']}/ban", {"reason": "再次封禁"},
                page="/console/users").status_code == 409

    unbanned = post(operator, f"/console/users/{alice['id']}/unban", page="/console/users")
    assert unbanned.status_code == 303
    assert row(app, User, alice["id"])["status"] == "active"
    assert post(operator, "/console/users/999999/unban",
                page="/console/users").status_code == 404
