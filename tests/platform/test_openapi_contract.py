"""The OpenAPI document is the contract: /api/openapi.json must say what the server does.

Shape checks over the whole document (so a new endpoint or field that breaks the rules fails
here), behaviour checks that compare the document with real answers, a throwaway domain that
gets security and errors for free, and regressions for what schemathesis found
(scripts/contract_check.py runs schemathesis itself in CI).
"""
import re
import io

import pytest
from flask import Flask
from flask_smorest import Api

from app.common.api import Blueprint
from app.common.auth import login_required, staff_required
from app.common.openapi import init_openapi
from app.common.validation import BaseSchema
from app.errors import Conflict, NotFound
from tests.conftest import ID_ALICE, ID_MOTHER

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/api/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def error_codes(operation, status):
    schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
    return set(schema["properties"]["error"]["properties"]["code"]["enum"])


# ---- the document's shape ----------------------------------------------------------------------

def test_every_error_response_is_the_envelope_with_its_codes(spec):
    for path, method, operation in operations(spec):
        responses = operation["responses"]
        assert "default" not in responses, (method, path)
        assert any(status.startswith("2") for status in responses), (method, path)
        assert error_codes(operation, 500) == {"internal_error"}, (method, path)
        for status, response in responses.items():
            if not status.startswith(("4", "5")):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema["required"] == ["error"], (method, path, status)
            error = schema["properties"]["error"]
            assert set(error["required"]) == {"code", "message", "details", "request_id"}
            assert error["properties"]["code"]["enum"], (method, path, status)


def test_secured_operations_match_the_guards_and_document_401_403(app, spec):
    secured = {(path, method) for path, method, op in operations(spec) if op.get("security")}
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"]}
    guarded = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "auth_requirement", None):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                guarded.add((path, method.lower()))
    assert secured == guarded
    for path, method, operation in operations(spec):
        if (path, method) in secured:
            assert operation["security"] == [{"bearerAuth": []}]
            assert {"unauthorized", "token_invalid", "token_expired"} <= error_codes(operation, 401)
            assert "account_banned" in error_codes(operation, 403)
            if path.startswith("/api/v1/staff/"):
                assert "forbidden" in error_codes(operation, 403), path
        else:
            assert "401" not in operation["responses"] or path == "/api/v1/staff/login", path


def test_every_field_is_typed_and_every_output_field_required(spec):
    def typed(schema):
        return any(key in schema for key in ("type", "$ref", "allOf", "anyOf", "oneOf"))

    for name, schema in spec["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            assert typed(prop), f"{name}.{field} has no type: {prop}"
            if prop.get("type") == "array":
                assert typed(prop["items"]), f"{name}.{field} items have no type"
    outputs = set()
    for _, _, operation in operations(spec):
        for status, response in operation["responses"].items():
            ref = response.get("content", {}).get("application/json", {}).get("schema", {})
            if status.startswith("2") and "$ref" in ref:
                outputs.add(ref["$ref"].rsplit("/", 1)[1])
    assert {"Registration", "Payment", "User", "Patient", "RegistrationPage"} <= outputs
    for name in outputs:
        schema = spec["components"]["schemas"][name]
        assert set(schema["required"]) == set(schema["properties"]), name


def test_nullable_fields_and_enums(spec):
    from app.booking.models import STATUS_NAMES
    from app.payments.models import PAYMENT_STATUSES

    schemas = spec["components"]["schemas"]
    registration = schemas["Registration"]["properties"]
    assert registration["status"]["enum"] == list(STATUS_NAMES)
    assert registration["paid_at"]["nullable"] is True
    assert registration["visit_number"]["nullable"] is True
    assert "nullable" not in registration["order_no"]
    assert schemas["Payment"]["properties"]["status"]["enum"] == list(PAYMENT_STATUSES)
    assert schemas["Payment"]["properties"]["order_type"]["enum"] == ["care_order", "registration"]
    assert schemas["User"]["properties"]["nickname"]["nullable"] is True
    # a nullable nested object is "that object or null", never "any object"
    payment = schemas["BookingResult"]["properties"]["payment"]
    assert payment == {"allOf": [{"$ref": "#/components/schemas/Payment"}], "nullable": True}
    create = schemas["PatientCreate"]
    assert {"name", "id_type", "id_number", "phone"} <= set(create["required"])
    assert "required" not in schemas["PatientUpdate"]


def test_upload_is_multipart_with_its_file_and_download_is_binary(spec):
    upload = spec["paths"]["/api/v1/files"]["post"]
    content = upload["requestBody"]["content"]
    assert list(content) == ["multipart/form-data"]
    form = resolve(spec, content["multipart/form-data"]["schema"])
    assert form["properties"]["file"] == {**form["properties"]["file"], "type": "string",
                                          "format": "binary"}
    assert set(form["required"]) == {"file", "purpose"}
    assert {"file_missing", "file_empty"} == error_codes(upload, 400)
    assert "rate_limited" in error_codes(upload, 429)
    download = spec["paths"]["/api/v1/files/{file_id}"]["get"]["responses"]["200"]["content"]
    assert set(download) == {"image/jpeg", "image/png", "application/pdf"}
    assert all(c["schema"] == {"type": "string", "format": "binary"} for c in download.values())


def test_business_codes_are_declared_where_they_are_raised(spec):
    book = spec["paths"]["/api/v1/registrations"]["post"]
    assert {"slot_sold_out", "already_booked", "not_released"} <= error_codes(book, 409)
    assert {"real_name_required", "booking_blocked"} <= error_codes(book, 403)
    assert {"patient_not_found", "schedule_not_found"} <= error_codes(book, 404)
    prepay = spec["paths"]["/api/v1/payments/prepay"]["post"]
    assert {"order_not_payable", "payment_expired", "order_already_paid"} <= error_codes(
        prepay, 409)
    assert "wechatpay_unavailable" in error_codes(prepay, 503)


# ---- the document against real answers ---------------------------------------------------------

def _matches(spec, operation, response):
    """The answer's status is documented and an error body carries a documented code."""
    status = str(response.status_code)
    assert status in operation["responses"], (status, response.get_json())
    if response.status_code >= 400:
        body = response.get_json()
        assert set(body) == {"error"} and set(body["error"]) == {
            "code", "message", "details", "request_id"}
        assert body["error"]["code"] in error_codes(operation, status), body


def test_without_a_token_secured_operations_answer_401_and_public_ones_do_not(client, spec):
    for path, method, operation in operations(spec):
        url = path.replace("{", "").replace("}", "")
        url = "/".join("1" if part.endswith("_id") or part == "index" else part
                       for part in url.split("/"))
        response = client.open(url, method=method.upper(), json={} if method != "get" else None)
        if operation.get("security"):
            assert response.status_code == 401, (method, path)
        else:
            assert response.status_code != 401 or path == "/api/v1/staff/login", (method, path)
        _matches(spec, operation, response)


def test_answers_match_the_document(client, spec, alice, staff_factory):
    staff = staff_factory("operator")
    paths = spec["paths"]
    created = client.post("/api/v1/patients", headers=alice["headers"], json={
        "name": "王芳", "id_type": "resident_id", "id_number": ID_MOTHER, "phone": "13912345678"})
    _matches(spec, paths["/api/v1/patients"]["post"], created)
    _matches(spec, paths["/api/v1/patients"]["post"], client.post(
        "/api/v1/patients", headers=alice["headers"], data="{", content_type="application/json"))
    _matches(spec, paths["/api/v1/patients"]["post"], client.post(
        "/api/v1/patients", headers=alice["headers"], json={"name": 1}))
    _matches(spec, paths["/api/v1/patients/{patient_id}"]["get"], client.get(
        "/api/v1/patients/999", headers=alice["headers"]))
    _matches(spec, paths["/api/v1/me"]["get"], client.get("/api/v1/me", headers=alice["headers"]))
    _matches(spec, paths["/api/v1/staff/users/{user_id}/ban"]["post"], client.post(
        f"/api/v1/staff/users/{alice['id']}/ban", headers=alice["headers"], json={}))
    _matches(spec, paths["/api/v1/registrations"]["post"], client.post(
        "/api/v1/registrations", headers=alice["headers"],
        json={"schedule_id": 1, "patient_id": created.get_json()["id"]}))
    _matches(spec, paths["/api/v1/files"]["post"], client.post(
        "/api/v1/files", headers=alice["headers"], content_type="multipart/form-data",
        data={"purpose": "id_photo"}))
    _matches(spec, paths["/api/v1/files"]["post"], client.post(
        "/api/v1/files", headers=staff["headers"], content_type="multipart/form-data",
        data={"purpose": "id_photo", "file": (io.BytesIO(b"GIF89a"), "x.gif")}))


# ---- new domains get the contract for free -----------------------------------------------------

class _ThingSchema(BaseSchema):
    from marshmallow import fields as _f
    id = _f.Integer()
    note = _f.String(allow_none=True)


class _ThingNotFound(NotFound):
    code = "thing_not_found"
    message = "东西不存在"


def test_a_new_domain_is_documented_without_extra_work(app):
    blp = Blueprint("things", __name__, url_prefix="/api/v1/things", description="新领域")

    @blp.get("/<int:thing_id>")
    @login_required
    @blp.errors(_ThingNotFound, (Conflict, "thing_busy"))
    @blp.response(200, _ThingSchema)
    def get_thing(thing_id):
        """一件东西"""

    @blp.post("/<int:thing_id>/approve")
    @staff_required("reviewer")
    @blp.response(200, _ThingSchema)
    def approve_thing(thing_id):
        """审核"""

    throwaway = Flask("things")
    throwaway.config.update(API_TITLE="t", API_VERSION="1", OPENAPI_VERSION="3.0.3",
                            OPENAPI_URL_PREFIX="/api", OPENAPI_JSON_PATH="openapi.json")
    api = Api()
    init_openapi(throwaway, api)
    api.register_blueprint(blp)
    document = api.spec.to_dict()
    get = document["paths"]["/api/v1/things/{thing_id}"]["get"]
    assert get["security"] == [{"bearerAuth": []}]
    assert error_codes(get, 404) == {"not_found", "thing_not_found"}
    assert error_codes(get, 409) == {"thing_busy"}
    assert "token_expired" in error_codes(get, 401)
    approve = document["paths"]["/api/v1/things/{thing_id}/approve"]["post"]
    assert "forbidden" in error_codes(approve, 403) and "reviewer" in approve["description"]
    thing = document["components"]["schemas"]["_Thing"]
    assert thing["required"] == ["id", "note"] and thing["properties"]["note"]["nullable"]


# ---- regressions found by schemathesis ---------------------------------------------------------

def test_405_names_the_allowed_methods(client):
    response = client.open("/api/v1/hospitals", method="TRACE")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
    assert set(response.headers["Allow"].split(", ")) >= {"GET"}


def test_an_id_beyond_64_bits_is_404_for_every_method(client, alice):
    huge = 2**63
    for method in ("GET", "PATCH", "DELETE"):
        response = client.open(f"/api/v1/patients/{huge}", method=method, json={},
                               headers=alice["headers"])
        assert response.status_code == 404, (method, response.get_json())
        assert response.get_json()["error"]["code"] == "patient_not_found"


def test_editing_a_patient_into_a_duplicate_is_409_not_500(client, alice):
    base = {"name": "王芳", "id_type": "resident_id", "phone": "13912345678"}
    first = client.post("/api/v1/patients", headers=alice["headers"],
                        json={**base, "id_number": ID_MOTHER})
    second = client.post("/api/v1/patients", headers=alice["headers"],
                         json={**base, "name": "张三", "id_number": ID_ALICE})
    assert first.status_code == second.status_code == 201
    clash = client.patch(f"/api/v1/patients/{second.get_json()['id']}",
                         headers=alice["headers"], json={"id_type": "resident_id",
                                                         "id_number": ID_MOTHER})
    assert clash.status_code == 409, clash.get_json()
    assert clash.get_json()["error"]["code"] == "patient_duplicate"
    unchanged = client.get(f"/api/v1/patients/{second.get_json()['id']}/edit",
                           headers=alice["headers"])
    assert unchanged.get_json()["id_number"] == ID_ALICE


def test_a_body_without_required_fields_may_be_absent(spec, client, alice):
    patch = spec["paths"]["/api/v1/me"]["patch"]
    assert patch["requestBody"]["required"] is False
    assert spec["paths"]["/api/v1/patients"]["post"]["requestBody"]["required"] is True
    assert client.patch("/api/v1/me", headers=alice["headers"]).status_code == 200
