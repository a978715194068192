"""The data dictionary in the console: browse a category's tree, search by code or name, edit a
node, upload a workbook and watch its import, download the export. The same services as the
staff API; forms go through the API's schemas, so a page refuses what the API refuses."""
from flask import Response, render_template, request

from app.common.auth import current_staff
from app.console.views import bp, done, page_arg, role_required
from app.dictionary import services
from app.dictionary.models import CATEGORIES
from app.dictionary.schemas import NodeCreateSchema, NodeUpdateSchema
from app.dictionary.views import XLSX

RUNNING = ("queued", "validating", "applying")


def _category(value: str | None) -> str:
    return value if value in CATEGORIES else "region"


@bp.get("/dictionary")
@role_required("operator")
def dictionary():
    category = _category(request.args.get("category"))
    parent = request.args.get("parent", "").strip()[:32] or None
    q = request.args.get("q", "").strip()[:32]
    staff = current_staff()
    node = path = None
    if q:
        result = services.search(q=q, category=category, include_inactive=True, page=page_arg(),
                                 page_size=50)
    else:
        if parent:
            node = services.get_node(category=category, code=parent)
            path = node["path"]
        result = services.list_children(category=category, parent_code=parent,
                                        include_inactive=True, page=page_arg(), page_size=50)
    return render_template("console/dictionary.html", categories=services.list_categories(),
                           category=category, names=CATEGORIES, parent=parent, node=node,
                           path=path or [], q=q, result=result,
                           imports=services.list_imports(staff, page=1, page_size=5))


@bp.route("/dictionary/<category>/<code>", methods=["GET", "POST"])
@role_required("operator")
def dictionary_node(category, code):
    node = services.get_node(category=category, code=code)
    if request.method == "POST":
        if not _can_admin():
            from app.console.views import ConsoleForbidden
            raise ConsoleForbidden()
        form = {"name": request.form.get("name", ""),
                "sort_order": request.form.get("sort_order", "0") or "0",
                "is_active": request.form.get("is_active") == "1",
                "parent_code": request.form.get("parent_code", "").strip() or None}
        body = NodeUpdateSchema().load(form)
        services.update_node(current_staff(), category=category, code=code, **body)
        return done("已保存", "console.dictionary_node", category=category, code=code)
    return render_template("console/dictionary_node.html", node=node, names=CATEGORIES)


def _can_admin() -> bool:
    from app.console.views import _can
    return _can("admin")


@bp.post("/dictionary/<category>")
@role_required("admin")
def dictionary_create(category):
    form = {"code": request.form.get("code", ""), "name": request.form.get("name", ""),
            "sort_order": request.form.get("sort_order", "0") or "0",
            "parent_code": request.form.get("parent_code", "").strip() or None}
    body = NodeCreateSchema().load(form)
    node = services.create_node(current_staff(), category=_checked(category), **body)
    return done(f"已新增 {node['code']} {node['name']}", "console.dictionary", category=category,
                parent=node["parent_code"] or None)


def _checked(category: str) -> str:
    if category not in CATEGORIES:
        raise services.NodeNotFound("字典分类不存在", code="dictionary_category_not_found")
    return category


@bp.post("/dictionary/import")
@role_required("admin")
def dictionary_import():
    mode = request.form.get("mode", "upsert")
    try:
        result, _ = services.start_import(current_staff(), upload=request.files.get("file"),
                                          mode=mode)
    except services.ImportInvalid as error:
        return render_template("console/dictionary_import.html", record=None,
                               refused=error.details, running=False), 422
    return done("导入已完成" if result["status"] == "succeeded" else "已开始导入,请稍候",
                "console.dictionary_import_status", import_id=result["id"])


@bp.get("/dictionary/imports/<int:import_id>")
@role_required("operator")
def dictionary_import_status(import_id):
    record = services.get_import(current_staff(), import_id=import_id)
    return render_template("console/dictionary_import.html", record=record, refused=None,
                           running=record["status"] in RUNNING)


@bp.get("/dictionary/export")
@role_required("operator")
def dictionary_export():
    category = request.args.get("category") or None
    if category is not None:
        _checked(category)
    data = services.export_workbook(current_staff(), category=category)
    return Response(data, mimetype=XLSX, headers={
        "Content-Disposition": f'attachment; filename="dictionary-{category or "all"}.xlsx"',
        "Cache-Control": "private, no-store"})
