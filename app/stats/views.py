from urllib.parse import quote

from flask import Response

from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.stats import services
from app.stats.schemas import (BehaviourSchema, CaregiverStatsSchema, DimensionPageSchema,
                               DimensionQuerySchema, ExportQuerySchema, OverviewSchema,
                               RangeQuerySchema, SatisfactionSchema, TrendQuerySchema,
                               TrendSchema)

staff_blp = Blueprint("stats", __name__, url_prefix="/api/v1/staff/stats",
                      description="统计分析(运营、管理员)")

# statistics are for operations staff and admins (admins pass every role check)
ROLE = "operator"


@staff_blp.get("/overview")
@staff_blp.errors(*services.RANGE_ERRORS)
@staff_required(ROLE)
@staff_blp.arguments(RangeQuerySchema, location="query")
@staff_blp.response(200, OverviewSchema)
def overview(query):
    """总览:用户、医院、挂号与陪护订单(数量、金额)、接单率、完成率、好评率、登录、搜索与转化"""
    return services.overview(current_staff(), **query)


@staff_blp.get("/trend")
@staff_blp.errors(*services.RANGE_ERRORS)
@staff_required(ROLE)
@staff_blp.arguments(TrendQuerySchema, location="query")
@staff_blp.response(200, TrendSchema)
def trend(query):
    """趋势:按日/周/月的新增用户、订单数与金额、登录与搜索"""
    return services.trend(current_staff(), **query)


@staff_blp.get("/dimensions")
@staff_blp.errors(*services.RANGE_ERRORS)
@staff_required(ROLE)
@staff_blp.arguments(DimensionQuerySchema, location="query")
@staff_blp.response(200, DimensionPageSchema)
def by_dimension(query):
    """订单分布:按医院、科室或城市,订单多的在前(分页)"""
    return services.by_dimension(current_staff(), **query)


@staff_blp.get("/caregivers")
@staff_blp.errors(*services.RANGE_ERRORS)
@staff_required(ROLE)
@staff_blp.arguments(RangeQuerySchema, location="query")
@staff_blp.response(200, CaregiverStatsSchema)
def caregivers(query):
    """护工:接单率、完成率(每日与合计)与收入分布"""
    return services.caregivers(current_staff(), **query)


@staff_blp.get("/satisfaction")
@staff_blp.errors(*services.RANGE_ERRORS)
@staff_required(ROLE)
@staff_blp.arguments(RangeQuerySchema, location="query")
@staff_blp.response(200, SatisfactionSchema)
def satisfaction(query):
    """满意度:评价星级分布与好评率"""
    return services.satisfaction(current_staff(), **query)


@staff_blp.get("/behaviour")
@staff_blp.errors(*services.RANGE_ERRORS)
@staff_required(ROLE)
@staff_blp.arguments(RangeQuerySchema, location="query")
@staff_blp.response(200, BehaviourSchema)
def behaviour(query):
    """用户行为:登录、搜索与搜索到下单的转化(按日)"""
    return services.behaviour(current_staff(), **query)


EXPORT_TYPES = ("text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def attachment(name: str, content_type: str, body: bytes) -> Response:
    # RFC 5987: the Chinese file name for browsers, an ASCII fallback for the rest
    return Response(body, mimetype=content_type.split(";")[0], headers={
        "Content-Disposition": f"attachment; filename=stats.{name.rsplit('.', 1)[-1]}; "
                               f"filename*=UTF-8''{quote(name)}",
        "X-Content-Type-Options": "nosniff"}, content_type=content_type)


@staff_blp.get("/export")
@staff_blp.errors(*services.RANGE_ERRORS)
@staff_required(ROLE)
@staff_blp.arguments(ExportQuerySchema, location="query")
@staff_blp.doc(responses={"200": {"description": "CSV 或 Excel 文件(表头为中文)", "content": {
    content_type: {"schema": {"type": "string", "format": "binary"}}
    for content_type in EXPORT_TYPES}}})
def export(query):
    """导出一张统计表(CSV 或 Excel);以 = + - @ 开头的文字单元格前加 ' 防止公式注入"""
    fmt = query.pop("format")
    return attachment(*services.export(current_staff(), fmt=fmt, **query))
