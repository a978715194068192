from marshmallow import fields, validate

from app.common.openapi import FileUpload
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, String, Text
from app.dictionary.models import CATEGORIES, IMPORT_MODES, IMPORT_STATUSES
from app.dictionary.services import NAME_MAX, SORT_MAX, SORT_MIN

_category = validate.OneOf(list(CATEGORIES), error="分类应为以下之一: {choices}")
_code = validate.Length(min=1, max=32)
CATEGORY_HELP = ";".join(f"{key} {name}" for key, name in CATEGORIES.items())


class CategorySchema(BaseSchema):
    key = fields.String(validate=_category, metadata={"description": CATEGORY_HELP})
    name = fields.String()
    count = fields.Integer(metadata={"description": "启用的字典项数"})
    max_depth = fields.Integer(metadata={"description": "最多几级"})
    code_rule = fields.String(metadata={"description": "编码规则"})


class CategoryListSchema(BaseSchema):
    items = fields.List(fields.Nested(CategorySchema))


class NodeSchema(BaseSchema):
    id = fields.Integer()
    category = fields.String(validate=_category)
    code = fields.String()
    name = fields.String()
    parent_code = fields.String(allow_none=True, metadata={"description": "上级编码;顶级为 null"})
    sort_order = fields.Integer()
    is_active = fields.Boolean()
    has_children = fields.Boolean(metadata={"description": "是否有启用的下级(选择器显示箭头)"})


class PathItemSchema(BaseSchema):
    code = fields.String()
    name = fields.String()


class NodeDetailSchema(NodeSchema):
    path = fields.List(fields.Nested(PathItemSchema), metadata={"description": "上级链,顶级在前"})
    full_name = fields.String(metadata={"description": "全称,如「广东省 广州市 越秀区」"})


class ChildrenQuerySchema(PageQuerySchema):
    MEMOIZE_QUERY = True
    parent = String(validate=_code, metadata={"description": "上级编码;不填为顶级"})
    page_size = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class SearchQuerySchema(PageQuerySchema):
    MEMOIZE_QUERY = True
    q = Text(32, required=True, min_length=1, metadata={"description": "编码前缀或名称包含的文字"})
    category = String(validate=_category, metadata={"description": "限定分类"})


class NodeCreateSchema(BaseSchema):
    code = Text(32, required=True, min_length=1, metadata={"description": "编码,分类内唯一,创建后不可修改"})
    name = Text(NAME_MAX, required=True, min_length=1)
    parent_code = Text(32, allow_none=True, load_default=None, min_length=1,
                       metadata={"description": "上级编码(同一分类)"})
    sort_order = fields.Integer(load_default=0, validate=validate.Range(min=SORT_MIN, max=SORT_MAX))
    is_active = fields.Boolean(load_default=True)


class NodeUpdateSchema(BaseSchema):
    name = Text(NAME_MAX, min_length=1)
    parent_code = Text(32, allow_none=True, min_length=1,
                       metadata={"description": "移动到该上级之下;null 为移到顶级"})
    sort_order = fields.Integer(validate=validate.Range(min=SORT_MIN, max=SORT_MAX))
    is_active = fields.Boolean(metadata={"description": "false 为停用(选择器不再显示)"})


class ExportQuerySchema(BaseSchema):
    category = String(validate=_category, metadata={"description": "只导出该分类;不填为全部"})


class ImportFormSchema(BaseSchema):
    mode = String(load_default="upsert", validate=validate.OneOf(IMPORT_MODES), metadata={
        "description": "upsert 新增或更新文件中的编码(默认);replace 文件中出现的分类以文件为准,"
                       "删除文件中没有的编码"})
    file = FileUpload(load_only=True, metadata={
        "doc_required": True,
        "description": "Excel 工作簿(.xlsx),表头: 分类、编码、名称、上级编码、排序、启用"})


class ImportErrorSchema(BaseSchema):
    row = fields.Integer(metadata={"description": "Excel 行号(表头为第 1 行);0 为整个文件"})
    column = fields.String()
    code = fields.String()
    message = fields.String()


class ImportSchema(BaseSchema):
    id = fields.Integer()
    status = fields.String(validate=validate.OneOf(IMPORT_STATUSES), metadata={
        "description": "queued 排队中;validating 逐行校验中;applying 写入中;"
                       "succeeded 已全部导入;failed 有错误,未导入任何数据"})
    mode = fields.String(validate=validate.OneOf(IMPORT_MODES))
    filename = fields.String(allow_none=True)
    size_bytes = fields.Integer()
    total_rows = fields.Integer()
    processed_rows = fields.Integer(metadata={"description": "已校验的行数"})
    created_count = fields.Integer()
    updated_count = fields.Integer()
    deleted_count = fields.Integer()
    error_count = fields.Integer()
    errors = fields.List(fields.Nested(ImportErrorSchema),
                         metadata={"description": "错误报告(最多 1000 条)"})
    created_by_staff_id = fields.Integer()
    created_at = LocalDateTime()
    finished_at = LocalDateTime(allow_none=True)
