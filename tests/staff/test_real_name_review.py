"""Real-name review of an ID number already verified on another account."""
import threading

import requests

from app.extensions import db
from app.staff.services import create_staff
from tests.conftest import ID_MOTHER, auth, login
from tests.files.test_files import PNG, upload

PASSWORD = "correct-horse-battery"


def test_two_reviewers_approving_one_number_for_two_accounts_verify_only_one(app, client):
    """Both submissions are pending (neither account verified yet); two reviewers approve them
    at the same moment through the live server: one is verified, the other rejected with the
    reason, every round."""
    reviewers = []
    for name in ("r1", "r2"):
        with app.app_context():
            create_staff(name, PASSWORD, "reviewer")
            db.session.remove()
        token = client.post("/api/v1/staff/login", json={"username": name, "password": PASSWORD},
                            environ_base={"REMOTE_ADDR": f"10.9.9.{len(reviewers)}"})
        reviewers.append(auth(token.get_json()["token"]))
    for round_ in range(3):
        record_ids = []
        for person in ("a", "b"):
            data = login(client, f"wx-code-race-{round_}-{person}")
            user = {"headers": auth(data["token"])}
            photo = upload(client, user, PNG).get_json()["id"]
            submitted = client.post("/api/v1/me/real-name", headers=user["headers"], json={
                "name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
                "id_photo_file_id": photo})
            assert submitted.status_code == 201
            record_ids.append(submitted.get_json()["id"])
        barrier = threading.Barrier(2)
        outcomes = []

        def approve(record_id, headers):
            barrier.wait()
            response = requests.post(
                f"{app.config['LIVE_URL']}/api/v1/staff/real-name-reviews/{record_id}/decision",
                json={"approve": True}, headers=headers, timeout=60)
            outcomes.append((response.status_code, response.json()["status"],
                             response.json()["reject_reason"]))

        threads = [threading.Thread(target=approve, args=pair)
                   for pair in zip(record_ids, reviewers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == [(200, "rejected", "该证件已被其他账号实名认证"),
                                    (200, "verified", None)], outcomes
        # the next round's number must be free again: retire this one
        with app.app_context():
            from app.users.models import RealNameVerification
            db.session.query(RealNameVerification).delete()
            db.session.commit()
            db.session.remove()
