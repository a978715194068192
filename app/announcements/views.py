from app.announcements import services
from app.announcements.schemas import AnnouncementCreateSchema, AnnouncementSchema
from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.common.pagination import PageQuerySchema, page_schema

staff_blp = Blueprint("announcements", __name__, url_prefix="/api/v1/staff/announcements",
                      description="平台公告")


@staff_blp.post("")
@staff_blp.errors(*services.CREATE_ERRORS)
@staff_required("operator")
@staff_blp.arguments(AnnouncementCreateSchema)
@staff_blp.response(201, AnnouncementSchema)
def create_announcement(body):
    """发布公告:发送范围内的每位用户收到站内信,有剩余订阅次数的用户同时收到微信订阅消息;
    分批发送,进度见公告详情"""
    return services.create_announcement(current_staff(), **body)


@staff_blp.get("")
@staff_required("operator")
@staff_blp.arguments(PageQuerySchema, location="query")
@staff_blp.response(200, page_schema(AnnouncementSchema))
def list_announcements(query):
    """公告列表(最新在前),含发送进度"""
    return services.list_announcements(current_staff(), page=query["page"],
                                       page_size=query["page_size"])


@staff_blp.get("/<int:announcement_id>")
@staff_blp.errors(services.AnnouncementNotFound)
@staff_required("operator")
@staff_blp.response(200, AnnouncementSchema)
def get_announcement(announcement_id):
    """公告详情与发送进度:收件人数、已写入站内信数、微信推送的已发送/失败/无订阅次数/待发送"""
    return services.get_announcement(current_staff(), announcement_id=announcement_id)
