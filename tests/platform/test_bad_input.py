"""No input may produce a 500: each malformed request gets a 4xx with a stable code and a
Chinese message, and the database is unchanged."""
import re

import pytest

from tests.conftest import ID_MOTHER, row_counts

CHINESE = re.compile(r"[\u4e00-\u9fff]")
LONG = "长" * 5000

JSON_BODIES = [
    ("post", "/api/v1/patients", {"name": 123, "id_type": "resident_id", "id_number": ID_MOTHER,
                                  "phone": "13912345678"}),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
                                  "phone": "13912345678", "hacker": True}),
    ("post", "/api/v1/patients", {"name": LONG, "id_type": "resident_id", "id_number": ID_MOTHER,
                                  "phone": "13912345678"}),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "resident_id",
                                  "id_number": "110101199003078510", "phone": "13912345678"}),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "alien", "id_number": ID_MOTHER,
                                  "phone": "13912345678"}),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
                                  "phone": "12345"}),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
                                  "phone": "13912345678", "birthday": "2026-13-45"}),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "passport", "id_number": "E1234567",
                                  "phone": "13912345678", "birthday": "2999-01-01",
                                  "gender": "female"}),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
                                  "phone": "13912345678", "is_insured": {"a": 1}}),
    ("post", "/api/v1/patients", {"name": None, "id_type": None, "id_number": None, "phone": None}),
    ("post", "/api/v1/patients", {}),
    ("post", "/api/v1/patients", []),
    ("post", "/api/v1/patients", "a string"),
    ("post", "/api/v1/patients", 12),
    ("post", "/api/v1/patients", {"name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER,
                                  "phone": "13912345678", "condition": LONG}),
    ("patch", "/api/v1/me", {"nickname": ["x"]}),
    ("patch", "/api/v1/me", {"nickname": "\u0000" * 40}),
    ("post", "/api/v1/me/real-name", {"name": "王芳", "id_type": "resident_id",
                                      "id_number": ID_MOTHER, "id_photo_file_id": "1"}),
    ("post", "/api/v1/me/real-name", {"name": "王芳", "id_type": "resident_id",
                                      "id_number": ID_MOTHER, "id_photo_file_id": 10**30}),
    ("post", "/api/v1/me/real-name", {"name": "王芳", "id_type": "resident_id",
                                      "id_number": ID_MOTHER, "id_photo_file_id": 999999}),
    ("post", "/api/v1/auth/wechat-login", {"code": ""}),
    ("post", "/api/v1/auth/wechat-login", {"code": "x" * 129}),
    ("post", "/api/v1/auth/wechat-login", {"code": 42}),
    ("post", "/api/v1/auth/wechat-login", {}),
    ("post", "/api/v1/auth/phone", {"code": "invalid-phone-code"}),
    ("post", "/api/v1/staff/login", {"username": "a", "password": "b", "extra": 1}),
    ("post", "/api/v1/staff/login", {"username": LONG, "password": "b"}),
]

URLS = [
    ("get", "/api/v1/patients?page=0"),
    ("get", "/api/v1/patients?page=abc"),
    ("get", "/api/v1/patients?page_size=1000"),
    ("get", "/api/v1/patients?page=99999999999999999999"),
    ("get", "/api/v1/patients/abc"),
    ("get", "/api/v1/patients/-1"),
    ("get", "/api/v1/patients/99999999999999999999999"),
    ("get", "/api/v1/patients/999999"),
    ("get", "/api/v1/patients/4294967296"),
    ("get", "/api/v1/patients/9223372036854775807"),
    ("delete", "/api/v1/patients/999999"),
    ("get", "/api/v1/files/999999"),
    ("put", "/api/v1/patients"),
    ("get", "/api/v1/nothing-here"),
    ("get", "/api/v1/me/real-name"),
]


def assert_clean_4xx(response):
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    error = response.get_json()["error"]
    assert re.fullmatch(r"[a-z_]+", error["code"])
    assert CHINESE.search(error["message"]), error


@pytest.mark.parametrize("method,path,body", JSON_BODIES)
def test_malformed_json_bodies(client, app, alice, method, path, body):
    before = row_counts(app)
    response = getattr(client, method)(path, json=body, headers=alice["headers"])
    assert_clean_4xx(response)
    assert row_counts(app) == before


@pytest.mark.parametrize("method,path", URLS)
def test_malformed_urls_and_unknown_ids(client, app, alice, method, path):
    before = row_counts(app)
    response = getattr(client, method)(path, headers=alice["headers"])
    assert_clean_4xx(response)
    assert row_counts(app) == before


@pytest.mark.parametrize("raw,content_type", [
    (b"{not json", "application/json"),
    (b'{"code": "a",}', "application/json"),
    (b"\xff\xfe\x00garbage", "application/json"),
    (b"", "application/json"),
    (b"code=abc", "application/x-www-form-urlencoded"),
    (b"<xml/>", "text/xml"),
])
def test_unparseable_bodies(client, app, alice, raw, content_type):
    before = row_counts(app)
    for path in ("/api/v1/auth/wechat-login", "/api/v1/patients"):
        response = client.post(path, data=raw, content_type=content_type, headers=alice["headers"])
        assert_clean_4xx(response)
    assert row_counts(app) == before


def test_invalid_json_has_its_own_code(client):
    response = client.post("/api/v1/auth/wechat-login", data=b"{oops", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"


def test_validation_details_are_chinese_per_field(client, alice):
    response = client.post("/api/v1/patients", json={"name": "王", "hacker": 1, "phone": "1"},
                           headers=alice["headers"])
    details = response.get_json()["error"]["details"]
    assert details["hacker"] == ["未知字段"]
    assert details["name"] == ["长度不能少于 2"] or "长度" in details["name"][0]
    assert details["phone"] == ["手机号格式不正确"]
