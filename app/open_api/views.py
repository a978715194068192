"""/open/v1: the signed API for hospitals' own systems.

A plain Flask blueprint, not part of /api/openapi.json (whose contract checks sign nothing):
its own document is /open/openapi.json (openapi_doc.py), built from the same schemas the views
parse and dump with. Every request passes `verify_request` first (auth.py); every call whose
key was known is recorded in open_api_calls after it was answered.
"""
import logging

from flask import Blueprint, g, jsonify, request
from marshmallow import ValidationError
from webargs.flaskparser import is_json_request

from app.common.validation import BadJsonBody, load_json_body, localize_messages
from app.errors import AppError, UnsupportedMediaType, ValidationFailed
from app.extensions import db
from app.open_api import schemas, services
from app.open_api.auth import current_caller, verify_request
from app.open_api.models import OpenApiCall

log = logging.getLogger("app.open_api")

bp = Blueprint("open_api", __name__, url_prefix="/open/v1")
_schemas: dict = {}


def _schema(cls):
    schema = _schemas.get(cls)
    if schema is None:
        schema = _schemas[cls] = cls()
    return schema


def _body(schema_cls) -> dict:
    raw = request.get_data(cache=True)
    if not is_json_request(request):
        raise UnsupportedMediaType("请求体应为 JSON(Content-Type: application/json)")
    try:
        data = load_json_body(raw) if raw else {}
    except BadJsonBody as exc:
        raise AppError(exc.message, code="invalid_json") from None
    except ValidationError as exc:
        raise ValidationFailed(details=localize_messages(exc.messages)) from None
    try:
        return _schema(schema_cls).load(data)
    except ValidationError as exc:
        raise ValidationFailed(details=localize_messages(exc.messages)) from None


def _query(schema_cls) -> dict:
    args = {}
    for key, values in request.args.lists():
        if len(values) != 1:
            raise ValidationFailed(details={key: ["参数重复"]})
        args[key] = values[0]
    try:
        return _schema(schema_cls).load(args)
    except ValidationError as exc:
        raise ValidationFailed(details=localize_messages(exc.messages)) from None


def _dump(schema_cls, result, status=200):
    return jsonify(_schema(schema_cls).dump(result)), status


@bp.before_request
def _signed():
    g.open_api_caller = verify_request()


@bp.after_request
def _audit(response):
    known = g.get("open_api_known_key")
    if known is None:
        log.info("open api call refused before a known key: %s %s → %s %s", request.method,
                 request.path[:200], response.status_code, g.get("error_code"))
        return response
    try:
        db.session.rollback()
        db.session.add(OpenApiCall(
            hospital_id=known[0], key_id=known[1], method=request.method,
            path=request.path[:200], status=response.status_code,
            code=g.get("error_code") if response.status_code >= 400 else None,
            ip=request.remote_addr, request_id=g.get("request_id")))
        db.session.commit()
    except Exception:  # the answer stands; the audit failure is logged
        db.session.rollback()
        log.exception("could not record open api call")
    return response


@bp.post("/departments:batch")
def departments_batch():
    body = _body(schemas.DepartmentBatchSchema)
    return _dump(schemas.BatchResultSchema,
                 services.upsert_departments(current_caller(), items=body["items"]))


@bp.post("/doctors:batch")
def doctors_batch():
    body = _body(schemas.DoctorBatchSchema)
    return _dump(schemas.BatchResultSchema,
                 services.upsert_doctors(current_caller(), items=body["items"]))


@bp.post("/schedules:batch")
def schedules_batch():
    body = _body(schemas.ScheduleBatchSchema)
    return _dump(schemas.BatchResultSchema,
                 services.upsert_schedules(current_caller(), items=body["items"]))


@bp.post("/schedules/<string:external_id>/stop")
def stop_schedule(external_id):
    body = _body(schemas.StopSchema)
    return _dump(schemas.StopResultSchema, services.stop_schedule(
        current_caller(), external_id=external_id, reason=body["reason"]))


@bp.post("/registrations/<string:order_no>/visit")
def mark_visited(order_no):
    return _dump(schemas.VisitResultSchema,
                 services.mark_visited(current_caller(), order_no=order_no))


@bp.get("/registrations/changes")
def registration_changes():
    query = _query(schemas.ChangesQuerySchema)
    return _dump(schemas.ChangesSchema, services.registration_changes(
        current_caller(), cursor=query["cursor"], limit=query["limit"]))


def register(app):
    from app.open_api.openapi_doc import doc_bp
    app.register_blueprint(bp)
    app.register_blueprint(doc_bp)
