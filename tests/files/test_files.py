import io

from tests.conftest import row_counts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 64


def upload(client, user, data, name="photo.png", purpose="id_photo"):
    return client.post("/api/v1/files", headers=user["headers"], content_type="multipart/form-data",
                       data={"purpose": purpose, "file": (io.BytesIO(data), name)})


def test_upload_sniffs_content_not_name(client, alice):
    for data, declared_name, expected in ((PNG, "x.pdf", "image/png"), (JPEG, "x.png", "image/jpeg"),
                                          (PDF, "x.jpg", "application/pdf")):
        response = upload(client, alice, data, declared_name)
        assert response.status_code == 201, response.get_json()
        assert response.get_json()["content_type"] == expected
        assert response.get_json()["size_bytes"] == len(data)


def test_other_types_and_empty_files_are_refused_and_nothing_stored(client, app, alice):
    before = row_counts(app)
    for data, code, status in ((b"GIF89a" + b"\x00" * 20, "unsupported_file_type", 415),
                               (b"<html><script>", "unsupported_file_type", 415),
                               (b"", "file_empty", 400)):
        response = upload(client, alice, data, "evil.png")
        assert response.status_code == status
        assert response.get_json()["error"]["code"] == code
    missing = client.post("/api/v1/files", headers=alice["headers"],
                          content_type="multipart/form-data", data={"purpose": "id_photo"})
    assert missing.status_code == 400 and missing.get_json()["error"]["code"] == "file_missing"
    bad_purpose = upload(client, alice, PNG, purpose="anything")
    assert bad_purpose.status_code == 422
    assert row_counts(app) == before


def test_size_limit_answers_413(client, app, alice):
    limit = app.config["UPLOAD_MAX_BYTES"]
    just_over = upload(client, alice, PNG + b"\x00" * (limit - len(PNG) + 1))
    assert just_over.status_code == 413
    assert just_over.get_json()["error"]["code"] == "file_too_large"
    far_over = upload(client, alice, PNG + b"\x00" * (limit * 2))
    assert far_over.status_code == 413
    assert far_over.get_json()["error"]["code"] == "payload_too_large"
    at_limit = upload(client, alice, PNG + b"\x00" * (limit - len(PNG)))
    assert at_limit.status_code == 201


def test_download_only_by_owner_or_staff(client, alice, bob, staff_factory):
    file_id = upload(client, alice, PNG).get_json()["id"]
    mine = client.get(f"/api/v1/files/{file_id}", headers=alice["headers"])
    assert mine.status_code == 200 and mine.data == PNG and mine.mimetype == "image/png"
    assert mine.headers["X-Content-Type-Options"] == "nosniff"
    theirs = client.get(f"/api/v1/files/{file_id}", headers=bob["headers"])
    assert theirs.status_code == 404 and theirs.get_json()["error"]["code"] == "file_not_found"
    assert client.get(f"/api/v1/files/{file_id}").status_code == 401
    reviewer = staff_factory("reviewer")
    assert client.get(f"/api/v1/files/{file_id}", headers=reviewer["headers"]).data == PNG
    operator = staff_factory("operator")
    assert client.get(f"/api/v1/files/{file_id}", headers=operator["headers"]).status_code == 404
    assert client.get(f"/api/v1/files/{file_id + 1000}", headers=alice["headers"]).status_code == 404
