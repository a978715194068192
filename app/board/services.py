"""The discussion board: users post (title, text, up to 9 of their own uploaded images) and
reply in sections, delete their own, and report what breaks the rules; staff work the reports
queue, hide and restore content, ban authors and keep the banned-words list.

Visibility: users (authors included) see visible content only. A hidden or deleted post answers
404 to everyone but staff, with its replies; a hidden reply is left out of the replies and of
the post's reply count. Staff see everything through the staff functions.

Text is plain text: anything that looks like an HTML tag is refused (never stored, never
escaped and kept), and so is text containing a banned word; nothing is written in either case.
Authors appear by nickname only; whether the caller wrote an item is told by `is_mine`, never by
another user's id.
"""
import logging
import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.board.models import (MAX_IMAGES, BoardBannedWord, BoardPost, BoardPostImage,
                              BoardReply, BoardReport, BoardSection)
from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.files.models import StoredFile
from app.files.services import FileNotFound
from app.staff import services as staff_services
from app.users.models import User

log = logging.getLogger("app.board")

IMAGE_PURPOSE = "board_image"
IMAGE_TYPES = ("image/jpeg", "image/png")
DEFAULT_NICKNAME = "微信用户"
EXCERPT_LENGTH = 80
# "<" followed by a tag name, a closing slash, a comment or a processing instruction: what a
# browser or rich-text view would read as markup. "血压<140" and "a < b" stay plain text.
_TAG = re.compile(r"<\s*(?:[/?]?\s*[A-Za-z]|!)")
# spaces and zero-width characters a writer puts between the letters of a banned word
_FILLER = re.compile(r"[\s\u200b-\u200f\u2060\ufeff]+")


class SectionUnknown(ValidationFailed):
    code = "board_section_unknown"
    message = "版块不存在"


class PostNotFound(NotFound):
    code = "post_not_found"
    message = "帖子不存在或已被删除"


class ReplyNotFound(NotFound):
    code = "reply_not_found"
    message = "回复不存在或已被删除"


class ReportNotFound(NotFound):
    code = "report_not_found"
    message = "举报记录不存在"


class BannedWordNotFound(NotFound):
    code = "banned_word_not_found"
    message = "违禁词不存在"


class MarkupNotAllowed(ValidationFailed):
    code = "markup_not_allowed"
    message = "内容不能包含 HTML 标签或脚本,请只输入纯文本"


class BannedWordUsed(ValidationFailed):
    code = "banned_word"
    message = "内容包含违禁词,请修改后再发布"


class ImageNotAllowed(ValidationFailed):
    code = "image_not_allowed"
    message = "只能使用本人上传的讨论区图片(JPEG 或 PNG)"


class DuplicateImage(ValidationFailed):
    code = "duplicate_image"
    message = "同一张图片只能添加一次"


class AlreadyReported(Conflict):
    code = "already_reported"
    message = "您已举报过该内容,请等待处理"


class CannotReportOwn(Conflict):
    code = "cannot_report_own"
    message = "不能举报自己发布的内容"


class BannedWordExists(Conflict):
    code = "banned_word_exists"
    message = "该违禁词已存在"


class BannedWordInvalid(ValidationFailed):
    code = "banned_word_invalid"
    message = "违禁词不能为空,且不能只含空格"


POST_ERRORS = (SectionUnknown, MarkupNotAllowed, BannedWordUsed, ImageNotAllowed, DuplicateImage,
               (FileNotFound, "file_not_found"))
REPLY_ERRORS = (MarkupNotAllowed, BannedWordUsed, PostNotFound)


# ---- text checks -----------------------------------------------------------------------------

def normalise(text: str) -> str:
    return _FILLER.sub("", text).casefold()


def check_text(**texts: str) -> None:
    """Refuse markup and banned words in any of `texts` (field name → text), naming the field."""
    for field, text in texts.items():
        if text and _TAG.search(text):
            raise MarkupNotAllowed(details={field: [MarkupNotAllowed.message]})
    words = db.session.scalars(select(BoardBannedWord.word)).all()
    if not words:
        return
    for field, text in texts.items():
        plain = normalise(text or "")
        for word in words:
            if word and word in plain:
                message = f"内容包含违禁词「{word}」,请修改后再发布"
                raise BannedWordUsed(message, details={field: [message]})


# ---- output ----------------------------------------------------------------------------------

def _nicknames(user_ids) -> dict[int, tuple[str, str | None]]:
    ids = set(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.nickname, User.avatar_url)
                              .where(User.id.in_(ids))).all()
    return {row.id: (row.nickname or DEFAULT_NICKNAME, row.avatar_url) for row in rows}


def _sections_by_id() -> dict[int, BoardSection]:
    return {s.id: s for s in db.session.scalars(select(BoardSection))}


def image_url(post_id: int, file_id: int) -> str:
    return f"/api/v1/board/posts/{post_id}/images/{file_id}"


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "…"


def _post_views(posts, viewer_id: int | None, *, staff=False, full=False) -> list[dict]:
    authors = _nicknames(p.author_user_id for p in posts)
    sections = _sections_by_id()
    views = []
    for post in posts:
        nickname, avatar = authors.get(post.author_user_id, (DEFAULT_NICKNAME, None))
        section = sections.get(post.section_id)
        view = {
            "id": post.id, "section": section.code if section else None,
            "section_name": section.name if section else None,
            "title": post.title, "excerpt": _excerpt(post.body),
            "images": [{"id": image.file_id, "url": image_url(post.id, image.file_id)}
                       for image in post.images],
            "reply_count": post.reply_count, "last_reply_at": post.last_reply_at,
            "author": {"nickname": nickname, "avatar_url": avatar},
            "is_mine": viewer_id is not None and post.author_user_id == viewer_id,
            "created_at": post.created_at,
        }
        if full or staff:
            view["body"] = post.body
        if staff:
            view.update(status=post.status, author_user_id=post.author_user_id,
                        hide_reason=post.hide_reason, hidden_at=post.hidden_at)
        views.append(view)
    return views


def _reply_views(replies, viewer_id: int | None, *, staff=False) -> list[dict]:
    authors = _nicknames(r.author_user_id for r in replies)
    views = []
    for reply in replies:
        nickname, avatar = authors.get(reply.author_user_id, (DEFAULT_NICKNAME, None))
        view = {"id": reply.id, "post_id": reply.post_id, "body": reply.body,
                "author": {"nickname": nickname, "avatar_url": avatar},
                "is_mine": viewer_id is not None and reply.author_user_id == viewer_id,
                "created_at": reply.created_at}
        if staff:
            view.update(status=reply.status, author_user_id=reply.author_user_id,
                        hide_reason=reply.hide_reason, hidden_at=reply.hidden_at)
        views.append(view)
    return views


# ---- reading (users) -------------------------------------------------------------------------

def list_sections(actor) -> list[BoardSection]:
    return db.session.scalars(select(BoardSection).where(BoardSection.is_active.is_(True))
                              .order_by(BoardSection.sort_order, BoardSection.id)).all()


def _section(code: str, field: str = "section") -> BoardSection:
    section = db.session.scalar(select(BoardSection).where(
        BoardSection.code == code, BoardSection.is_active.is_(True)))
    if section is None:
        raise SectionUnknown(details={field: [SectionUnknown.message]})
    return section


def list_posts(actor, *, section: str | None = None, sort: str = "latest", page: int = 1,
               page_size: int = 20) -> dict:
    """Visible posts, newest first (`latest`) or by the latest reply (`active`)."""
    statement = select(BoardPost).where(BoardPost.status == "visible")
    if section:
        statement = statement.where(BoardPost.section_id == _section(section).id)
    if sort == "active":
        statement = statement.order_by(BoardPost.last_activity_at.desc(), BoardPost.id.desc())
    else:
        statement = statement.order_by(BoardPost.id.desc())
    result = paginate(statement, page, page_size)
    result["items"] = _post_views(result["items"], actor.id)
    return result


def my_posts(actor, *, page: int = 1, page_size: int = 20) -> dict:
    """The caller's own visible posts, newest first (hidden and deleted ones are gone)."""
    statement = (select(BoardPost).where(BoardPost.author_user_id == actor.id,
                                         BoardPost.status == "visible")
                 .order_by(BoardPost.id.desc()))
    result = paginate(statement, page, page_size)
    result["items"] = _post_views(result["items"], actor.id)
    return result


def _visible_post(post_id: int, *, lock=False) -> BoardPost:
    statement = select(BoardPost).where(BoardPost.id == post_id, BoardPost.status == "visible")
    if lock:
        statement = statement.with_for_update()
    post = db.session.scalar(statement)
    if post is None:
        raise PostNotFound()
    return post


def get_post(actor, *, post_id: int) -> dict:
    return _post_views([_visible_post(post_id)], actor.id, full=True)[0]


def list_replies(actor, *, post_id: int, page: int = 1, page_size: int = 20) -> dict:
    """A visible post's visible replies, oldest first (a conversation reads top down)."""
    _visible_post(post_id)
    statement = (select(BoardReply).where(BoardReply.post_id == post_id,
                                          BoardReply.status == "visible")
                 .order_by(BoardReply.id))
    result = paginate(statement, page, page_size)
    result["items"] = _reply_views(result["items"], actor.id)
    return result


def post_image(actor, *, post_id: int, file_id: int) -> StoredFile:
    """An image of a visible post, for any signed-in user (the post is public on the board)."""
    _visible_post(post_id)
    record = db.session.scalar(select(StoredFile).join(
        BoardPostImage, BoardPostImage.file_id == StoredFile.id).where(
        BoardPostImage.post_id == post_id, BoardPostImage.file_id == file_id))
    if record is None:
        raise FileNotFound()
    return record


# ---- writing (users) -------------------------------------------------------------------------

def _own_images(actor, image_ids: list[int]) -> list[StoredFile]:
    if len(set(image_ids)) != len(image_ids):
        raise DuplicateImage(details={"image_ids": [DuplicateImage.message]})
    records = {r.id: r for r in db.session.scalars(
        select(StoredFile).where(StoredFile.id.in_(image_ids)))} if image_ids else {}
    for file_id in image_ids:
        record = records.get(file_id)
        if record is None or record.owner_user_id != actor.id:
            # another user's file is as unknown as a missing one
            raise FileNotFound(details={"image_ids": [FileNotFound.message]})
        if record.purpose != IMAGE_PURPOSE or record.content_type not in IMAGE_TYPES:
            raise ImageNotAllowed(details={"image_ids": [ImageNotAllowed.message]})
    return [records[file_id] for file_id in image_ids]


def create_post(actor, *, section: str, title: str, body: str,
                image_ids: list[int] | None = None) -> dict:
    image_ids = list(image_ids or [])[:MAX_IMAGES]  # the schema already refuses more
    board_section = _section(section)
    check_text(title=title, body=body)
    images = _own_images(actor, image_ids)
    now = utcnow()
    post = BoardPost(section_id=board_section.id, author_user_id=actor.id, title=title,
                     body=body, status="visible", reply_count=0, last_reply_at=None,
                     last_activity_at=now, created_at=now, updated_at=now)
    post.images = [BoardPostImage(file_id=record.id, position=index)
                   for index, record in enumerate(images)]
    db.session.add(post)
    db.session.commit()
    log.info("user %s posted %s in %s", actor.id, post.id, section)
    return _post_views([post], actor.id, full=True)[0]


def refresh_reply_stats(post: BoardPost) -> None:
    """The post's reply count and latest reply time from its visible replies (after a flush)."""
    count, latest = db.session.execute(
        select(func.count(BoardReply.id), func.max(BoardReply.created_at))
        .where(BoardReply.post_id == post.id, BoardReply.status == "visible")).one()
    post.reply_count = count
    post.last_reply_at = latest
    post.last_activity_at = max(post.created_at, latest) if latest else post.created_at


def create_reply(actor, *, post_id: int, body: str) -> dict:
    check_text(body=body)
    post = _visible_post(post_id, lock=True)  # replies to one post count one at a time
    now = utcnow()
    reply = BoardReply(post_id=post.id, author_user_id=actor.id, body=body, status="visible",
                       created_at=now, updated_at=now)
    db.session.add(reply)
    db.session.flush()
    refresh_reply_stats(post)
    # the new reply's own time, to the microsecond (reply times are whole seconds on MariaDB)
    post.last_activity_at = reply.created_at
    db.session.commit()
    return _reply_views([reply], actor.id)[0]


def delete_post(actor, *, post_id: int) -> None:
    post = db.session.scalar(select(BoardPost).where(
        BoardPost.id == post_id, BoardPost.author_user_id == actor.id,
        BoardPost.status == "visible").with_for_update())
    if post is None:
        raise PostNotFound()
    post.delete_by_author()
    db.session.commit()


def delete_reply(actor, *, reply_id: int) -> None:
    reply = _locked_target("reply", reply_id)
    if reply.author_user_id != actor.id or reply.status != "visible":
        raise ReplyNotFound()
    reply.delete_by_author()
    db.session.flush()
    refresh_reply_stats(db.session.get(BoardPost, reply.post_id))
    db.session.commit()


def _visible_reply(reply_id: int) -> BoardReply:
    reply = db.session.scalar(select(BoardReply).join(
        BoardPost, BoardPost.id == BoardReply.post_id).where(
        BoardReply.id == reply_id, BoardReply.status == "visible",
        BoardPost.status == "visible"))
    if reply is None:
        raise ReplyNotFound()
    return reply


def report(actor, *, target_type: str, target_id: int, reason: str) -> BoardReport:
    """One report per user per item; what is not visible to the user cannot be reported."""
    if target_type == "post":
        target = _visible_post(target_id)
        post_id = target.id
    else:
        target = _visible_reply(target_id)
        post_id = target.post_id
    if target.author_user_id == actor.id:
        raise CannotReportOwn()
    exists = db.session.scalar(select(BoardReport.id).where(
        BoardReport.reporter_user_id == actor.id, BoardReport.target_type == target_type,
        BoardReport.target_id == target_id))
    if exists is not None:
        raise AlreadyReported()
    record = BoardReport(target_type=target_type, target_id=target_id, post_id=post_id,
                         reporter_user_id=actor.id, reason=reason, status="open")
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:  # the same user's second tap raced the first
        db.session.rollback()
        raise AlreadyReported()
    log.info("user %s reported %s %s", actor.id, target_type, target_id)
    return record


# ---- moderation (staff) ----------------------------------------------------------------------

def _target(target_type: str, target_id: int):
    model, error = (BoardPost, PostNotFound) if target_type == "post" else (BoardReply,
                                                                              ReplyNotFound)
    target = db.session.get(model, target_id)
    if target is None:
        raise error()
    return target


def _locked_target(target_type: str, target_id: int):
    """The post or reply locked for a change. Lock order: the post, then its reply (replying
    locks the post too), so two changes to one thread never wait on each other in a circle."""
    if target_type == "post":
        post = db.session.get(BoardPost, target_id, with_for_update=True, populate_existing=True)
        if post is None:
            raise PostNotFound()
        return post
    reply = _target("reply", target_id)
    db.session.get(BoardPost, reply.post_id, with_for_update=True, populate_existing=True)
    return db.session.get(BoardReply, target_id, with_for_update=True, populate_existing=True)


def _close_reports(target_type: str, target_id: int, status: str, staff_id: int, now) -> int:
    reports = db.session.scalars(select(BoardReport).where(
        BoardReport.target_type == target_type, BoardReport.target_id == target_id,
        BoardReport.status == "open")).all()
    for record in reports:
        record.close(status, staff_id, now)
    return len(reports)


def hide(actor, *, target_type: str, target_id: int, reason: str) -> dict:
    """visible → hidden; the item's open reports are handled with it."""
    staff_services.require_role(actor, "operator")
    target = _locked_target(target_type, target_id)
    now = utcnow()
    target.hide(actor.id, reason, now)
    _close_reports(target_type, target_id, "handled", actor.id, now)
    if target_type == "reply":
        db.session.flush()
        refresh_reply_stats(db.session.get(BoardPost, target.post_id))
    db.session.commit()
    log.info("staff %s hid %s %s", actor.id, target_type, target_id)
    return staff_view(target_type, target)


def restore(actor, *, target_type: str, target_id: int) -> dict:
    """hidden → visible (the reports stay handled)."""
    staff_services.require_role(actor, "operator")
    target = _locked_target(target_type, target_id)
    target.restore()
    if target_type == "reply":
        db.session.flush()
        refresh_reply_stats(db.session.get(BoardPost, target.post_id))
    db.session.commit()
    log.info("staff %s restored %s %s", actor.id, target_type, target_id)
    return staff_view(target_type, target)


def ban_author(actor, *, target_type: str, target_id: int, reason: str) -> User:
    """Ban the author of a post or reply through the staff ban (tokens revoked at once)."""
    staff_services.require_role(actor, "operator")
    target = _target(target_type, target_id)
    return staff_services.ban_user(actor, target.author_user_id, reason)


def dismiss_report(actor, *, report_id: int) -> dict:
    staff_services.require_role(actor, "operator")
    record = db.session.get(BoardReport, report_id, with_for_update=True)
    if record is None:
        raise ReportNotFound()
    record.close("dismissed", actor.id, utcnow())
    db.session.commit()
    return _report_views([record])[0]


def staff_view(target_type: str, target) -> dict:
    if target_type == "post":
        return _post_views([target], None, staff=True)[0]
    return _reply_views([target], None, staff=True)[0]


def _report_views(reports) -> list[dict]:
    post_ids = {r.target_id for r in reports if r.target_type == "post"}
    reply_ids = {r.target_id for r in reports if r.target_type == "reply"}
    posts = {p.id: p for p in db.session.scalars(
        select(BoardPost).where(BoardPost.id.in_(post_ids)))} if post_ids else {}
    replies = {r.id: r for r in db.session.scalars(
        select(BoardReply).where(BoardReply.id.in_(reply_ids)))} if reply_ids else {}
    parents = {p.id: p for p in db.session.scalars(select(BoardPost).where(
        BoardPost.id.in_({r.post_id for r in replies.values()})))} if replies else {}
    keys = {(r.target_type, r.target_id) for r in reports}
    counts = {}
    if keys:
        for target_type, target_id, count in db.session.execute(
                select(BoardReport.target_type, BoardReport.target_id, func.count())
                .where(BoardReport.target_id.in_({k[1] for k in keys}))
                .group_by(BoardReport.target_type, BoardReport.target_id)):
            counts[(target_type, target_id)] = count
    targets = {}
    for (target_type, target_id) in keys:
        item = (posts if target_type == "post" else replies).get(target_id)
        if item is not None:
            targets[(target_type, target_id)] = item
    authors = _nicknames(t.author_user_id for t in targets.values())
    reporters = _nicknames(r.reporter_user_id for r in reports)
    views = []
    for record in reports:
        item = targets.get((record.target_type, record.target_id))
        post = item if record.target_type == "post" else parents.get(getattr(item, "post_id", 0))
        views.append({
            "id": record.id, "target_type": record.target_type, "target_id": record.target_id,
            "post_id": record.post_id, "reason": record.reason, "status": record.status,
            "reporter_nickname": reporters.get(record.reporter_user_id,
                                               (DEFAULT_NICKNAME, None))[0],
            "report_count": counts.get((record.target_type, record.target_id), 1),
            "created_at": record.created_at, "handled_at": record.handled_at,
            "target": None if item is None else {
                "title": post.title if post is not None else None,
                "body": item.body, "status": item.status,
                "author_user_id": item.author_user_id,
                "author_nickname": authors.get(item.author_user_id, (DEFAULT_NICKNAME,))[0],
                "created_at": item.created_at},
        })
    return views


def list_reports(actor, *, status: str | None = "open", page: int = 1,
                 page_size: int = 20) -> dict:
    """The reports queue: open ones oldest first (first come, first handled); others newest."""
    staff_services.require_role(actor, "operator")
    statement = select(BoardReport)
    if status:
        statement = statement.where(BoardReport.status == status)
    statement = statement.order_by(BoardReport.id if status == "open" else BoardReport.id.desc())
    result = paginate(statement, page, page_size)
    result["items"] = _report_views(result["items"])
    return result


def staff_list_posts(actor, *, status: str | None = None, section: str | None = None,
                     page: int = 1, page_size: int = 20) -> dict:
    """Every post (any status), newest first: where staff find what to hide or restore."""
    staff_services.require_role(actor, "operator")
    statement = select(BoardPost)
    if status:
        statement = statement.where(BoardPost.status == status)
    if section:
        statement = statement.where(BoardPost.section_id == _section(section).id)
    result = paginate(statement.order_by(BoardPost.id.desc()), page, page_size)
    result["items"] = _post_views(result["items"], None, staff=True)
    return result


def staff_get_post(actor, *, post_id: int) -> dict:
    staff_services.require_role(actor, "operator")
    return staff_view("post", _target("post", post_id))


def staff_list_replies(actor, *, post_id: int, page: int = 1, page_size: int = 50) -> dict:
    staff_services.require_role(actor, "operator")
    _target("post", post_id)
    result = paginate(select(BoardReply).where(BoardReply.post_id == post_id)
                      .order_by(BoardReply.id), page, page_size)
    result["items"] = _reply_views(result["items"], None, staff=True)
    return result


# ---- banned words (staff) --------------------------------------------------------------------

def list_banned_words(actor) -> list[BoardBannedWord]:
    staff_services.require_role(actor, "operator")
    return db.session.scalars(select(BoardBannedWord).order_by(BoardBannedWord.word)).all()


def add_banned_word(actor, *, word: str) -> BoardBannedWord:
    """Stored as it is matched: casefolded, without spaces."""
    staff_services.require_role(actor, "operator")
    word = normalise(word)
    if not word:
        raise BannedWordInvalid(details={"word": [BannedWordInvalid.message]})
    if db.session.scalar(select(BoardBannedWord.id).where(BoardBannedWord.word == word)):
        raise BannedWordExists(details={"word": [BannedWordExists.message]})
    record = BoardBannedWord(word=word, created_by_staff_id=actor.id)
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:  # two editors added the same word at once
        db.session.rollback()
        raise BannedWordExists(details={"word": [BannedWordExists.message]})
    log.info("staff %s added a banned word", actor.id)
    return record


def delete_banned_word(actor, *, word_id: int) -> None:
    staff_services.require_role(actor, "operator")
    record = db.session.get(BoardBannedWord, word_id)
    if record is None:
        raise BannedWordNotFound()
    db.session.delete(record)
    db.session.commit()
