"""Reviews of completed care orders: the family reviews once, the caregiver replies once, and
the public reads them on the caregiver's pages.

Lock order (docs/locking.md): caregiver → care order → review. A new review recomputes the
caregiver's rating_avg / rating_count from all of their reviews while the caregiver row is
locked, so two families reviewing the same caregiver at once take turns and both count (on
MariaDB the connection reads committed rows, so the second sees the first's review). The
marketplace's cache and index follow the caregiver row by themselves (session events).
"""
from collections import Counter

from sqlalchemy import func, select

from app.care_orders.core import (CareOrderNotFound, lock_order, message_context, order_summary,
                                  record_event)
from app.care_orders.models import CareOrder
from app.care_reviews.models import REVIEW_TAGS, CareReview
from app.caregivers.models import CARE_TYPES, Caregiver
from app.caregivers.ownership import CaregiverNotFound, listed_clause, own_caregiver
from app.common.deadlock import retry_deadlock
from app.common.masking import mask_name
from app.common.pagination import paginate
from app.common.time import utcnow
from app.errors import Conflict, NotFound
from app.extensions import db
from app.notifications.services import notify
from app.users.models import User

# the tags that say something went wrong; the rest are praise (the picker shows them apart)
NEGATIVE_TAGS = frozenset({"late", "careless", "poor_attitude"})
ANONYMOUS = "匿名用户"
RECENT_REVIEWS = 3


class ReviewNotFound(NotFound):
    code = "review_not_found"
    message = "该订单还没有评价"


class AlreadyReviewed(Conflict):
    code = "already_reviewed"
    message = "该订单已评价过"


class OrderNotCompleted(Conflict):
    code = "order_not_completed"
    message = "订单完成后才能评价"


class AlreadyReplied(Conflict):
    code = "already_replied"
    message = "该评价已回复过"


# ---- writing -----------------------------------------------------------------------------------

@retry_deadlock
def create_review(actor, *, order_id: int, stars: int, tags=(), text: str | None = None) -> dict:
    """The family of a completed order reviews it, once. Locks the caregiver, then the order;
    the caregiver's rating follows in the same commit."""
    order = lock_order(order_id)
    if order is None or order.user_id != actor.id:
        db.session.rollback()
        raise CareOrderNotFound()
    if order.status != "completed" or order.caregiver_id is None:
        db.session.rollback()
        raise OrderNotCompleted(details={"status": order.status})
    if db.session.scalar(select(CareReview.id).where(CareReview.order_id == order.id)):
        db.session.rollback()
        raise AlreadyReviewed()
    caregiver = db.session.get(Caregiver, order.caregiver_id)  # locked by lock_order
    review = CareReview(order_id=order.id, caregiver_id=caregiver.id, user_id=actor.id,
                        stars=stars, tags=list(tags or []), text=text or None)
    db.session.add(review)
    db.session.flush()
    # recomputed rather than nudged: exact, and right again after any correction by hand
    total, count = db.session.execute(select(
        func.coalesce(func.sum(CareReview.stars), 0), func.count(CareReview.id)).where(
        CareReview.caregiver_id == caregiver.id)).one()
    caregiver.rating_count = int(count)
    caregiver.rating_avg = int(total) / int(count)
    record_event(order, "reviewed", "family")
    notify(caregiver.user_id, "care_order_reviewed", "收到新的评价",
           f"{order_summary(order)}收到了 {stars} 星评价。", "care_review", review.id,
           context=message_context(order, f"{stars}星评价"))
    db.session.commit()
    return review_view(review, order.care_type)


@retry_deadlock
def reply_to_review(actor, *, order_id: int, reply: str) -> dict:
    """The order's caregiver answers its review, once. Locks caregiver → order → review."""
    caregiver = own_caregiver(actor, lock=True)
    order = db.session.get(CareOrder, order_id, with_for_update=True, populate_existing=True)
    if order is None or order.caregiver_id != caregiver.id:
        db.session.rollback()
        raise CareOrderNotFound()
    review = db.session.scalar(select(CareReview).where(CareReview.order_id == order.id)
                               .with_for_update().execution_options(populate_existing=True))
    if review is None:
        db.session.rollback()
        raise ReviewNotFound()
    if review.reply is not None:
        db.session.rollback()
        raise AlreadyReplied()
    review.reply, review.replied_at = reply, utcnow()
    notify(order.user_id, "care_review_replied", "护工回复了您的评价",
           f"{order_summary(order)}的护工回复了您的评价。", "care_review", review.id,
           context=message_context(order, "已回复"))
    db.session.commit()
    return review_view(review, order.care_type)


# ---- reading: the two sides of an order ----------------------------------------------------------

def family_review(actor, *, order_id: int) -> dict:
    order = db.session.get(CareOrder, order_id)
    if order is None or order.user_id != actor.id:
        raise CareOrderNotFound()
    return _order_review(order)


def caregiver_review(actor, *, order_id: int) -> dict:
    caregiver = own_caregiver(actor)
    order = db.session.get(CareOrder, order_id)
    if order is None or order.caregiver_id != caregiver.id:
        raise CareOrderNotFound()
    return _order_review(order)


def _order_review(order: CareOrder) -> dict:
    review = db.session.scalar(select(CareReview).where(CareReview.order_id == order.id))
    if review is None:
        raise ReviewNotFound()
    return review_view(review, order.care_type)


def _tags(codes) -> list[dict]:
    return [{"code": code, "name": REVIEW_TAGS[code]} for code in (codes or [])
            if code in REVIEW_TAGS]


def _common(review: CareReview, care_type: str) -> dict:
    return {"id": review.id, "stars": review.stars, "tags": _tags(review.tags),
            "text": review.text, "reply": review.reply, "replied_at": review.replied_at,
            "care_type": care_type, "care_type_name": CARE_TYPES[care_type][0],
            "created_at": review.created_at}


def review_view(review: CareReview, care_type: str) -> dict:
    return {**_common(review, care_type), "order_id": review.order_id,
            "caregiver_id": review.caregiver_id}


def review_tags() -> list[dict]:
    return [{"code": code, "name": name, "positive": code not in NEGATIVE_TAGS}
            for code, name in REVIEW_TAGS.items()]


# ---- reading: the public ------------------------------------------------------------------------

def _listed_caregiver(caregiver_id: int) -> Caregiver:
    """Only caregivers the marketplace shows (approved, user not banned); else 404 as there."""
    caregiver = db.session.scalar(select(Caregiver).join(User, User.id == Caregiver.user_id)
                                  .where(Caregiver.id == caregiver_id, listed_clause()))
    if caregiver is None:
        raise CaregiverNotFound()
    return caregiver


def public_reviews(reviews: list[CareReview]) -> list[dict]:
    """Reviews as the public sees them: the reviewer's nickname masked (or 匿名用户), the care
    type; never the order, patient, place or needs. Two batch loads for the page."""
    if not reviews:
        return []
    care_types = dict(db.session.execute(select(CareOrder.id, CareOrder.care_type).where(
        CareOrder.id.in_({review.order_id for review in reviews}))).all())
    nicknames = dict(db.session.execute(select(User.id, User.nickname).where(
        User.id.in_({review.user_id for review in reviews}))).all())
    return [{**_common(review, care_types[review.order_id]),
             "reviewer": mask_name(nicknames.get(review.user_id)) or ANONYMOUS}
            for review in reviews]


def recent_reviews(caregiver_id: int, limit: int = RECENT_REVIEWS) -> list[dict]:
    return public_reviews(list(db.session.scalars(select(CareReview).where(
        CareReview.caregiver_id == caregiver_id).order_by(CareReview.id.desc()).limit(limit))))


def review_summary(caregiver: Caregiver) -> dict:
    """The rating (kept on the caregiver row), how many reviews gave each star, and how often
    each tag was picked (most first, then in the tag list's order)."""
    distribution = {str(star): 0 for star in range(1, 6)}
    for stars, count in db.session.execute(select(CareReview.stars, func.count()).where(
            CareReview.caregiver_id == caregiver.id).group_by(CareReview.stars)):
        if str(stars) in distribution:
            distribution[str(stars)] = int(count)
    # JSON lists differ by dialect in SQL; one narrow column read, counted here
    counts = Counter(code for tags in db.session.scalars(select(CareReview.tags).where(
        CareReview.caregiver_id == caregiver.id)) for code in (tags or []) if code in REVIEW_TAGS)
    rank = {code: index for index, code in enumerate(REVIEW_TAGS)}
    rating = caregiver.rating_avg
    return {"rating_avg": None if rating is None else round(rating, 2),
            "rating_count": caregiver.rating_count or 0, "distribution": distribution,
            "tags": [{"code": code, "name": REVIEW_TAGS[code], "count": count}
                     for code, count in sorted(counts.items(),
                                               key=lambda item: (-item[1], rank[item[0]]))]}


def caregiver_reviews(*, caregiver_id: int, page: int = 1, page_size: int = 10) -> dict:
    """A listed caregiver's reviews, newest first, with the summary."""
    caregiver = _listed_caregiver(caregiver_id)
    result = paginate(select(CareReview).where(CareReview.caregiver_id == caregiver.id)
                      .order_by(CareReview.id.desc()), page, page_size)
    result["items"] = public_reviews(list(result["items"]))
    result["summary"] = review_summary(caregiver)
    return result
