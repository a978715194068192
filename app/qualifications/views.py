from app.common.api import Blueprint
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import PageQuerySchema, page_schema
from app.qualifications import models as _models  # noqa: F401  (tables for migrations)
from app.qualifications import services
from app.qualifications.schemas import (QualificationCreateSchema, QualificationDecisionSchema,
                                        QualificationDetailSchema, QualificationSchema,
                                        QualificationUpdateSchema,
                                        StaffQualificationDetailSchema,
                                        StaffQualificationQuerySchema, StaffQualificationSchema)

blp = Blueprint("qualifications", __name__, url_prefix="/api/v1/caregiver/me/qualifications",
                description="护工资质")
staff_blp = Blueprint("qualification_reviews", __name__,
                      url_prefix="/api/v1/staff/qualifications", description="资质审核")

_INPUT_ERRORS = (services.InvalidIdNumber, services.InvalidDates, services.ExpiryRequired,
                 services.AlreadyExpired, services.FileTypeNotAllowed, (404, "file_not_found"))


@blp.get("")
@blp.errors(services.CaregiverNotFound)
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(QualificationSchema))
def list_mine(query):
    """我的资质证件(证件号脱敏)"""
    return services.list_qualifications(current_user(), page=query["page"],
                                        page_size=query["page_size"])


@blp.post("")
@blp.errors(services.CaregiverNotFound, services.QualificationLimitReached,
            services.QualificationAlreadyPending, services.QualificationNumberTaken,
            *_INPUT_ERRORS)
@login_required
@blp.arguments(QualificationCreateSchema)
@blp.response(201, QualificationDetailSchema)
def create(body):
    """提交资质证件(身份证、护理资格证书、健康证),进入待审核"""
    return services.create_qualification(current_user(), **body)


@blp.get("/<int:qualification_id>")
@blp.errors(services.CaregiverNotFound, services.QualificationNotFound)
@login_required
@blp.response(200, QualificationDetailSchema)
def get_mine(qualification_id):
    """资质证件详情(本人,证件号完整显示)"""
    return services.get_qualification(current_user(), qualification_id=qualification_id)


@blp.patch("/<int:qualification_id>")
@blp.errors(services.CaregiverNotFound, services.QualificationNotFound, InvalidTransition,
            services.QualificationAlreadyPending, services.QualificationNumberTaken,
            *_INPUT_ERRORS)
@login_required
@blp.arguments(QualificationUpdateSchema)
@blp.response(200, QualificationDetailSchema)
def update(body, qualification_id):
    """修改待审核或已驳回的证件(修改后重新进入待审核)"""
    return services.update_qualification(current_user(), qualification_id=qualification_id,
                                         **body)


@blp.delete("/<int:qualification_id>")
@blp.errors(services.CaregiverNotFound, services.QualificationNotFound, InvalidTransition)
@login_required
@blp.response(204)
def delete(qualification_id):
    """删除未通过审核的证件"""
    services.delete_qualification(current_user(), qualification_id=qualification_id)


@staff_blp.get("")
@staff_required("reviewer")
@staff_blp.arguments(StaffQualificationQuerySchema, location="query")
@staff_blp.response(200, page_schema(StaffQualificationSchema))
def staff_list(query):
    """资质审核列表(默认待审核)"""
    return services.staff_list_qualifications(current_staff(), **query)


@staff_blp.get("/<int:qualification_id>")
@staff_blp.errors(services.QualificationNotFound)
@staff_required("reviewer")
@staff_blp.response(200, StaffQualificationDetailSchema)
def staff_get(qualification_id):
    """资质证件详情(审核用:完整证件号与文件,文件内容经 GET /api/v1/files/{id} 读取)"""
    return services.staff_get_qualification(current_staff(), qualification_id=qualification_id)


@staff_blp.post("/<int:qualification_id>/decision")
@staff_blp.errors(services.QualificationNotFound, services.ReasonRequired,
                  services.ReviewOwnApplication, services.ExpiredCannotBeApproved,
                  services.QualificationNumberTaken, InvalidTransition)
@staff_required("reviewer")
@staff_blp.arguments(QualificationDecisionSchema)
@staff_blp.response(200, StaffQualificationDetailSchema)
def staff_decide(body, qualification_id):
    """通过或驳回资质证件(驳回须填写原因)"""
    return services.decide(current_staff(), qualification_id=qualification_id,
                           approve=body["approve"], reason=body.get("reason"))
