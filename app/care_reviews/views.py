from app.care_orders.core import CareOrderNotFound
from app.care_reviews import models as _models  # noqa: F401  (tables for migrations)
from app.care_reviews import services
from app.care_reviews.schemas import (CaregiverReviewPageSchema, ReplyCreateSchema,
                                      ReviewCreateSchema, ReviewQuerySchema, ReviewSchema,
                                      ReviewTagOptionSchema)
from app.caregivers.ownership import CaregiverNotFound
from app.common.api import Blueprint
from app.common.auth import current_user, login_required

blp = Blueprint("care_reviews", __name__, url_prefix="/api/v1", description="陪护评价")


# ---- the family --------------------------------------------------------------------------------

@blp.post("/care-orders/<int:order_id>/review")
@blp.errors(CareOrderNotFound, services.OrderNotCompleted, services.AlreadyReviewed)
@login_required
@blp.arguments(ReviewCreateSchema)
@blp.response(201, ReviewSchema)
def create_review(body, order_id):
    """评价已完成的订单(1–5 星、标签、文字),每个订单只能评价一次"""
    return services.create_review(current_user(), order_id=order_id, **body)


@blp.get("/care-orders/<int:order_id>/review")
@blp.errors(CareOrderNotFound, services.ReviewNotFound)
@login_required
@blp.response(200, ReviewSchema)
def family_review(order_id):
    """我对该订单的评价(含护工回复)"""
    return services.family_review(current_user(), order_id=order_id)


# ---- the caregiver -----------------------------------------------------------------------------

@blp.get("/caregiver/care-orders/<int:order_id>/review")
@blp.errors(CaregiverNotFound, CareOrderNotFound, services.ReviewNotFound)
@login_required
@blp.response(200, ReviewSchema)
def caregiver_review(order_id):
    """护工查看该订单收到的评价"""
    return services.caregiver_review(current_user(), order_id=order_id)


@blp.post("/caregiver/care-orders/<int:order_id>/review-reply")
@blp.errors(CaregiverNotFound, CareOrderNotFound, services.ReviewNotFound,
            services.AlreadyReplied)
@login_required
@blp.arguments(ReplyCreateSchema)
@blp.response(200, ReviewSchema)
def reply(body, order_id):
    """回复该订单的评价(只能回复一次)"""
    return services.reply_to_review(current_user(), order_id=order_id, reply=body["reply"])


# ---- the public --------------------------------------------------------------------------------

@blp.get("/caregivers/<int:caregiver_id>/reviews")
@blp.errors(CaregiverNotFound)
@blp.arguments(ReviewQuerySchema, location="query")
@blp.response(200, CaregiverReviewPageSchema)
def caregiver_reviews(query, caregiver_id):
    """护工的评价(最新在前)与评分汇总:平均分、各星级数量、标签次数(无需登录)"""
    return services.caregiver_reviews(caregiver_id=caregiver_id, page=query["page"],
                                      page_size=query["page_size"])


@blp.get("/review-tags")
@blp.response(200, ReviewTagOptionSchema(many=True))
def review_tags():
    """评价标签(编码、名称、好评/差评)"""
    return services.review_tags()
