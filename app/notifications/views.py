from app.common.api import Blueprint

from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.pagination import page_schema
from app.notifications import services
from app.notifications.schemas import (MarkedReadSchema, MessageTemplateListSchema,
                                       MessageTemplateSchema, MessageTemplateUpdateSchema,
                                       NotificationQuerySchema, NotificationSchema,
                                       SubscriptionListSchema, SubscriptionReportSchema,
                                       UnreadCountSchema)

blp = Blueprint("notifications", __name__, url_prefix="/api/v1/notifications",
                description="消息通知")


@blp.get("")
@login_required
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, page_schema(NotificationSchema))
def list_notifications(query):
    """我的消息(最新在前;unread=true 只看未读)"""
    return services.list_notifications(current_user(), unread=query.get("unread"),
                                       kind=query.get("kind"), page=query["page"],
                                       page_size=query["page_size"])


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


subscriptions_blp = Blueprint("subscriptions", __name__, url_prefix="/api/v1/subscriptions",
                              description="订阅消息")


@subscriptions_blp.get("")
@login_required
@subscriptions_blp.response(200, SubscriptionListSchema)
def list_subscriptions():
    """可订阅的消息模板(调用 wx.requestSubscribeMessage 时使用)及每个模板剩余可推送次数"""
    return services.list_subscriptions(current_user())


@subscriptions_blp.post("")
@subscriptions_blp.errors(services.UnknownTemplate)
@login_required
@subscriptions_blp.arguments(SubscriptionReportSchema)
@subscriptions_blp.response(200, SubscriptionListSchema)
def report_subscriptions(body):
    """上报 wx.requestSubscribeMessage 的结果:每个 accept 增加一次该模板的推送次数"""
    return services.report_subscriptions(current_user(), results=body["results"])


staff_blp = Blueprint("message_templates", __name__, url_prefix="/api/v1/staff/message-templates",
                      description="消息模板管理")


@staff_blp.get("")
@staff_required("operator")
@staff_blp.response(200, MessageTemplateListSchema)
def list_templates():
    """每个消息事件使用的微信模板、字段映射和打开的页面"""
    return services.list_templates(current_staff())


@staff_blp.patch("/<string:event>")
@staff_blp.errors(services.TemplateEventNotFound)
@staff_required("operator")
@staff_blp.arguments(MessageTemplateUpdateSchema)
@staff_blp.response(200, MessageTemplateSchema)
def update_template(body, event):
    """修改一个事件的模板 ID、名称、字段映射、页面或开关"""
    return services.update_template(current_staff(), event=event, changes=body)
