from flask import Response, current_app, g

from app.common.api import Blueprint
from app.common.pagination import page_schema
from app.marketplace import cache, services
from app.stats.events import counts_as_search
from app.marketplace.schemas import (PublicCaregiverSchema, PublicCaregiverDetailSchema,
                                     CaregiverSearchQuerySchema)

blp = Blueprint("marketplace", __name__, url_prefix="/api/v1", description="找护工")

PHOTO_MAX_AGE_SECONDS = 3600
_time_window_errors = ((422, "invalid_time_range"), (422, "time_range_too_long"),
                       (422, "time_range_outside_horizon"))


@blp.get("/caregivers")
@counts_as_search("caregiver_search")  # statistics: outside the cache, so cached answers count
@cache.answer_from_raw_query
@blp.arguments(CaregiverSearchQuerySchema, location="query")
@blp.errors(services.UnknownSkill, services.InvalidAgeRange, services.CareTypeRequired,
            services.InvalidPriceRange, services.TimeRangeIncomplete,
            services.LocationIncomplete, services.LocationRequired, services.HospitalNotFound,
            *_time_window_errors)
@blp.response(200, page_schema(PublicCaregiverSchema))
def search_caregivers(query):
    """找护工:按技能、年限、性别、年龄、价格、地区/医院、空闲时段、评分等筛选和排序(无需登录)"""
    # the service answers the dumped body (cached as bytes); flask-smorest passes a Response
    # through untouched, and @blp.response above still documents it. X-Search-Source says
    # what answered: cache, index or database
    body = services.search_caregivers(**query)
    return Response(body, mimetype="application/json",
                    headers={"X-Search-Source": g.get("search_source", "database")})


@blp.get("/caregivers/<int:caregiver_id>")
@blp.errors(services.CaregiverNotFound)
@blp.response(200, PublicCaregiverDetailSchema)
def get_caregiver(caregiver_id):
    """护工详情:资料、已认证资质、评分、价格、未来 7 天的空闲时段(无需登录)"""
    return services.get_caregiver(caregiver_id=caregiver_id)


@blp.get("/caregivers/<int:caregiver_id>/photo")
@blp.errors(services.CaregiverNotFound, services.PhotoNotFound)
@blp.doc(responses={"200": {"description": "照片", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}}
    for content_type in ("image/jpeg", "image/png")}}})
def get_photo(caregiver_id):
    """护工照片(无需登录)"""
    content_type, data = services.get_photo(caregiver_id=caregiver_id)
    max_age = current_app.config.get("CAREGIVER_PHOTO_MAX_AGE_SECONDS", PHOTO_MAX_AGE_SECONDS)
    return Response(data, mimetype=content_type, headers={
        "Cache-Control": f"public, max-age={int(max_age)}", "X-Content-Type-Options": "nosniff"})
