from marshmallow import fields, validate

from app.board.models import CONTENT_STATUSES, MAX_IMAGES, REPORT_STATUSES, TARGET_TYPES
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, String, Text



class BoardSectionSchema(BaseSchema):
    code = fields.String(metadata={"description": "版块代码"})
    name = fields.String(metadata={"description": "版块名称"})


class BoardPostQuerySchema(PageQuerySchema):
    section = String(validate=validate.Length(min=1, max=32),
                     metadata={"description": "版块代码;不填为全部版块"})
    sort = String(load_default="latest", validate=validate.OneOf(["latest", "active"]),
                  metadata={"description": "latest 最新发布在前;active 最新回复在前"})


class BoardPostCreateSchema(BaseSchema):
    section = String(required=True, validate=validate.Length(min=1, max=32),
                     metadata={"description": "版块代码"})
    title = Text(64, required=True, min_length=2, metadata={"description": "标题(纯文本)"})
    body = Text(5000, required=True, min_length=1, metadata={"description": "正文(纯文本)"})
    image_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
                            load_default=list, validate=validate.Length(max=MAX_IMAGES),
                            metadata={"description": "图片:本人以 purpose=board_image 上传的"
                                                     f"文件 id,最多 {MAX_IMAGES} 张,按顺序显示"})


class BoardReplyCreateSchema(BaseSchema):
    body = Text(1000, required=True, min_length=1, metadata={"description": "回复内容(纯文本)"})


class BoardReportCreateSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2, metadata={"description": "举报理由"})


class BoardAuthorSchema(BaseSchema):
    nickname = fields.String(metadata={"description": "昵称(无昵称时为「微信用户」)"})
    avatar_url = fields.String(allow_none=True)


class BoardImageSchema(BaseSchema):
    id = fields.Integer()
    url = fields.String(metadata={"description": "图片地址(需登录凭证,帖子可见时可读)"})


class BoardPostSchema(BaseSchema):
    id = fields.Integer()
    section = fields.String(allow_none=True)
    section_name = fields.String(allow_none=True)
    title = fields.String()
    excerpt = fields.String(metadata={"description": "正文摘要"})
    images = fields.List(fields.Nested(BoardImageSchema))
    reply_count = fields.Integer(metadata={"description": "可见回复数"})
    last_reply_at = LocalDateTime(allow_none=True)
    author = fields.Nested(BoardAuthorSchema)
    is_mine = fields.Boolean(metadata={"description": "是否本人发布(可删除)"})
    created_at = LocalDateTime()


class BoardPostDetailSchema(BoardPostSchema):
    body = fields.String()


class BoardReplySchema(BaseSchema):
    id = fields.Integer()
    post_id = fields.Integer()
    body = fields.String()
    author = fields.Nested(BoardAuthorSchema)
    is_mine = fields.Boolean()
    created_at = LocalDateTime()


class BoardReportSchema(BaseSchema):
    id = fields.Integer()
    target_type = fields.String(validate=validate.OneOf(list(TARGET_TYPES)))
    target_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(REPORT_STATUSES)))
    created_at = LocalDateTime()


# ---- staff -------------------------------------------------------------------------------------

class BoardModerationSchema(BaseSchema):
    status = fields.String(validate=validate.OneOf(list(CONTENT_STATUSES)),
                           metadata={"description": "visible 正常;hidden 已隐藏;deleted 作者已删除"})
    author_user_id = fields.Integer()
    hide_reason = fields.String(allow_none=True)
    hidden_at = LocalDateTime(allow_none=True)


class BoardStaffPostSchema(BoardPostDetailSchema, BoardModerationSchema):
    pass


class BoardStaffReplySchema(BoardReplySchema, BoardModerationSchema):
    pass


class BoardStaffPostQuerySchema(PageQuerySchema):
    status = String(validate=validate.OneOf(list(CONTENT_STATUSES)))
    section = String(validate=validate.Length(min=1, max=32))


class BoardReportQuerySchema(PageQuerySchema):
    status = String(load_default="open", validate=validate.OneOf(list(REPORT_STATUSES)),
                    metadata={"description": "open 待处理(默认,最早在前);handled;dismissed"})


class BoardReportTargetSchema(BaseSchema):
    title = fields.String(allow_none=True, metadata={"description": "帖子标题(回复为所在帖子)"})
    body = fields.String()
    status = fields.String(validate=validate.OneOf(list(CONTENT_STATUSES)))
    author_user_id = fields.Integer()
    author_nickname = fields.String()
    created_at = LocalDateTime()


class BoardStaffReportSchema(BaseSchema):
    id = fields.Integer()
    target_type = fields.String(validate=validate.OneOf(list(TARGET_TYPES)))
    target_id = fields.Integer()
    post_id = fields.Integer()
    reason = fields.String()
    status = fields.String(validate=validate.OneOf(list(REPORT_STATUSES)))
    reporter_nickname = fields.String()
    report_count = fields.Integer(metadata={"description": "该内容被举报的总次数"})
    created_at = LocalDateTime()
    handled_at = LocalDateTime(allow_none=True)
    target = fields.Nested(BoardReportTargetSchema, allow_none=True)


class BoardHideSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2, metadata={"description": "隐藏原因"})


class BoardBanAuthorSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2, metadata={"description": "封禁原因(用户可见)"})


class BoardBannedAuthorSchema(BaseSchema):
    user_id = fields.Integer(attribute="id")
    nickname = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(["active", "banned"]))
    ban_reason = fields.String(allow_none=True)


class BoardBannedWordCreateSchema(BaseSchema):
    word = Text(32, required=True, min_length=1, metadata={
        "description": "违禁词(不区分大小写,忽略空格;帖子标题、正文和回复含有即拒绝)"})


class BoardBannedWordSchema(BaseSchema):
    id = fields.Integer()
    word = fields.String()
    created_at = LocalDateTime()
