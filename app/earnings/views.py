from app.caregivers.ownership import CaregiverNotFound
from app.common.api import Blueprint
from app.common.auth import current_user, login_required
from app.earnings import models as _models  # noqa: F401  (tables for migrations)
from app.earnings import services
from app.earnings.schemas import IncomeQuerySchema, IncomeSchema

blp = Blueprint("earnings", __name__, url_prefix="/api/v1", description="护工收入")


@blp.get("/caregiver/income")
@blp.errors(CaregiverNotFound)
@login_required
@blp.arguments(IncomeQuerySchema, location="query")
@blp.response(200, IncomeSchema)
def income(query):
    """我的收入:明细(新的在前,可按月份、结算状态筛选)、待结算与已结算合计、最近 12 个月汇总"""
    return services.income(current_user(), month=query.get("month"),
                           status=query.get("status"), page=query["page"],
                           page_size=query["page_size"])
