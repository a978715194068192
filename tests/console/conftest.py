"""Helpers for the console tests: sign in the way a browser does (the page's CSRF token, then
the form), and rows the console only reads."""
import re

import pytest

from app.extensions import db
from tests.conftest import ID_MOTHER
from tests.files.test_files import PNG, upload

PASSWORD = "correct-horse-battery"  # what staff_factory gives every account
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path="/console/login") -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return TOKEN.search(page.get_data(as_text=True)).group(1)


def sign_in(client, username, password=PASSWORD):
    return client.post("/console/login", data={"username": username, "password": password,
                                                "csrf_token": csrf(client)})


def post(client, path, data=None, page="/console/"):
    """A form POST with the token the console's pages carry."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, page)})


@pytest.fixture
def console(app, staff_factory):
    """console(role) → (client signed in as a new staff member of `role`, staff id)."""
    def make(role="admin"):
        username = f"c-{role}-{len(clients)}"
        staff = staff_factory(role, username=username)
        client = app.test_client()
        signed_in = sign_in(client, username)
        assert signed_in.status_code == 303, signed_in.get_data(as_text=True)
        clients.append(client)
        return client, staff["id"]

    clients = []
    return make


def text(response) -> str:
    return response.get_data(as_text=True)


def real_name_submission(client, code="wx-code-carol") -> dict:
    """A user's pending real-name submission, through the API."""
    from tests.conftest import auth, login

    data = login(client, code)
    user = {"id": data["user"]["id"], "headers": auth(data["token"])}
    photo = upload(client, user, PNG).get_json()["id"]
    submitted = client.post("/api/v1/me/real-name", headers=user["headers"], json={
        "name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
        "id_photo_file_id": photo})
    assert submitted.status_code == 201, submitted.get_json()
    return {**user, "record_id": submitted.get_json()["id"], "photo": photo}


def row(app, model, row_id):
    with app.app_context():
        found = db.session.get(model, row_id)
        values = {c.key: getattr(found, c.key) for c in model.__mapper__.column_attrs}
        db.session.remove()
    return values


# the care-order world the dispute tests use (a hospital, caregivers and families with tokens)
from tests.care_orders.conftest import care_world  # noqa: E402,F401
# a hospital, a department, a doctor and `schedule(...)` (the booking tests' catalogue)
from tests.booking.conftest import catalogue, verified  # noqa: E402,F401
