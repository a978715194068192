"""The OpenAPI document is the contract the mini-program is written against.

Everything here makes /api/openapi.json say what the server really does, without a domain
having to remember it:

- Errors. Every operation documents the one error envelope
  {"error": {"code", "message", "details", "request_id"}} for each status it can answer, with
  the `code` values of that status as an enum. What the machinery adds by itself: 500 on every
  operation; 400/413/415/422 where a body or query is parsed; 404 where the path has an id;
  401/403 where a guard of app/common/auth.py stands; 429 where Flask-Limiter limits the route.
  Business errors are declared next to the view with `@blp.errors(SlotSoldOut, ...)`: an AppError
  subclass, `(NotFound, "patient_not_found")` for an error raised with its own code, or
  `(404, "patient_not_found")`. A code the server answers but the document does not list fails
  schemathesis (scripts/contract_check.py) in CI.
- Security. The guards mark the view (`auth_requirement`); such operations get the bearer
  scheme (Swagger UI's Authorize button) and their 401/403 answers.
- Output schemas (those used by `@blp.response`, and what they nest) list every field as
  required: marshmallow always writes a declared field; a field that may be null says so with
  allow_none=True.
- Swagger UI is served from the `swagger-ui-bundle` package under /api/docs/assets/, never a CDN.
"""
from __future__ import annotations

import http
from collections.abc import Iterable, Mapping

from apispec.ext.marshmallow import MarshmallowPlugin, OpenAPIConverter
from apispec.ext.marshmallow.common import get_fields, resolve_schema_cls
from flask import Blueprint as FlaskBlueprint, send_from_directory
from flask_smorest.fields import Upload
from marshmallow import Schema, fields as ma_fields

from app.errors import (HTTP_ERRORS, AppError, Forbidden, PayloadTooLarge,
                        RateLimited, Unauthorized, UnsupportedMediaType, ValidationFailed)

SECURITY_SCHEME = "bearerAuth"

INTERNAL_ERROR = (500, "internal_error", "服务器开小差了,请稍后再试")

# What the error envelope looks like (app/errors.py error_response)
ERROR_ENVELOPE = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details", "request_id"],
            "additionalProperties": False,
            "properties": {
                "code": {"type": "string", "description": "稳定的英文错误码,客户端据此分支"},
                "message": {"type": "string", "description": "可直接展示给用户的中文说明"},
                "details": {"type": "object", "additionalProperties": True,
                            "description": "补充信息;参数错误时为 {字段: [说明]}"},
                "request_id": {"type": "string", "description": "与响应头 X-Request-ID 相同"},
            },
        },
    },
}


# ---- declaring errors ------------------------------------------------------------------------

def error_entry(error) -> tuple[int, str, str]:
    """(status, code, message) of an AppError subclass or instance, of (ErrorClass, "code") for
    an error raised with its own code, or of (status, "code")."""
    if isinstance(error, tuple):
        kind, code = error
        if isinstance(kind, int):
            return kind, code, HTTP_ERRORS.get(kind, ("", "请求无法处理"))[1]
        return int(kind.status), code, kind.message
    if isinstance(error, type) and issubclass(error, AppError):
        return int(error.status), error.code, error.message
    if isinstance(error, AppError):
        return int(error.status), error.code, error.message
    raise TypeError(f"not an AppError class, instance or (class, code) pair: {error!r}")


def _http(status: int) -> tuple[int, str, str]:
    code, message = HTTP_ERRORS[status]
    return status, code, message


def _auth_errors(requirement: Mapping) -> list[tuple[int, str, str]]:
    from app.common import auth  # late: auth imports the models

    entries = [error_entry(e) for e in (Unauthorized, auth.TokenInvalid, auth.TokenExpired,
                                        auth.AccountBanned)]
    if requirement.get("roles"):
        entries.append(error_entry(Forbidden))
    return entries


def _body_errors(locations: set[str]) -> list[tuple[int, str, str]]:
    entries = []
    if locations & {"json", "form", "files"}:
        entries += [error_entry(PayloadTooLarge), error_entry(UnsupportedMediaType)]
    if "json" in locations:
        entries.append((400, "invalid_json", "请求体不是合法的 JSON"))
    if locations:
        entries.append(error_entry(ValidationFailed))
    return entries


# ---- the operation's responses -----------------------------------------------------------------

def _error_response(entries: list[tuple[int, str, str]]) -> dict:
    codes = sorted({code for _, code, _ in entries})
    messages = {}
    for _, code, message in entries:
        messages.setdefault(code, message)
    status = entries[0][0]
    schema = {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {"error": {
            **ERROR_ENVELOPE["properties"]["error"],
            "properties": {
                **ERROR_ENVELOPE["properties"]["error"]["properties"],
                "code": {"type": "string", "enum": codes,
                         "description": "稳定的英文错误码,客户端据此分支"},
            },
        }},
    }
    lines = "; ".join(f"`{code}` {messages[code]}" for code in codes)
    return {
        "description": f"{http.HTTPStatus(status).phrase}: {lines}",
        "content": {"application/json": {"schema": schema}},
    }


def document_operation(doc: dict, doc_info: Mapping, *, spec, api) -> dict:
    """Security and the error responses of one operation (a flask-smorest doc callback: it runs
    after the arguments/response callbacks, so it replaces their generic error entries)."""
    contract = doc_info.get("contract") or {}
    entries: list[tuple[int, str, str]] = [INTERNAL_ERROR]

    requirement = contract.get("auth")
    if requirement:
        doc["security"] = [{SECURITY_SCHEME: []}]
        entries += _auth_errors(requirement)
        roles = requirement.get("roles") or ()
        who = {"user": "需要登录(小程序用户)", "staff": "需要工作人员登录",
               "user_or_staff": "需要登录(小程序用户或工作人员)"}[requirement["kind"]]
        if roles:
            who += ";角色: " + " / ".join(sorted(set(roles) | {"admin"}))
        doc["description"] = (doc.get("description", "") + "\n\n" + who).strip()

    entries += _body_errors(set(contract.get("locations", ())))
    if contract.get("path_params"):
        entries.append(_http(404))
    if contract.get("rate_limited"):
        entries.append(error_entry(RateLimited))
    for declared in doc_info.get("errors", ()):
        entries.append(error_entry(declared))

    by_status: dict[int, list[tuple[int, str, str]]] = {}
    for entry in entries:
        by_status.setdefault(entry[0], []).append(entry)
    responses = doc.setdefault("responses", {})
    for status, status_entries in sorted(by_status.items()):
        # flask-smorest keys some responses by int, some by str: one entry per status
        responses.pop(status, None)
        responses.pop(str(status), None)
        responses[str(status)] = _error_response(status_entries)
    responses.pop("default", None)
    return doc


# ---- output schemas list every field as required ---------------------------------------------

class SchemaRoles:
    """Which schema classes the views use for input and for output (filled at import time by the
    Blueprint decorators, read when the spec is generated at blueprint registration)."""

    def __init__(self):
        self.input_roots: set[type] = set()
        self.output_roots: set[type] = set()
        self._cache: tuple[set[type], set[type]] | None = None

    def add(self, schema, *, output: bool):
        cls = _schema_cls(schema)
        if cls is not None:
            (self.output_roots if output else self.input_roots).add(cls)
            self._cache = None

    def is_output_only(self, schema) -> bool:
        if self._cache is None:
            self._cache = (_reachable(self.output_roots), _reachable(self.input_roots))
        outputs, inputs = self._cache
        cls = _schema_cls(schema)
        return cls in outputs and cls not in inputs


def has_required_fields(schema) -> bool:
    instance = schema() if isinstance(schema, type) else schema
    return any(field.required or field.metadata.get("doc_required")
               for field in instance.fields.values())


def _schema_cls(schema):
    if isinstance(schema, Schema):
        return type(schema)
    if isinstance(schema, type) and issubclass(schema, Schema):
        return schema
    if isinstance(schema, str):
        try:
            return resolve_schema_cls(schema)
        except Exception:
            return None
    return None


def _nested_schemas(field) -> Iterable:
    if isinstance(field, ma_fields.Nested):  # Pluck is a Nested
        nested = field.nested
        if callable(nested) and not isinstance(nested, type):
            nested = nested()
        yield nested
    elif isinstance(field, ma_fields.List):
        yield from _nested_schemas(field.inner)
    elif isinstance(field, ma_fields.Tuple):
        for inner in field.tuple_fields:
            yield from _nested_schemas(inner)
    elif isinstance(field, ma_fields.Dict) and field.value_field is not None:
        yield from _nested_schemas(field.value_field)


def _reachable(roots: set[type]) -> set[type]:
    seen: set[type] = set()
    todo = list(roots)
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        for field in cls._declared_fields.values():
            for nested in _nested_schemas(field):
                nested_cls = _schema_cls(nested)
                if nested_cls is not None:
                    todo.append(nested_cls)
    return seen


schema_roles = SchemaRoles()


def lazy_enum2properties(self, field, **kwargs) -> dict:
    """metadata={"enum_of": callable}: the enum is read when the document is built (registries
    such as the payable order types fill up as the domains are imported)."""
    enum_of = field.metadata.get("enum_of")
    return {"enum": list(enum_of())} if callable(enum_of) else {}


class FileUpload(Upload):
    """The file part of a multipart form. Parsing reads `request.form`, where a file never is:
    this field documents the part (type string, format binary) and refuses a text field of the
    same name; the view takes the file from `request.files`. metadata={"doc_required": True}
    lists it as required in the document while the service answers its own `file_missing`."""

    default_error_messages = {"invalid": "应上传文件"}

    def _deserialize(self, value, attr, data, **kwargs):
        raise self.make_error("invalid")


class ContractConverter(OpenAPIConverter):
    def init_attribute_functions(self, *args, **kwargs):
        super().init_attribute_functions(*args, **kwargs)
        self.add_attribute_function(lazy_enum2properties)

    def field2nullable(self, field, ret) -> dict:
        # apispec writes a nullable reference as anyOf [{"type": "object"}, $ref], which lets any
        # object through; allOf + nullable is what Swagger UI and schemathesis read as "X or null"
        if field.allow_none and self.openapi_version.major == 3 and self.openapi_version.minor < 1:
            if "$ref" in ret:
                return {"allOf": [{"$ref": ret.pop("$ref")}], "nullable": True}
            if "allOf" in ret:
                return {"nullable": True}
        return super().field2nullable(field, ret)

    def schema2jsonschema(self, schema):
        jsonschema = super().schema2jsonschema(schema)
        doc_required = {field.data_key or name for name, field in get_fields(schema).items()
                        if field.metadata.get("doc_required")}
        if doc_required:
            jsonschema["required"] = sorted(doc_required | set(jsonschema.get("required", [])))
        if schema_roles.is_output_only(schema):
            names = {field.data_key or name for name, field in get_fields(schema).items()
                     if not field.load_only}
            jsonschema["required"] = sorted(names | set(jsonschema.get("required", [])))
        return jsonschema


class ContractMarshmallowPlugin(MarshmallowPlugin):
    Converter = ContractConverter


# ---- the docs page's assets, served by the app -----------------------------------------------

def _swagger_ui_assets() -> FlaskBlueprint:
    import swagger_ui_bundle

    assets = FlaskBlueprint("swagger_ui_assets", __name__)
    directory = swagger_ui_bundle.swagger_ui_path

    @assets.get("/api/docs/assets/<path:filename>")
    def swagger_ui_asset(filename):
        return send_from_directory(directory, filename, max_age=24 * 3600)

    return assets


class ErrorDetailSchema(Schema):
    code = ma_fields.String(required=True, metadata={"description": "稳定的英文错误码,客户端据此分支"})
    message = ma_fields.String(required=True, metadata={"description": "可直接展示给用户的中文说明"})
    details = ma_fields.Dict(required=True, metadata={
        "description": "补充信息;参数错误时为 {字段: [说明]}"})
    request_id = ma_fields.String(required=True, metadata={"description": "与响应头 X-Request-ID 相同"})


class ErrorSchema(Schema):
    """The one error envelope (app/errors.py error_response); component "Error"."""

    error = ma_fields.Nested(ErrorDetailSchema, required=True)


def init_openapi(app, api):
    """api.init_app(app) with the contract's pieces; before the blueprints are registered."""
    api.ERROR_SCHEMA = ErrorSchema
    # document_operation writes every error response; flask-smorest's "default" would be vaguer
    api.DEFAULT_ERROR_RESPONSE_NAME = None
    api.init_app(app, spec_kwargs={"marshmallow_plugin": ContractMarshmallowPlugin()})
    api.spec.components.security_scheme(SECURITY_SCHEME, {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "POST /api/v1/auth/wechat-login(小程序用户)或 POST /api/v1/staff/login"
                       "(工作人员)返回的 token",
    })
    app.register_blueprint(_swagger_ui_assets())
