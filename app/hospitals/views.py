from app.common.api import Blueprint

from app.common.pagination import page_schema
from app.hospitals import services
from app.stats.events import counts_as_search
from app.hospitals.schemas import (DayQuerySchema, DaySchedulesSchema, DepartmentCalendarSchema,
                                   DoctorDetailSchema, HospitalDetailSchema, HospitalQuerySchema,
                                   HospitalSchema)

blp = Blueprint("hospitals", __name__, url_prefix="/api/v1", description="医院、科室、排班与医生")


@blp.get("/hospitals")
@counts_as_search("hospital_search")  # statistics: searches (a Redis push, never fails this)
@blp.arguments(HospitalQuerySchema, location="query")
@blp.response(200, page_schema(HospitalSchema))
def list_hospitals(query):
    """医院列表(按名称、等级、地区筛选;无需登录)"""
    return services.list_hospitals(keyword=query.get("keyword"), level=query.get("level"),
                                   region=query.get("region"), page=query["page"],
                                   page_size=query["page_size"])


@blp.get("/hospitals/<int:hospital_id>")
@blp.errors(services.HospitalNotFound)
@blp.response(200, HospitalDetailSchema)
def get_hospital(hospital_id):
    """医院详情:简介、预约须知、预约规则、科室(两级)"""
    return services.get_hospital(hospital_id=hospital_id)


@blp.get("/hospitals/<int:hospital_id>/departments/<int:department_id>/calendar")
@blp.errors(services.HospitalNotFound, services.DepartmentNotFound)
@blp.response(200, DepartmentCalendarSchema)
def department_calendar(hospital_id, department_id):
    """科室在预约周期内每日的号源情况(一级科室汇总其下属科室)"""
    return services.get_department_calendar(hospital_id=hospital_id,
                                            department_id=department_id)


@blp.get("/hospitals/<int:hospital_id>/departments/<int:department_id>/schedules")
@blp.errors(services.HospitalNotFound, services.DepartmentNotFound, services.DateOutOfWindow)
@blp.arguments(DayQuerySchema, location="query")
@blp.response(200, DaySchedulesSchema)
def day_schedules(query, hospital_id, department_id):
    """科室某日的医生排班与剩余号源"""
    return services.list_day_schedules(hospital_id=hospital_id, department_id=department_id,
                                       day=query["date"])


@blp.get("/doctors/<int:doctor_id>")
@blp.errors(services.DoctorNotFound)
@blp.response(200, DoctorDetailSchema)
def get_doctor(doctor_id):
    """医生详情"""
    return services.get_doctor(doctor_id=doctor_id)
