"""The statistics dashboard in the console (operations staff and admins): the same services as
GET /api/v1/staff/stats/..., their answers dumped with the API's schemas and embedded in the
page as JSON for the ECharts charts (app/console/static/stats.js; the page's CSP allows no
inline script), and the same exports. Filters go through the API's query schemas, so the page
refuses what the API refuses, with the same codes."""
from flask import render_template, request

from app.common.auth import current_staff
from app.console.views import bp, role_required
from app.stats import services
from app.stats.models import DIMENSIONS
from app.stats.schemas import (GRANULARITIES, BehaviourSchema, CaregiverStatsSchema,
                               DimensionPageSchema, ExportQuerySchema, OverviewSchema,
                               SatisfactionSchema, TrendQuerySchema, TrendSchema)
from app.stats.views import attachment

TOP_ROWS = 10  # the bar chart's rows; the table export has them all
FILTERS = ("from", "to", "dimension", "granularity")


def _filters() -> tuple[dict, dict]:
    """The form's values (blank ones dropped), loaded by the API's trend schema plus the
    dimension, which refuses what the API would."""
    given = {name: request.args.get(name, "").strip()[:20] for name in FILTERS}
    values = {name: value for name, value in given.items() if value}
    dimension = values.pop("dimension", "hospital")
    query = TrendQuerySchema().load(values)
    if dimension not in DIMENSIONS:
        from app.errors import ValidationFailed

        raise ValidationFailed.for_field("dimension", "维度应为医院、科室或城市",
                                         code="invalid_dimension")
    return {**query, "dimension": dimension}, given


@bp.get("/stats")
@role_required("operator")
def stats_dashboard():
    query, given = _filters()
    staff = current_staff()
    span = {"start": query["start"], "end": query["end"]}
    overview = services.overview(staff, **span)
    span = {"start": overview["start"], "end": overview["end"]}  # defaults resolved once
    data = {
        "overview": OverviewSchema().dump(overview),
        "trend": TrendSchema().dump(services.trend(staff, **span,
                                                   granularity=query["granularity"])),
        "dimension": DimensionPageSchema().dump(services.by_dimension(
            staff, **span, dimension=query["dimension"], page=1, page_size=TOP_ROWS)),
        "caregivers": CaregiverStatsSchema().dump(services.caregivers(staff, **span)),
        "satisfaction": SatisfactionSchema().dump(services.satisfaction(staff, **span)),
        "behaviour": BehaviourSchema().dump(services.behaviour(staff, **span)),
    }
    links = {"from": span["start"].isoformat(), "to": span["end"].isoformat(),
             "dimension": query["dimension"], "granularity": query["granularity"]}
    return render_template("console/stats.html", data=data, o=overview, filters=given,
                           links=links, dimensions=DIMENSIONS, granularities=GRANULARITIES,
                           tables=services.EXPORT_TABLES)


@bp.get("/stats/export")
@role_required("operator")
def stats_export():
    values = {name: value.strip()[:20] for name, value in request.args.items() if value.strip()}
    query = ExportQuerySchema().load(values)
    fmt = query.pop("format")
    return attachment(*services.export(current_staff(), fmt=fmt, **query))
