import io

import pytest

from tests.browser.test_console import browser, screenshot_dir  # noqa: F401  (fixtures)
from tests.console.conftest import console  # noqa: F401  (fixture)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def upload(client, user, data=PNG, purpose="board_image"):
    response = client.post("/api/v1/files", headers=user["headers"],
                           content_type="multipart/form-data",
                           data={"purpose": purpose, "file": (io.BytesIO(data), "photo.png")})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def post(client, user, *, section="experience", title="挂号经验分享", body="提前一周预约比较容易",
         image_ids=(), status=201):
    response = client.post("/api/v1/board/posts", headers=user["headers"], json={
        "section": section, "title": title, "body": body, "image_ids": list(image_ids)})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def reply(client, user, post_id, body="谢谢分享", status=201):
    response = client.post(f"/api/v1/board/posts/{post_id}/replies", headers=user["headers"],
                           json={"body": body})
    assert response.status_code == status, response.get_json()
    return response.get_json()


@pytest.fixture
def carol(client):
    from tests.conftest import auth, login
    data = login(client, "wx-code-carol")
    return {"token": data["token"], "id": data["user"]["id"], "headers": auth(data["token"])}


@pytest.fixture
def operator(staff_factory):
    return staff_factory("operator")


@pytest.fixture
def rate_limit(app):
    """Set one of the board's limits for a test, and put the default back after."""
    saved = {}

    def set_limit(key, value):
        saved.setdefault(key, app.config[key])
        app.config[key] = value

    yield set_limit
    app.config.update(saved)
