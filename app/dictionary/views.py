"""Data dictionary API: public reads for the mini-program's pickers (no login; cacheable, with
an ETag so a picker reopened revalidates with a 304), and the staff maintenance routes."""
from flask import Response, after_this_request, request

from app.common.api import Blueprint
from app.common.auth import current_staff, staff_required
from app.common.pagination import PageQuerySchema, page_schema
from app.dictionary import services
from app.dictionary.schemas import (CategoryListSchema, ChildrenQuerySchema, ExportQuerySchema,
                                    ImportFormSchema, ImportSchema, NodeCreateSchema,
                                    NodeDetailSchema, NodeSchema, NodeUpdateSchema,
                                    SearchQuerySchema)

PUBLIC_MAX_AGE = 300  # seconds a picker may reuse an answer before revalidating

blp = Blueprint("dictionary", __name__, url_prefix="/api/v1/dictionary", description="数据字典")
CATEGORY_NOT_FOUND = (404, "dictionary_category_not_found")


def _public_cache():
    @after_this_request
    def headers(response):
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
        return response


@blp.get("/categories")
@blp.etag
@blp.response(200, CategoryListSchema)
def categories():
    """字典分类(行政区划、医院等级、证件类型、标准科室、护理技能、学历、民族)"""
    _public_cache()
    return {"items": services.list_categories()}


@blp.get("/<category>/children")
@blp.errors(CATEGORY_NOT_FOUND, services.NodeNotFound)
@blp.etag
@blp.arguments(ChildrenQuerySchema, location="query")
@blp.response(200, page_schema(NodeSchema))
def children(query, category):
    """某节点的下级(不填 parent 为顶级),按排序;只含启用的项。例: region 顶级为各省,
    parent=440000 为广东省各市,parent=440100 为广州市各区"""
    _public_cache()
    return services.list_children(category=category, parent_code=query.get("parent"),
                                  page=query["page"], page_size=query["page_size"])


@blp.get("/<category>/nodes/<code>")
@blp.errors(CATEGORY_NOT_FOUND, services.NodeNotFound)
@blp.etag
@blp.response(200, NodeDetailSchema)
def node(category, code):
    """按编码查询一项(含上级链与全称;已停用的编码也可查到名称)"""
    _public_cache()
    return services.get_node(category=category, code=code)


@blp.get("/search")
@blp.errors(CATEGORY_NOT_FOUND)
@blp.etag
@blp.arguments(SearchQuerySchema, location="query")
@blp.response(200, page_schema(NodeSchema))
def search(query):
    """按编码前缀或名称搜索(编码完全相同的排在最前)"""
    _public_cache()
    return services.search(q=query["q"], category=query.get("category"), page=query["page"],
                           page_size=query["page_size"])


staff_blp = Blueprint("dictionary_staff", __name__, url_prefix="/api/v1/staff/dictionary",
                      description="数据字典维护")


@staff_blp.get("/<category>/nodes")
@staff_blp.errors(CATEGORY_NOT_FOUND, services.NodeNotFound)
@staff_required("operator")
@staff_blp.arguments(ChildrenQuerySchema, location="query")
@staff_blp.response(200, page_schema(NodeSchema))
def staff_children(query, category):
    """某节点的下级,含已停用的项(运营、管理员)"""
    return services.staff_list(current_staff(), category=category,
                               parent_code=query.get("parent"), page=query["page"],
                               page_size=query["page_size"])


@staff_blp.post("/<category>/nodes")
@staff_blp.errors(CATEGORY_NOT_FOUND, *services.CREATE_ERRORS)
@staff_required("admin")
@staff_blp.arguments(NodeCreateSchema)
@staff_blp.response(201, NodeSchema)
def create(body, category):
    """新增字典项(管理员);编码按分类校验,行政区划须与上级编码前缀一致"""
    return services.create_node(current_staff(), category=category, **body)


@staff_blp.patch("/<category>/nodes/<code>")
@staff_blp.errors(CATEGORY_NOT_FOUND, *services.UPDATE_ERRORS)
@staff_required("admin")
@staff_blp.arguments(NodeUpdateSchema)
@staff_blp.response(200, NodeSchema)
def update(body, category, code):
    """修改名称、排序、启用状态,或移动到另一上级(管理员);移到自身下级之下会被拒绝"""
    return services.update_node(current_staff(), category=category, code=code, **body)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@staff_blp.get("/export")
@staff_blp.errors(CATEGORY_NOT_FOUND)
@staff_blp.doc(responses={"200": {"description": "Excel 工作簿", "content": {
    XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
@staff_required("operator")
@staff_blp.arguments(ExportQuerySchema, location="query")
def export(query):
    """导出为 Excel(表头: 分类、编码、名称、上级编码、排序、启用);可只导出一个分类"""
    category = query.get("category")
    data = services.export_workbook(current_staff(), category=category)
    name = f"dictionary-{category or 'all'}.xlsx"
    return Response(data, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


@staff_blp.post("/imports")
@staff_blp.errors(*services.IMPORT_ERRORS, (409, "dictionary_busy"))
@staff_required("admin")
@staff_blp.arguments(ImportFormSchema, location="form", content_type="multipart/form-data")
@staff_blp.response(201, ImportSchema, description="小文件:已在本次请求中全部导入")
@staff_blp.alt_response(202, schema=ImportSchema,
                        description="大文件:已排队,按 id 查询进度(GET /imports/{id})")
def start_import(form):
    """导入 Excel(管理员):先逐行校验全部数据,有任何错误则返回带行号的错误报告且不导入任何
    数据;超过 50000 行或 5 MB 的文件被拒绝。小文件在本次请求内完成(201),大文件转为后台任务
    (202)"""
    result, status = services.start_import(current_staff(), upload=request.files.get("file"),
                                           mode=form["mode"])
    return result, status


@staff_blp.get("/imports")
@staff_required("operator")
@staff_blp.arguments(PageQuerySchema, location="query")
@staff_blp.response(200, page_schema(ImportSchema))
def imports(query):
    """导入记录,新的在前"""
    return services.list_imports(current_staff(), page=query["page"],
                                 page_size=query["page_size"])


@staff_blp.get("/imports/<int:import_id>")
@staff_blp.errors(services.ImportNotFound)
@staff_required("operator")
@staff_blp.response(200, ImportSchema)
def import_status(import_id):
    """导入进度与错误报告(status、processed_rows / total_rows、errors)"""
    return services.get_import(current_staff(), import_id=import_id)
