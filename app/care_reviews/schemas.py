"""Schemas of reviews: what a family writes, the caregiver's reply, and how reviews are shown.

PublicReviewSchema is also the shape of `recent_reviews` on the public caregiver page
(app/marketplace/schemas.py): one shape for a review wherever the public sees it."""
from marshmallow import ValidationError, fields, validate

from app.care_reviews.models import REVIEW_TAGS
from app.caregivers.models import CARE_TYPES
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, String, Text

REVIEW_TAGS_MAX = 5
REVIEW_TEXT_MAX = 500
REPLY_TEXT_MAX = 500


def _unique(values):
    if len(set(values)) != len(values):
        raise ValidationError("标签不能重复")


class ReviewCreateSchema(BaseSchema):
    stars = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5),
                           metadata={"description": "评分,1–5 的整数"})
    tags = fields.List(String(validate=validate.OneOf(list(REVIEW_TAGS))), load_default=list,
                       validate=[validate.Length(max=REVIEW_TAGS_MAX), _unique], metadata={
                           "description": f"评价标签编码(GET /review-tags),"
                                          f"最多 {REVIEW_TAGS_MAX} 个,不可重复"})
    text = Text(REVIEW_TEXT_MAX, allow_none=True, load_default=None, metadata={
        "description": "评价内容(可选);将公开展示在护工主页,请勿填写姓名、电话等个人信息"})


class ReplyCreateSchema(BaseSchema):
    reply = Text(REPLY_TEXT_MAX, required=True, min_length=1,
                 metadata={"description": "护工对评价的回复(每条评价只能回复一次)"})


class ReviewTagSchema(BaseSchema):
    code = fields.String(validate=validate.OneOf(list(REVIEW_TAGS)))
    name = fields.String()


class ReviewTagOptionSchema(ReviewTagSchema):
    positive = fields.Boolean(metadata={"description": "true 为好评标签,false 为差评标签"})


class ReviewTagCountSchema(ReviewTagSchema):
    count = fields.Integer()


class _ReviewBaseSchema(BaseSchema):
    id = fields.Integer()
    stars = fields.Integer(validate=validate.Range(min=1, max=5))
    tags = fields.List(fields.Nested(ReviewTagSchema))
    text = fields.String(allow_none=True)
    reply = fields.String(allow_none=True, metadata={"description": "护工的回复"})
    replied_at = LocalDateTime(allow_none=True)
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    care_type_name = fields.String()
    created_at = LocalDateTime()


class ReviewSchema(_ReviewBaseSchema):
    """The review of one order, as its family and its caregiver see it."""

    order_id = fields.Integer()
    caregiver_id = fields.Integer()


class PublicReviewSchema(_ReviewBaseSchema):
    """A review on the caregiver's public pages: no order, patient or family details."""

    reviewer = fields.String(metadata={"description": "评价人(脱敏昵称或「匿名用户」)"})


class StarCountsSchema(BaseSchema):
    # keys "1".."5" are not identifiers: named fields reading and writing those keys
    one = fields.Integer(data_key="1", attribute="1")
    two = fields.Integer(data_key="2", attribute="2")
    three = fields.Integer(data_key="3", attribute="3")
    four = fields.Integer(data_key="4", attribute="4")
    five = fields.Integer(data_key="5", attribute="5")


class ReviewSummarySchema(BaseSchema):
    rating_avg = fields.Float(allow_none=True, metadata={"description": "平均分(两位小数)"})
    rating_count = fields.Integer()
    distribution = fields.Nested(StarCountsSchema, metadata={"description": "各星级的评价数"})
    tags = fields.List(fields.Nested(ReviewTagCountSchema), metadata={
        "description": "被选过的标签及次数,从多到少"})


class CaregiverReviewPageSchema(BaseSchema):
    items = fields.List(fields.Nested(PublicReviewSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    summary = fields.Nested(ReviewSummarySchema)


class ReviewQuerySchema(PageQuerySchema):
    page_size = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50))
