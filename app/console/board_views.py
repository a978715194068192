"""The discussion board's moderation pages: the reports queue, every post by status (hide,
restore, ban the author) and the banned-words editor. Operators (and admins)."""
from flask import flash, redirect, render_template, request, url_for

from app.board import services as board_services
from app.board.models import CONTENT_STATUSES, REPORT_STATUSES, TARGET_TYPES
from app.board.schemas import BoardBanAuthorSchema, BoardBannedWordCreateSchema, BoardHideSchema
from app.common.auth import current_staff
from app.console.views import _safe_next, bp, page_arg, role_required

TARGET = "<any(post,reply):target_type>/<int:target_id>"


def _back(message: str):
    flash(message, "success")
    return redirect(_safe_next(request.form.get("next")), code=303)


@bp.get("/board")
@role_required("operator")
def board():
    """view=reports (the queue, by report status) or view=posts (by content status)."""
    view = request.args.get("view") if request.args.get("view") in ("reports", "posts") \
        else "reports"
    status = request.args.get("status", "")
    if view == "reports":
        status = status if status in REPORT_STATUSES else "open"
        result = board_services.list_reports(current_staff(), status=status, page=page_arg())
    else:
        status = status if status in CONTENT_STATUSES else ""
        result = board_services.staff_list_posts(current_staff(), status=status or None,
                                                 page=page_arg())
    return render_template("console/board.html", view=view, status=status, result=result,
                           report_statuses=REPORT_STATUSES, content_statuses=CONTENT_STATUSES,
                           target_types=TARGET_TYPES, here=request.full_path.rstrip("?"))


@bp.get("/board/posts/<int:post_id>")
@role_required("operator")
def board_post(post_id):
    post = board_services.staff_get_post(current_staff(), post_id=post_id)
    replies = board_services.staff_list_replies(current_staff(), post_id=post_id,
                                                page=page_arg(), page_size=50)
    return render_template("console/board_post.html", post=post, replies=replies,
                           content_statuses=CONTENT_STATUSES,
                           here=request.full_path.rstrip("?"))


@bp.post(f"/board/{TARGET}/hide")
@role_required("operator")
def board_hide(target_type, target_id):
    body = BoardHideSchema().load({"reason": request.form.get("reason", "")})
    board_services.hide(current_staff(), target_type=target_type, target_id=target_id, **body)
    return _back(f"已隐藏{TARGET_TYPES[target_type]} {target_id}")


@bp.post(f"/board/{TARGET}/restore")
@role_required("operator")
def board_restore(target_type, target_id):
    board_services.restore(current_staff(), target_type=target_type, target_id=target_id)
    return _back(f"已恢复{TARGET_TYPES[target_type]} {target_id}")


@bp.post(f"/board/{TARGET}/ban")
@role_required("operator")
def board_ban(target_type, target_id):
    body = BoardBanAuthorSchema().load({"reason": request.form.get("reason", "")})
    user = board_services.ban_author(current_staff(), target_type=target_type,
                                     target_id=target_id, **body)
    return _back(f"已封禁作者(用户 {user.id})")


@bp.post("/board/reports/<int:report_id>/dismiss")
@role_required("operator")
def board_dismiss(report_id):
    board_services.dismiss_report(current_staff(), report_id=report_id)
    return _back(f"已驳回举报 {report_id}")


@bp.get("/board/words")
@role_required("operator")
def board_words():
    words = board_services.list_banned_words(current_staff())
    return render_template("console/board_words.html", words=words)


@bp.post("/board/words")
@role_required("operator")
def board_word_add():
    body = BoardBannedWordCreateSchema().load({"word": request.form.get("word", "")})
    record = board_services.add_banned_word(current_staff(), **body)
    flash(f"已添加违禁词「{record.word}」", "success")
    return redirect(url_for("console.board_words"), code=303)


@bp.post("/board/words/<int:word_id>/delete")
@role_required("operator")
def board_word_delete(word_id):
    board_services.delete_banned_word(current_staff(), word_id=word_id)
    flash("已删除违禁词", "success")
    return redirect(url_for("console.board_words"), code=303)
