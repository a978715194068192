"""/open/openapi.json: the open API's own OpenAPI document, built with apispec from the schemas
the views use. Security: four apiKey header schemes required together (one requirement object),
with the canonical string of signing v1 in their description."""
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, jsonify

from app.common.openapi import ErrorSchema
from app.open_api import schemas
from app.open_api.auth import AUTH_ERRORS, HospitalSuspended, OpenApiRateLimited
from app.open_api.services import (BatchConflict, BatchRejected, BatchTooLarge, InvalidCursor,
                                   OpenRegistrationNotFound, OpenScheduleNotFound)

doc_bp = Blueprint("open_api_doc", __name__)

SIGNING = """每个请求都须签名(v1):

canonical = METHOD + "\\n" + PATH(按发送时的百分号编码,不含查询串) + "\\n" + CANONICAL_QUERY
 + "\\n" + X-Timestamp + "\\n" + X-Nonce + "\\n" + hex(SHA-256(请求体原始字节))

CANONICAL_QUERY:查询参数解码后,键和值分别以 quote(x, safe="-_.~") 编码,按 (键, 值) 排序,
以 "k=v" 用 "&" 连接;无查询时为空串。

X-Signature = "v1=" + hex(HMAC-SHA256(secret 的 UTF-8 字节, canonical))。
时间戳与服务器相差超过 300 秒、随机串重复、签名不符时返回 401;错误码见各接口。"""

SCHEMES = {
    "HospitalKey": ("X-Hospital-Key", "接口密钥编号 key_id(hk_ 开头)。" + SIGNING),
    "Timestamp": ("X-Timestamp", "Unix 时间戳(秒,十进制整数)"),
    "Nonce": ("X-Nonce", "每个请求唯一的随机串,16–64 位 [A-Za-z0-9_-]"),
    "Signature": ("X-Signature", "v1=<HMAC-SHA256 十六进制小写>"),
}


def _errors(*classes):
    by_status: dict[int, list[str]] = {}
    for cls in classes:
        by_status.setdefault(cls.status, []).append(cls.code)
    return by_status


COMMON = [*AUTH_ERRORS, HospitalSuspended, OpenApiRateLimited]
VALIDATION = type("V", (), {"status": 422, "code": "validation_error"})
INVALID_JSON = type("J", (), {"status": 400, "code": "invalid_json"})
MEDIA = type("M", (), {"status": 415, "code": "unsupported_media_type"})

OPERATIONS = [
    ("/open/v1/departments:batch", "post", "批量新增或更新科室(按医院自己的编号,幂等)",
     schemas.DepartmentBatchSchema, None, schemas.BatchResultSchema,
     [BatchRejected, BatchTooLarge, BatchConflict, VALIDATION, INVALID_JSON, MEDIA]),
    ("/open/v1/doctors:batch", "post", "批量新增或更新医生(按医院自己的编号,幂等)",
     schemas.DoctorBatchSchema, None, schemas.BatchResultSchema,
     [BatchRejected, BatchTooLarge, BatchConflict, VALIDATION, INVALID_JSON, MEDIA]),
    ("/open/v1/schedules:batch", "post",
     "批量新增或更新排班:过去的日期、同一医生时段重叠、号源少于已预约数时整批拒绝",
     schemas.ScheduleBatchSchema, None, schemas.BatchResultSchema,
     [BatchRejected, BatchTooLarge, BatchConflict, VALIDATION, INVALID_JSON, MEDIA]),
    ("/open/v1/schedules/{external_id}/stop", "post", "停诊:已预约订单全额退款并通知患者",
     schemas.StopSchema, None, schemas.StopResultSchema,
     [OpenScheduleNotFound, VALIDATION, INVALID_JSON, MEDIA]),
    ("/open/v1/registrations/{order_no}/visit", "post", "标记已就诊",
     None, None, schemas.VisitResultSchema, [OpenRegistrationNotFound,
                                             type("C", (), {"status": 409,
                                                            "code": "invalid_state_transition"})]),
    ("/open/v1/registrations/changes", "get", "自 cursor 以来有变化的本院挂号订单(旧的在前)",
     None, schemas.ChangesQuerySchema, schemas.ChangesSchema, [InvalidCursor, VALIDATION]),
]


def build_spec() -> dict:
    spec = APISpec(title="医疗预约平台 医院开放接口", version="v1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()], info={"description": SIGNING})
    spec.components.schema("Error", schema=ErrorSchema)
    for name, (header, description) in SCHEMES.items():
        spec.components.security_scheme(name, {"type": "apiKey", "in": "header",
                                               "name": header, "description": description})
    security = [{name: [] for name in SCHEMES}]
    for path, method, summary, body, query, answer, errors in OPERATIONS:
        operation = {"summary": summary, "security": security, "parameters": [],
                     "responses": {"200": {"description": "成功", "content": {
                         "application/json": {"schema": answer}}}}}
        for name in ("external_id", "order_no"):
            if "{" + name + "}" in path:
                operation["parameters"].append({"in": "path", "name": name, "required": True,
                                                "schema": {"type": "string"}})
        if query is not None:
            operation["parameters"].append({"in": "query", "schema": query})
        if body is not None:
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": body}}}
        for status, codes in sorted(_errors(*COMMON, *errors).items()):
            operation["responses"][str(status)] = {
                "description": "错误码: " + ", ".join(codes),
                "content": {"application/json": {"schema": "Error"}}}
        spec.path(path=path, operations={method: operation})
    return spec.to_dict()


_cached: dict | None = None


@doc_bp.get("/open/openapi.json")
def openapi_json():
    global _cached
    if _cached is None:
        _cached = build_spec()
    return jsonify(_cached)
