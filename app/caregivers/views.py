from app.common.api import Blueprint

from app.caregivers import models as _models  # noqa: F401  (tables for migrations)
from app.caregivers import services
from app.caregivers.schemas import (CaregiverDecisionSchema, CaregiverPricesSchema,
                                    CaregiverPricesWriteSchema, CaregiverRevisionQuerySchema,
                                    CaregiverRevisionSchema, CaregiverSuspendSchema,
                                    CaregiverWriteSchema, CarePriceLimitsSchema,
                                    CarePriceLimitsWriteSchema, CareSkillCreateSchema,
                                    CareSkillSchema, CareSkillUpdateSchema, CareTypeSchema,
                                    MyCaregiverSchema, StaffCaregiverQuerySchema,
                                    StaffCaregiverRowSchema, StaffCaregiverSchema,
                                    StaffCareSkillSchema)
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import page_schema
from app.files.services import FileNotFound

blp = Blueprint("caregivers", __name__, url_prefix="/api/v1", description="护工入驻")
staff_blp = Blueprint("caregiver_review", __name__, url_prefix="/api/v1/staff",
                      description="护工审核")

# what a profile edit can be refused for (besides the schema's per-field 422)
_PROFILE_ERRORS = (services.UnknownSkill, services.UnknownHospital, services.HospitalOutsideCity,
                   services.DistrictOutsideCity, services.CityRequired,
                   services.InvalidBirthDate, services.InvalidExperience, services.PhotoNotImage,
                   services.NightSurchargeOutOfRange, FileNotFound)


# ---- public reference lists --------------------------------------------------------------------

@blp.get("/caregiver-skills")
@blp.response(200, CareSkillSchema(many=True))
def list_skills():
    """可选的护工技能标签"""
    return services.list_skills()


@blp.get("/care-types")
@blp.response(200, CareTypeSchema(many=True))
def list_care_types():
    """服务类型、计价单位与平台价格标准"""
    return services.care_types()


# ---- my caregiver profile ----------------------------------------------------------------------

@blp.post("/caregiver/me")
@blp.errors(services.CaregiverExists, services.PhoneNotBound, *_PROFILE_ERRORS)
@login_required
@blp.arguments(CaregiverWriteSchema)
@blp.response(201, MyCaregiverSchema)
def create_my_profile(body):
    """申请成为护工(创建草稿资料,需先绑定手机号)"""
    return services.create_my_profile(current_user(), **body)


@blp.get("/caregiver/me")
@blp.errors(services.CaregiverNotFound)
@login_required
@blp.response(200, MyCaregiverSchema)
def get_my_profile():
    """我的护工资料(本人可见的完整信息)"""
    return services.get_my_profile(current_user())


@blp.patch("/caregiver/me")
@blp.errors(services.CaregiverNotFound, services.CaregiverUnderReview, *_PROFILE_ERRORS)
@login_required
@blp.arguments(CaregiverWriteSchema)
@blp.response(200, MyCaregiverSchema)
def update_my_profile(body):
    """修改我的护工资料(已通过审核时,姓名、照片、技能等需审核的字段进入待审核修改)"""
    return services.update_my_profile(current_user(), **body)


@blp.delete("/caregiver/me/revision")
@blp.errors(services.CaregiverNotFound, services.RevisionNotFound)
@login_required
@blp.response(204)
def withdraw_my_revision():
    """撤回待审核的资料修改"""
    services.withdraw_my_revision(current_user())


@blp.post("/caregiver/me/submit")
@blp.errors(services.CaregiverNotFound, services.ProfileIncomplete,
            services.QualificationsMissing, services.PhoneNotBound, InvalidTransition)
@login_required
@blp.response(200, MyCaregiverSchema)
def submit_my_application():
    """提交入驻申请审核"""
    return services.submit_my_application(current_user())


@blp.get("/caregiver/me/prices")
@blp.errors(services.CaregiverNotFound)
@login_required
@blp.response(200, CaregiverPricesSchema)
def get_my_prices():
    """我的服务价格"""
    return services.get_my_prices(current_user())


@blp.put("/caregiver/me/prices")
@blp.errors(services.CaregiverNotFound, services.UnknownCareType, services.DuplicateCareType,
            services.PriceOutOfRange)
@login_required
@blp.arguments(CaregiverPricesWriteSchema)
@blp.response(200, CaregiverPricesSchema)
def set_my_prices(body):
    """设置服务价格(整体替换,须在平台价格标准内,立即生效)"""
    return services.set_my_prices(current_user(), prices=body["prices"])


# ---- staff: applications -----------------------------------------------------------------------

@staff_blp.get("/caregivers")
@staff_required("reviewer", "operator")
@staff_blp.arguments(StaffCaregiverQuerySchema, location="query")
@staff_blp.response(200, page_schema(StaffCaregiverRowSchema))
def staff_list_caregivers(query):
    """护工列表(按状态、城市筛选)"""
    return services.staff_list_caregivers(current_staff(), status=query.get("status"),
                                          city_code=query.get("city_code"), page=query["page"],
                                          page_size=query["page_size"])


@staff_blp.get("/caregivers/<int:caregiver_id>")
@staff_blp.errors(services.CaregiverNotFound)
@staff_required("reviewer", "operator")
@staff_blp.response(200, StaffCaregiverSchema)
def staff_get_caregiver(caregiver_id):
    """护工详情(含证件审核状态)"""
    return services.staff_get_caregiver(current_staff(), caregiver_id=caregiver_id)


@staff_blp.post("/caregivers/<int:caregiver_id>/decision")
@staff_blp.errors(services.CaregiverNotFound, services.ReviewOwnApplication,
                  services.ReasonRequired, services.QualificationsIncomplete, InvalidTransition)
@staff_required("reviewer")
@staff_blp.arguments(CaregiverDecisionSchema)
@staff_blp.response(200, StaffCaregiverSchema)
def decide_application(body, caregiver_id):
    """通过或驳回入驻申请"""
    return services.decide_application(current_staff(), caregiver_id=caregiver_id,
                                       approve=body["approve"], reason=body.get("reason"))


@staff_blp.post("/caregivers/<int:caregiver_id>/suspend")
@staff_blp.errors(services.CaregiverNotFound, InvalidTransition)
@staff_required("operator")
@staff_blp.arguments(CaregiverSuspendSchema)
@staff_blp.response(200, StaffCaregiverSchema)
def suspend_caregiver(body, caregiver_id):
    """暂停护工接单(下架)"""
    return services.suspend_caregiver(current_staff(), caregiver_id=caregiver_id,
                                      reason=body["reason"])


@staff_blp.post("/caregivers/<int:caregiver_id>/reinstate")
@staff_blp.errors(services.CaregiverNotFound, services.QualificationsIncomplete,
                  InvalidTransition)
@staff_required("operator")
@staff_blp.response(200, StaffCaregiverSchema)
def reinstate_caregiver(caregiver_id):
    """恢复护工接单(必备证件须有效)"""
    return services.reinstate_caregiver(current_staff(), caregiver_id=caregiver_id)


# ---- staff: revisions --------------------------------------------------------------------------

@staff_blp.get("/caregiver-revisions")
@staff_required("reviewer")
@staff_blp.arguments(CaregiverRevisionQuerySchema, location="query")
@staff_blp.response(200, page_schema(CaregiverRevisionSchema))
def staff_list_revisions(query):
    """护工资料修改审核列表"""
    return services.staff_list_revisions(current_staff(), status=query["status"],
                                         page=query["page"], page_size=query["page_size"])


@staff_blp.post("/caregiver-revisions/<int:revision_id>/decision")
@staff_blp.errors(services.RevisionNotFound, services.CaregiverNotFound,
                  services.ReviewOwnApplication, services.ReasonRequired, services.SkillRetired,
                  InvalidTransition)
@staff_required("reviewer")
@staff_blp.arguments(CaregiverDecisionSchema)
@staff_blp.response(200, CaregiverRevisionSchema)
def decide_revision(body, revision_id):
    """通过或驳回资料修改"""
    return services.decide_revision(current_staff(), revision_id=revision_id,
                                    approve=body["approve"], reason=body.get("reason"))


# ---- staff: skills and price standards ---------------------------------------------------------

@staff_blp.get("/caregiver-skills")
@staff_required("admin")
@staff_blp.response(200, StaffCareSkillSchema(many=True))
def staff_list_skills():
    """技能标签维护列表(含已停用)"""
    return services.staff_list_skills(current_staff())


@staff_blp.post("/caregiver-skills")
@staff_blp.errors(services.SkillExists)
@staff_required("admin")
@staff_blp.arguments(CareSkillCreateSchema)
@staff_blp.response(201, StaffCareSkillSchema)
def create_skill(body):
    """新增技能标签"""
    return services.create_skill(current_staff(), **body)


@staff_blp.patch("/caregiver-skills/<code>")
@staff_blp.errors(services.SkillNotFound, services.SkillExists)
@staff_required("admin")
@staff_blp.arguments(CareSkillUpdateSchema)
@staff_blp.response(200, StaffCareSkillSchema)
def update_skill(body, code):
    """修改或停用技能标签(停用后不可再选,已选的护工保留)"""
    return services.update_skill(current_staff(), code=code, **body)


@staff_blp.get("/settings/care-prices")
@staff_required("admin")
@staff_blp.response(200, CarePriceLimitsSchema)
def get_price_standards():
    """服务价格标准"""
    return services.get_price_standards(current_staff())


@staff_blp.put("/settings/care-prices")
@staff_blp.errors(services.PriceLimitsBusy)
@staff_required("admin")
@staff_blp.arguments(CarePriceLimitsWriteSchema)
@staff_blp.response(200, CarePriceLimitsSchema)
def set_price_standards(body):
    """修改服务价格标准(现有超出标准的报价保留,回答中给出数量)"""
    return services.set_price_standards(current_staff(), limits=body["limits"])
