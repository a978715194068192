from app.common.api import Blueprint
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import PageQuerySchema, page_schema
from app.files.views import FILE_RESPONSE_DOC, file_response
from app.hospital_onboarding import services
from app.hospital_onboarding.schemas import (HospitalApiKeyListSchema, HospitalApiKeySchema,
                                             HospitalApplicationCreateSchema, HospitalApplicationQuerySchema,
                                             HospitalApplicationSchema, ApplicationApprovalSchema, IssuedHospitalApiKeySchema,
                                             ApplicationRejectSchema)

blp = Blueprint("hospital_applications", __name__, url_prefix="/api/v1",
                description="医院入驻申请")
staff_blp = Blueprint("hospital_onboarding_staff", __name__, url_prefix="/api/v1/staff",
                      description="医院入驻审核与接口密钥")


@blp.post("/hospital-applications")
@blp.errors(services.ApplicationPending, (404, "file_not_found"), (422, "invalid_region_code"))
@login_required
@blp.arguments(HospitalApplicationCreateSchema)
@blp.response(201, HospitalApplicationSchema)
def apply(body):
    """提交医院入驻申请(执业许可证为本人上传的文件)"""
    return services.apply(current_user(), data=body)


@blp.get("/hospital-applications")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(HospitalApplicationSchema))
def my_applications(query):
    """我的入驻申请"""
    return services.my_applications(current_user(), page=query["page"],
                                    page_size=query["page_size"])


@staff_blp.get("/hospital-applications")
@staff_required("operator")
@staff_blp.arguments(HospitalApplicationQuerySchema, location="query")
@staff_blp.response(200, page_schema(HospitalApplicationSchema))
def list_applications(query):
    """医院入驻申请列表(可按状态筛选,新申请在前)"""
    return services.list_applications(current_staff(), status=query.get("status"),
                                      page=query["page"], page_size=query["page_size"])


@staff_blp.get("/hospital-applications/<int:application_id>")
@staff_blp.errors(services.ApplicationNotFound)
@staff_required("operator")
@staff_blp.response(200, HospitalApplicationSchema)
def application_detail(application_id):
    """入驻申请详情(联系人信息脱敏)"""
    return services.application_detail(current_staff(), application_id=application_id)


@staff_blp.get("/hospital-applications/<int:application_id>/licence")
@staff_blp.errors(services.ApplicationNotFound, (404, "file_not_found"))
@staff_blp.doc(responses=FILE_RESPONSE_DOC)
@staff_required("operator")
def licence(application_id):
    """入驻申请所附的执业许可证(仅审核人员可看)"""
    return file_response(*services.licence(current_staff(), application_id=application_id))


@staff_blp.post("/hospital-applications/<int:application_id>/approve")
@staff_blp.errors(services.ApplicationNotFound, InvalidTransition)
@staff_required("operator")
@staff_blp.response(200, ApplicationApprovalSchema)
def approve(application_id):
    """通过入驻申请:创建医院并签发首个接口密钥(密钥仅此一次返回)"""
    return services.approve(current_staff(), application_id=application_id)


@staff_blp.post("/hospital-applications/<int:application_id>/reject")
@staff_blp.errors(services.ApplicationNotFound, InvalidTransition)
@staff_required("operator")
@staff_blp.arguments(ApplicationRejectSchema)
@staff_blp.response(200, HospitalApplicationSchema)
def reject(body, application_id):
    """驳回入驻申请(须填写原因)"""
    return services.reject(current_staff(), application_id=application_id,
                           reason=body["reason"])


@staff_blp.get("/hospitals/<int:hospital_id>/api-keys")
@staff_blp.errors(services.HospitalNotFound)
@staff_required("operator")
@staff_blp.response(200, HospitalApiKeyListSchema)
def list_keys(hospital_id):
    """医院的接口密钥(不含密钥本身)"""
    return services.list_keys(current_staff(), hospital_id=hospital_id)


@staff_blp.post("/hospitals/<int:hospital_id>/api-keys/rotate")
@staff_blp.errors(services.HospitalNotFound)
@staff_required("operator")
@staff_blp.response(201, IssuedHospitalApiKeySchema)
def rotate_key(hospital_id):
    """轮换接口密钥:签发新密钥(仅此一次返回),旧密钥在重叠期内仍然有效"""
    return services.rotate_key(current_staff(), hospital_id=hospital_id)


@staff_blp.post("/hospitals/<int:hospital_id>/api-keys/<string:key_id>/revoke")
@staff_blp.errors(services.ApiKeyNotFound, InvalidTransition)
@staff_required("operator")
@staff_blp.response(200, HospitalApiKeySchema)
def revoke_key(hospital_id, key_id):
    """立即吊销接口密钥"""
    return services.revoke_key(current_staff(), hospital_id=hospital_id, key_id=key_id)
