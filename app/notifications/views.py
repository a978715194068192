from app.common.api import Blueprint

from app.common.auth import current_user, login_required
from app.common.pagination import page_schema
from app.notifications import services
from app.notifications.schemas import (MarkedReadSchema, NotificationQuerySchema,
                                       NotificationSchema, UnreadCountSchema)

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="消息通知")


@blp.get("")
@login_required
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, page_schema(NotificationSchema))
def list_notifications(query):
    """我的消息(最新在前;unread=true 只看未读)"""
    return services.list_notifications(current_user(), unread=query.get("unread"),
                                       page=query["page"], page_size=query["page_size"])


@blp.get("/unread-count")
@login_required
@blp.response(200, UnreadCountSchema)
def unread_count():
    """未读消息数"""
    return services.unread_count(current_user())


@blp.post("/<int:notification_id>/read")
@blp.errors(services.NotificationNotFound)
@login_required
@blp.response(200, NotificationSchema)
def mark_read(notification_id):
    """标记一条消息已读(重复标记无影响)"""
    return services.mark_read(current_user(), notification_id=notification_id)


@blp.post("/read-all")
@login_required
@blp.response(200, MarkedReadSchema)
def mark_all_read():
    """全部标记已读,返回本次标记的条数"""
    return services.mark_all_read(current_user())
