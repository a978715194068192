from app.common.api import Blueprint

from app.common.auth import current_user, login_required
from app.common.pagination import PageQuerySchema, page_schema
from app.patients import services
from app.patients.schemas import (PatientCreateSchema, PatientEditViewSchema, PatientSchema,
                                  PatientUpdateSchema)

blp = Blueprint("patients", __name__, url_prefix="/api/v1/patients", description="就诊人")
_IDENTITY_ERRORS = ((422, "invalid_id_number"), (422, "id_number_mismatch"))


@blp.get("")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(PatientSchema))
def list_patients(query):
    """我的就诊人列表"""
    return services.list_patients(current_user(), page=query["page"],
                                  page_size=query["page_size"])


@blp.post("")
@blp.errors(services.PatientLimitReached, services.PatientDuplicate, *_IDENTITY_ERRORS)
@login_required
@blp.arguments(PatientCreateSchema)
@blp.response(201, PatientSchema)
def create_patient(body):
    """添加就诊人(每个账号最多 8 位)"""
    return services.create_patient(current_user(), **body)


@blp.get("/<int:patient_id>")
@blp.errors(services.PatientNotFound)
@login_required
@blp.response(200, PatientSchema)
def get_patient(patient_id):
    """就诊人详情(敏感信息脱敏)"""
    return services.get_patient(current_user(), patient_id=patient_id)


@blp.get("/<int:patient_id>/edit")
@blp.errors(services.PatientNotFound)
@login_required
@blp.response(200, PatientEditViewSchema)
def get_patient_for_edit(patient_id):
    """编辑就诊人时的完整信息(仅本人)"""
    return services.get_patient(current_user(), patient_id=patient_id)


@blp.patch("/<int:patient_id>")
@blp.errors(services.PatientNotFound, services.PatientDuplicate, *_IDENTITY_ERRORS)
@login_required
@blp.arguments(PatientUpdateSchema)
@blp.response(200, PatientSchema)
def update_patient(body, patient_id):
    """修改就诊人"""
    return services.update_patient(current_user(), patient_id=patient_id, **body)


@blp.delete("/<int:patient_id>")
@blp.errors(services.PatientNotFound)
@login_required
@blp.response(204)
def delete_patient(patient_id):
    """删除就诊人"""
    services.delete_patient(current_user(), patient_id=patient_id)
