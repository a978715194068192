from app.audit import services
from app.audit.schemas import AuditEntryDetailSchema, AuditEntrySchema, AuditQuerySchema
from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.common.pagination import page_schema

staff_blp = Blueprint("audit_log", __name__, url_prefix="/api/v1/staff/audit-log",
                      description="审计日志(仅管理员)")


@staff_blp.get("")
@staff_required("admin")
@staff_blp.arguments(AuditQuerySchema, location="query")
@staff_blp.response(200, page_schema(AuditEntrySchema))
def list_entries(query):
    """审计日志:工作人员的每次操作(最新在前),可按人员、数据表与记录、路径前缀、时间筛选"""
    return services.list_entries(current_staff(), **query)


@staff_blp.get("/<int:entry_id>")
@staff_blp.errors(services.AuditEntryNotFound)
@staff_required("admin")
@staff_blp.response(200, AuditEntryDetailSchema)
def get_entry(entry_id):
    """一次操作的详情:修改了哪些记录,各列修改前后的值(个人信息不显示值)"""
    return services.get_entry(current_staff(), entry_id=entry_id)
