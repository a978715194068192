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


# --- hostile JSON on every JSON route -------------------------------------------------------
# Every route in the URL map whose arguments are read from a JSON body gets a body nested
# 100,000 deep, a 5,000-digit integer and lone surrogates in every string field. Each must be
# refused by the parser (the same answer on every route, before any service runs), without
# a write and without a traceback in the log.
DEEP = b"[" * 100_000 + b"]" * 100_000
HUGE_INTEGER = b'{"x": ' + b"9" * 5000 + b"}"
SURROGATE = "\ud800"


def json_routes(app):
    """(method, url, schema) of every operation that reads a JSON body, ids filled with 1."""
    routes = []
    for rule in app.url_map.iter_rules():
        apidoc = getattr(app.view_functions[rule.endpoint], "_apidoc", {})
        schemas = [p["schema"] for p in (apidoc.get("arguments") or {}).get("parameters", [])
                   if p.get("in") == "json"]
        if not schemas:
            continue
        url = rule.build({name: 1 for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method.lower(), url, schemas[0]))
    return routes


def surrogate_body(schema_class):
    """Every string field of the schema holds a lone surrogate (sent as the JSON escape)."""
    from marshmallow import fields

    names = [field.data_key or name for name, field in schema_class().load_fields.items()
             if isinstance(field, fields.String)]
    return {name: f"ok{SURROGATE}" for name in names or ["x"]}, names or ["x"]


def test_the_url_map_has_json_routes_to_check(app):
    routes = {(method, url) for method, url, _ in json_routes(app)}
    # the ones the issue named, so a change to the route discovery cannot empty the list
    for expected in [("post", "/api/v1/auth/wechat-login"), ("post", "/api/v1/staff/login"),
                     ("patch", "/api/v1/me"), ("post", "/api/v1/patients"),
                     ("patch", "/api/v1/patients/1"), ("post", "/api/v1/staff/users/1/ban"),
                     ("post", "/api/v1/staff/schedules/1/stop")]:
        assert expected in routes


def send(client, method, url, raw, headers=None):
    return getattr(client, method)(url, data=raw, content_type="application/json",
                                   headers=headers or {})


def authorised_headers(client, method, url, alice, admin):
    """The user's token, or the admin's where the route is for staff (the guard runs first)."""
    probe = send(client, method, url, b"{}", alice["headers"])
    return admin["headers"] if probe.status_code in (401, 403) else alice["headers"]


def test_hostile_json_on_every_json_route(client, app, alice, staff_factory, capsys):
    import json

    admin = staff_factory("admin")
    routes = json_routes(app)
    capsys.readouterr()
    before = row_counts(app)
    for method, url, schema_class in routes:
        body, string_fields = surrogate_body(schema_class)
        surrogate_raw = json.dumps(body).encode()  # ensure_ascii: "\ud800" travels as an escape
        assert b"\\ud800" in surrogate_raw
        for headers in ({}, authorised_headers(client, method, url, alice, admin)):
            for raw in (DEEP, HUGE_INTEGER, surrogate_raw):
                response = send(client, method, url, raw, headers)
                assert_clean_4xx(response)
                if not headers:
                    continue
                error = response.get_json()["error"]
                where = (method, url, raw[:20])
                if raw is DEEP:
                    assert (response.status_code, error["code"]) == (400, "invalid_json"), where
                    assert error["message"] == "请求体嵌套层级过深"
                elif raw is HUGE_INTEGER:
                    assert (response.status_code, error["code"]) == (422, "validation_error"), where
                    assert error["details"] == {"x": ["数值过大"]}, where
                else:
                    assert (response.status_code, error["code"]) == (422, "validation_error"), where
                    assert error["details"] == {name: ["包含无法识别的字符"]
                                                for name in string_fields}, where
    assert row_counts(app) == before
    log = capsys.readouterr().err
    assert "Traceback" not in log and '"exc"' not in log and '"level": "ERROR"' not in log


@pytest.mark.parametrize("method,path,field", [
    ("post", "/api/v1/auth/wechat-login", "code"),
    ("patch", "/api/v1/me", "nickname"),
    ("post", "/api/v1/patients", "name"),
    ("post", "/api/v1/patients", "contact_name"),
    ("post", "/api/v1/staff/login", "username"),
    ("post", "/api/v1/staff/login", "password"),
])
def test_a_lone_surrogate_in_a_named_field_is_a_field_error(client, app, alice, method, path,
                                                            field):
    """The issue's route/field pairs, with everything else in the body valid."""
    import json

    bodies = {"/api/v1/auth/wechat-login": {"code": "wx-code-carol"},
              "/api/v1/me": {"nickname": "小明"},
              "/api/v1/patients": {"name": "王芳", "id_type": "resident_id",
                                   "id_number": ID_MOTHER, "phone": "13912345678",
                                   "contact_name": "王强"},
              "/api/v1/staff/login": {"username": "nobody", "password": "whatever-it-is"}}
    body = dict(bodies[path])
    body[field] = body[field][:1] + SURROGATE + body[field][1:]
    before = row_counts(app)
    response = send(client, method, path, json.dumps(body).encode(), alice["headers"])
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["details"] == {field: ["包含无法识别的字符"]}
    assert row_counts(app) == before


def test_a_surrogate_in_a_key_and_deep_within_limits(client, app, alice):
    response = send(client, "post", "/api/v1/patients", b'{"\\udc00": 1}', alice["headers"])
    assert response.status_code == 422
    assert response.get_json()["error"]["details"] == {"\ufffd": ["包含无法识别的字符"]}
    # nesting the parser accepts still reaches the schema (which refuses the shape)
    response = send(client, "post", "/api/v1/patients", b'{"name": [[[["x"]]]]}',
                    alice["headers"])
    assert response.status_code == 422 and "name" in response.get_json()["error"]["details"]
    # 33 levels are refused by the walk, not by Python's recursion limit
    response = send(client, "post", "/api/v1/patients", b"[" * 34 + b"]" * 34, alice["headers"])
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("raw", [b'{"x": NaN}', b'{"x": Infinity}', b'{"x": 1e999}',
                                 b'{"x": -99999999999999999999}'])
def test_numbers_json_does_not_have_or_no_column_holds(client, alice, raw):
    response = send(client, "patch", "/api/v1/me", raw, alice["headers"])
    assert 400 <= response.status_code < 500
    assert response.get_json()["error"]["code"] in ("invalid_json", "validation_error")


@pytest.mark.parametrize("raw,content_type", [
    (b"nickname=x", "application/x-www-form-urlencoded"),
    (b'{"nickname": "x"}', "text/plain"),
    (b'{"nickname": "x"}', None),
])
def test_a_body_that_is_not_json_is_415(client, app, alice, raw, content_type):
    for method, path in (("patch", "/api/v1/me"), ("post", "/api/v1/patients"),
                         ("patch", "/api/v1/patients/1")):
        before = row_counts(app)
        response = getattr(client, method)(path, data=raw, content_type=content_type,
                                           headers=alice["headers"])
        assert response.status_code == 415, (method, path, response.get_json())
        assert response.get_json()["error"]["code"] == "unsupported_media_type"
        assert row_counts(app) == before
    me = client.get("/api/v1/me", headers=alice["headers"]).get_json()
    assert me["nickname"] != "x"


@pytest.mark.parametrize("path", ["/wechat/pay/notify", "/wechat/pay/refund-notify"])
def test_hostile_bodies_on_the_pay_webhooks(client, app, path, capsys):
    """The webhooks read their JSON themselves, after the signature check: refused unread."""
    import json

    capsys.readouterr()
    before = row_counts(app)
    for raw in (DEEP, HUGE_INTEGER, json.dumps({"id": SURROGATE}).encode()):
        response = client.post(path, data=raw, content_type="application/json")
        assert 400 <= response.status_code < 500
    assert row_counts(app) == before
    log = capsys.readouterr().err
    assert "Traceback" not in log and '"exc"' not in log


@pytest.mark.parametrize("url", ["/api/v1/hospitals?keyword=%ED%A0%80",
                                 "/api/v1/patients?page=%ED%A0%80", "/api/v1/patients/%ED%A0%80"])
def test_undecodable_bytes_in_the_url_are_not_a_500(client, alice, url):
    response = client.get(url, headers=alice["headers"])
    assert response.status_code < 500


def test_four_byte_characters_are_stored_and_read_back(client, app, alice):
    """Emoji and CJK Extension B are valid UTF-8 (4 bytes): stored on both backends (MariaDB
    needs utf8mb4 for them), not refused."""
    nickname = "小明😀𠀀"
    response = client.patch("/api/v1/me", json={"nickname": nickname}, headers=alice["headers"])
    assert response.status_code == 200, response.get_json()
    assert client.get("/api/v1/me", headers=alice["headers"]).get_json()["nickname"] == nickname
