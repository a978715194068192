from app.common.api import Blueprint

from app.common.auth import current_user, login_required
from app.common.pagination import PageQuerySchema, page_schema
from app.notifications import services
from app.notifications.schemas import NotificationSchema

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="消息通知")


@blp.get("")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(NotificationSchema))
def list_notifications(query):
    """我的消息(最新在前)"""
    return services.list_notifications(current_user(), query["page"], query["page_size"])
