from app.common.api import Blueprint
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.points import services
from app.points.schemas import (MyPointsSchema, PointsQuerySchema, PointsRulesSchema,
                                PointsRulesUpdateSchema)
from app.settings import points_rules

blp = Blueprint("points", __name__, url_prefix="/api/v1", description="积分")
staff_blp = Blueprint("points_settings", __name__, url_prefix="/api/v1/staff/settings",
                      description="积分规则")


@blp.get("/me/points")
@login_required
@blp.arguments(PointsQuerySchema, location="query")
@blp.response(200, MyPointsSchema)
def my_points(query):
    """我的积分:可用余额、30 天内到期的积分和积分明细(分页,最新在前)"""
    return services.my_points(current_user(), page=query["page"], page_size=query["page_size"])


@staff_blp.get("/points")
@staff_required("admin")
@staff_blp.response(200, PointsRulesSchema)
def get_points_rules():
    """积分规则:就诊与陪护订单获得的积分、积分抵扣的金额与比例上限、有效期"""
    return points_rules.get_points_rules(current_staff())


@staff_blp.patch("/points")
@staff_blp.errors(points_rules.PointsRulesBusy, (422, "nothing_to_change"))
@staff_required("admin")
@staff_blp.arguments(PointsRulesUpdateSchema)
@staff_blp.response(200, PointsRulesSchema)
def update_points_rules(body):
    """修改积分规则(可只改部分项;对之后获得和使用的积分生效,已获得积分的有效期不变)"""
    return points_rules.update_points_rules(current_staff(), changes=body)
