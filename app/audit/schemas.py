from marshmallow import ValidationError, fields, validate, validates_schema

from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.staff.models import STAFF_ROLES


class AuditQuerySchema(PageQuerySchema):
    staff_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1),
                              metadata={"description": "执行操作的工作人员"})
    table = Text(64, metadata={"description": "被修改的数据表,如 users、care_orders"})
    row_id = Text(64, metadata={"description": "被修改的记录主键(需同时给出 table)"})
    action = Text(200, metadata={"description": "请求路径(或控制台操作名)的前缀"})
    since = fields.AwareDateTime(metadata={"description": "起始时间(含),ISO 8601 带时区"})
    until = fields.AwareDateTime(metadata={"description": "截止时间(不含),ISO 8601 带时区"})

    @validates_schema
    def _check(self, data, **kwargs):
        if data.get("row_id") and not data.get("table"):
            raise ValidationError("按记录筛选时须同时指定数据表", "row_id")
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ValidationError("截止时间须晚于起始时间", "until")


class AuditChangeSchema(BaseSchema):
    table_name = fields.String()
    row_id = fields.String(allow_none=True, metadata={"description": "批量语句无法逐行记录时为空"})
    operation = fields.String(validate=validate.OneOf(["insert", "update", "delete"]))
    before = fields.Dict(allow_none=True, metadata={
        "description": "修改前的列值;个人信息列只记为 \"<redacted>\",不记值"})
    after = fields.Dict(allow_none=True, metadata={"description": "修改后的列值"})


class AuditEntrySchema(BaseSchema):
    id = fields.Integer()
    occurred_at = LocalDateTime()
    staff_id = fields.Integer()
    staff_role = fields.String(allow_none=True, validate=validate.OneOf(list(STAFF_ROLES)))
    source = fields.String(validate=validate.OneOf(["api", "console", "job", "cli", "wechat"]),
                           metadata={"description": "wechat: 在公众号中的操作(如绑定微信)"})
    ip = fields.String(allow_none=True)
    method = fields.String(allow_none=True)
    action = fields.String(metadata={"description": "请求路径或操作名"})
    request_id = fields.String(allow_none=True)


class AuditEntryDetailSchema(AuditEntrySchema):
    changes = fields.List(fields.Nested(AuditChangeSchema))
