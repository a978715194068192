from flask import current_app, g

from app.board import services
from app.board.schemas import (
    BoardBanAuthorSchema, BoardBannedAuthorSchema, BoardBannedWordCreateSchema,
    BoardBannedWordSchema, BoardHideSchema, BoardPostCreateSchema, BoardPostDetailSchema,
    BoardPostQuerySchema, BoardPostSchema, BoardReplyCreateSchema, BoardReplySchema,
    BoardReportCreateSchema, BoardReportQuerySchema, BoardReportSchema, BoardSectionSchema,
    BoardStaffPostQuerySchema, BoardStaffPostSchema, BoardStaffReplySchema, BoardStaffReportSchema)
from app.common.api import Blueprint
from app.common.auth import current_staff, current_user, login_required, staff_required
from app.common.models import InvalidTransition
from app.common.pagination import PageQuerySchema, page_schema
from app.extensions import limiter
from app.files.views import FILE_RESPONSE_DOC, file_response
from app.files.services import file_bytes

blp = Blueprint("board", __name__, url_prefix="/api/v1/board", description="讨论区")
staff_blp = Blueprint("board_moderation", __name__, url_prefix="/api/v1/staff/board",
                      description="讨论区管理")


def _user_key():
    """Limits are per account: many users share a carrier's address."""
    return f"user:{g.current_user_id}"


def _limit(config_key: str, scope: str):
    return limiter.limit(lambda: current_app.config[config_key], key_func=_user_key, scope=scope)


# ---- users -------------------------------------------------------------------------------------

@blp.get("/sections")
@login_required
@blp.response(200, BoardSectionSchema(many=True))
def sections():
    """讨论区版块(就医经验、健康咨询、陪护交流)"""
    return services.list_sections(current_user())


@blp.get("/posts")
@blp.errors(services.SectionUnknown)
@login_required
@blp.arguments(BoardPostQuerySchema, location="query")
@blp.response(200, page_schema(BoardPostSchema))
def list_posts(query):
    """帖子列表:可按版块筛选,按最新发布或最新回复排序(分页)"""
    return services.list_posts(current_user(), **query)


@blp.post("/posts")
@blp.errors(*services.POST_ERRORS)
@login_required
@_limit("BOARD_POST_RATE_LIMIT", "board-post")
@blp.arguments(BoardPostCreateSchema)
@blp.response(201, BoardPostDetailSchema)
def create_post(body):
    """发帖:标题、正文(纯文本,不能含 HTML 标签或违禁词)和最多 9 张本人上传的图片"""
    return services.create_post(current_user(), **body)


@blp.get("/mine")
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(BoardPostSchema))
def my_posts(query):
    """我的帖子(最新在前;被隐藏或已删除的不再显示)"""
    return services.my_posts(current_user(), **query)


@blp.get("/posts/<int:post_id>")
@blp.errors(services.PostNotFound)
@login_required
@blp.response(200, BoardPostDetailSchema)
def get_post(post_id):
    """帖子详情"""
    return services.get_post(current_user(), post_id=post_id)


@blp.delete("/posts/<int:post_id>")
@blp.errors(services.PostNotFound)
@login_required
@blp.response(204)
def delete_post(post_id):
    """删除本人的帖子"""
    services.delete_post(current_user(), post_id=post_id)


@blp.get("/posts/<int:post_id>/images/<int:file_id>")
@blp.errors(services.PostNotFound, (404, "file_not_found"))
@blp.doc(responses=FILE_RESPONSE_DOC)
@login_required
def post_image(post_id, file_id):
    """帖子图片(帖子可见时,任何登录用户可读)"""
    record = services.post_image(current_user(), post_id=post_id, file_id=file_id)
    return file_response(record, file_bytes(record))


@blp.get("/posts/<int:post_id>/replies")
@blp.errors(services.PostNotFound)
@login_required
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(BoardReplySchema))
def list_replies(query, post_id):
    """帖子的回复(按时间先后,分页)"""
    return services.list_replies(current_user(), post_id=post_id, **query)


@blp.post("/posts/<int:post_id>/replies")
@blp.errors(*services.REPLY_ERRORS)
@login_required
@_limit("BOARD_REPLY_RATE_LIMIT", "board-reply")
@blp.arguments(BoardReplyCreateSchema)
@blp.response(201, BoardReplySchema)
def create_reply(body, post_id):
    """回帖(纯文本,不能含 HTML 标签或违禁词)"""
    return services.create_reply(current_user(), post_id=post_id, **body)


@blp.delete("/replies/<int:reply_id>")
@blp.errors(services.ReplyNotFound)
@login_required
@blp.response(204)
def delete_reply(reply_id):
    """删除本人的回复"""
    services.delete_reply(current_user(), reply_id=reply_id)


REPORT_ERRORS = (services.AlreadyReported, services.CannotReportOwn)


@blp.post("/posts/<int:post_id>/reports")
@blp.errors(services.PostNotFound, *REPORT_ERRORS)
@login_required
@_limit("BOARD_REPORT_RATE_LIMIT", "board-report")
@blp.arguments(BoardReportCreateSchema)
@blp.response(201, BoardReportSchema)
def report_post(body, post_id):
    """举报帖子(每人对同一帖子只能举报一次)"""
    return services.report(current_user(), target_type="post", target_id=post_id, **body)


@blp.post("/replies/<int:reply_id>/reports")
@blp.errors(services.ReplyNotFound, *REPORT_ERRORS)
@login_required
@_limit("BOARD_REPORT_RATE_LIMIT", "board-report")
@blp.arguments(BoardReportCreateSchema)
@blp.response(201, BoardReportSchema)
def report_reply(body, reply_id):
    """举报回复(每人对同一回复只能举报一次)"""
    return services.report(current_user(), target_type="reply", target_id=reply_id, **body)


# ---- staff -------------------------------------------------------------------------------------

@staff_blp.get("/reports")
@staff_required("operator")
@staff_blp.arguments(BoardReportQuerySchema, location="query")
@staff_blp.response(200, page_schema(BoardStaffReportSchema))
def reports(query):
    """举报队列(默认待处理,最早在前),含被举报内容与作者"""
    return services.list_reports(current_staff(), **query)


@staff_blp.post("/reports/<int:report_id>/dismiss")
@staff_blp.errors(services.ReportNotFound, InvalidTransition)
@staff_required("operator")
@staff_blp.response(200, BoardStaffReportSchema)
def dismiss_report(report_id):
    """驳回举报(内容不违规)"""
    return services.dismiss_report(current_staff(), report_id=report_id)


@staff_blp.get("/posts")
@staff_blp.errors(services.SectionUnknown)
@staff_required("operator")
@staff_blp.arguments(BoardStaffPostQuerySchema, location="query")
@staff_blp.response(200, page_schema(BoardStaffPostSchema))
def staff_posts(query):
    """全部帖子(含已隐藏、已删除),最新在前"""
    return services.staff_list_posts(current_staff(), **query)


@staff_blp.get("/posts/<int:post_id>/replies")
@staff_blp.errors(services.PostNotFound)
@staff_required("operator")
@staff_blp.arguments(PageQuerySchema, location="query")
@staff_blp.response(200, page_schema(BoardStaffReplySchema))
def staff_replies(query, post_id):
    """帖子的全部回复(含已隐藏、已删除)"""
    return services.staff_list_replies(current_staff(), post_id=post_id, **query)


def _moderation_routes(target_type: str, converter: str, not_found, schema):
    """hide, restore and ban-author for posts and replies (the same three for both)."""
    path = {"post": "/posts", "reply": "/replies"}[target_type] + f"/<int:{converter}>"
    name = {"post": "帖子", "reply": "回复"}[target_type]

    @staff_blp.post(f"{path}/hide", endpoint=f"hide_{target_type}")
    @staff_blp.doc(summary=f"隐藏{name}(对所有用户不可见,待处理的举报一并处理)")
    @staff_blp.errors(not_found, InvalidTransition)
    @staff_required("operator")
    @staff_blp.arguments(BoardHideSchema)
    @staff_blp.response(200, schema)
    def hide(body, **ids):
        return services.hide(current_staff(), target_type=target_type, target_id=ids[converter],
                             **body)

    @staff_blp.post(f"{path}/restore", endpoint=f"restore_{target_type}")
    @staff_blp.doc(summary=f"恢复被隐藏的{name}")
    @staff_blp.errors(not_found, InvalidTransition)
    @staff_required("operator")
    @staff_blp.response(200, schema)
    def restore(**ids):
        return services.restore(current_staff(), target_type=target_type,
                                target_id=ids[converter])

    @staff_blp.post(f"{path}/ban-author", endpoint=f"ban_{target_type}_author")
    @staff_blp.doc(summary=f"封禁{name}的作者(立即使其所有登录凭证失效)")
    @staff_blp.errors(not_found, (404, "user_not_found"), InvalidTransition)
    @staff_required("operator")
    @staff_blp.arguments(BoardBanAuthorSchema)
    @staff_blp.response(200, BoardBannedAuthorSchema)
    def ban_author(body, **ids):
        return services.ban_author(current_staff(), target_type=target_type,
                                   target_id=ids[converter], **body)



_moderation_routes("post", "post_id", services.PostNotFound, BoardStaffPostSchema)
_moderation_routes("reply", "reply_id", services.ReplyNotFound, BoardStaffReplySchema)


@staff_blp.get("/banned-words")
@staff_required("operator")
@staff_blp.response(200, BoardBannedWordSchema(many=True))
def banned_words():
    """违禁词列表"""
    return services.list_banned_words(current_staff())


@staff_blp.post("/banned-words")
@staff_blp.errors(services.BannedWordExists, services.BannedWordInvalid)
@staff_required("operator")
@staff_blp.arguments(BoardBannedWordCreateSchema)
@staff_blp.response(201, BoardBannedWordSchema)
def add_banned_word(body):
    """添加违禁词"""
    return services.add_banned_word(current_staff(), **body)


@staff_blp.delete("/banned-words/<int:word_id>")
@staff_blp.errors(services.BannedWordNotFound)
@staff_required("operator")
@staff_blp.response(204)
def delete_banned_word(word_id):
    """删除违禁词"""
    services.delete_banned_word(current_staff(), word_id=word_id)
