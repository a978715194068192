"""Schemas of the public caregiver marketplace: the search query and the answers.

The answers are built by the services as plain JSON-ready dicts (a search page goes through
the Redis cache as JSON), so instants are already ISO 8601 strings with the +08:00 offset.
Cross-field rules (age and price ranges, a time window, what a sort needs) are checked by the
services, each with its own error code, so a direct call gets the same checks.
"""
import re

from marshmallow import ValidationError, fields, post_load, validate

from app.care_reviews.schemas import PublicReviewSchema, ReviewTagCountSchema
from app.caregivers.models import CARE_TYPES, PRICE_UNITS
from app.common.pagination import PageQuerySchema
from app.common.time import LOCAL_TZ
from app.common.validation import BaseSchema, String
from app.qualifications.models import QUALIFICATION_KINDS

GENDERS = {"male": "男", "female": "女"}
SORTS = {"rating": "评分从高到低(无评分在后)", "price_asc": "价格从低到高(需 care_type)",
         "price_desc": "价格从高到低(需 care_type)", "experience": "从业年限从多到少",
         "orders": "完成订单从多到少", "distance": "距离从近到远(需 lat/lng 或 hospital_id)"}
SKILLS_MATCH = ("any", "all")
MAX_SKILLS = 10
MAX_ID = 2**63 - 1
_region = validate.Regexp(r"^[1-9]\d{5}$", error="地区编码应为 6 位数字")
_skill_code = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class QueryDateTime(fields.AwareDateTime):
    """An instant in a query string. Without an offset it is local (Asia/Shanghai) time. A "+"
    that the client did not percent-encode arrives as a space ("2026-05-01T08:00:00 08:00"),
    so a space before the offset is read as "+"."""

    default_error_messages = {"invalid": "时间格式应为 ISO 8601,如 2026-05-01T08:00:00+08:00",
                              "invalid_awareness": "时间格式不正确"}

    def __init__(self, **kwargs):
        super().__init__(default_timezone=LOCAL_TZ, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = re.sub(r" (\d{2}:?\d{2})$", r"+\1", value.strip())
        return super()._deserialize(value, attr, data, **kwargs)


class CaregiverSearchQuerySchema(PageQuerySchema):
    MEMOIZE_QUERY = True  # the parse depends on the query string alone (app/common/api.py)

    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))
    skills = fields.List(String(validate=validate.Length(max=400)),
                         validate=validate.Length(max=MAX_SKILLS), metadata={
        "description": "技能编码,可重复或逗号分隔,最多 10 个"})
    skills_match = fields.String(load_default="any", validate=validate.OneOf(SKILLS_MATCH),
                                 metadata={"description": "any:具备任一技能;all:具备全部技能"})
    min_experience = fields.Integer(validate=validate.Range(min=0, max=50),
                                    metadata={"description": "最少从业年限"})
    gender = fields.String(validate=validate.OneOf(list(GENDERS)))
    min_age = fields.Integer(validate=validate.Range(min=18, max=80))
    max_age = fields.Integer(validate=validate.Range(min=18, max=80))
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)), metadata={
        "description": "服务类型;给出时只返回提供该服务的护工,price_fen 为该服务的价格"})
    min_price_fen = fields.Integer(validate=validate.Range(min=0, max=10**9))
    max_price_fen = fields.Integer(validate=validate.Range(min=0, max=10**9))
    city_code = fields.String(validate=_region)
    district_code = fields.String(validate=_region)
    hospital_id = fields.Integer(validate=validate.Range(min=1, max=MAX_ID))
    start = QueryDateTime(metadata={"description": "空闲时段开始(与 end 同时给出)"})
    end = QueryDateTime(metadata={"description": "空闲时段结束(不含)"})
    min_rating = fields.Float(validate=validate.Range(min=0, max=5))
    accepts_urgent = fields.Boolean(metadata={"description": "true:只看接急单的护工"})
    night_service = fields.Boolean(metadata={"description": "true:只看提供夜间服务的护工"})
    lat = fields.Float(validate=validate.Range(min=-90, max=90), metadata={"description": "纬度"})
    lng = fields.Float(validate=validate.Range(min=-180, max=180),
                       metadata={"description": "经度"})
    sort = fields.String(load_default="rating", validate=validate.OneOf(list(SORTS)),
                         metadata={"description": "; ".join(f"{k}: {v}" for k, v in SORTS.items())})

    @post_load
    def split_skills(self, data, **kwargs):
        """`skills=a&skills=b` and `skills=a,b` mean the same; duplicates count once."""
        if "skills" in data:
            codes = []
            for part in data["skills"]:
                for code in part.split(","):
                    code = code.strip()
                    if not code:
                        continue
                    if not _skill_code.match(code):
                        raise ValidationError({"skills": ["技能编码格式不正确"]})
                    if code not in codes:
                        codes.append(code)
            if len(codes) > MAX_SKILLS:
                raise ValidationError({"skills": [f"技能最多选择 {MAX_SKILLS} 个"]})
            data["skills"] = codes
        return data


class PublicSkillSchema(BaseSchema):
    code = fields.String()
    name = fields.String()


class PublicPriceSchema(BaseSchema):
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    name = fields.String()
    unit = fields.String(validate=validate.OneOf(list(PRICE_UNITS)))
    unit_name = fields.String()
    price_fen = fields.Integer()


class PublicBadgeSchema(BaseSchema):
    kind = fields.String(validate=validate.OneOf(list(QUALIFICATION_KINDS)))
    kind_name = fields.String()


class PublicCaregiverSchema(BaseSchema):
    """What a search result shows: never the phone, the full name, numbers or files."""

    id = fields.Integer()
    display_name = fields.String(allow_none=True, metadata={"description": "脱敏姓名"})
    gender = fields.String(allow_none=True, validate=validate.OneOf(list(GENDERS)))
    age = fields.Integer(allow_none=True)
    years_experience = fields.Integer()
    skills = fields.List(fields.Nested(PublicSkillSchema))
    city_code = fields.String(allow_none=True)
    district_codes = fields.List(fields.String())
    rating_avg = fields.Float(allow_none=True)
    rating_count = fields.Integer()
    completed_orders = fields.Integer()
    accepts_urgent = fields.Boolean()
    night_service = fields.Boolean()
    prices = fields.List(fields.Nested(PublicPriceSchema))
    price_fen = fields.Integer(allow_none=True, metadata={"description": "所选服务类型的价格"})
    badges = fields.List(fields.Nested(PublicBadgeSchema), metadata={"description": "已认证的资质"})
    photo_url = fields.String(allow_none=True)
    distance_km = fields.Float(allow_none=True, metadata={"description": "给出位置时的距离"})


class PublicWorkHistorySchema(BaseSchema):
    start = fields.String(allow_none=True, metadata={"example": "2019-03"})
    end = fields.String(allow_none=True, metadata={"example": "2023-12"})
    employer = fields.String(allow_none=True)
    role = fields.String(allow_none=True)


class PublicHospitalRefSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()


class PublicRatingDistributionSchema(BaseSchema):
    # keys "1".."5" are not identifiers: named fields reading and writing those keys
    one = fields.Integer(data_key="1", attribute="1")
    two = fields.Integer(data_key="2", attribute="2")
    three = fields.Integer(data_key="3", attribute="3")
    four = fields.Integer(data_key="4", attribute="4")
    five = fields.Integer(data_key="5", attribute="5")


class PublicRatingSummarySchema(BaseSchema):
    avg = fields.Float(allow_none=True)
    count = fields.Integer()
    distribution = fields.Nested(PublicRatingDistributionSchema)


class PublicFreeWindowSchema(BaseSchema):
    start = fields.String(metadata={"format": "date-time"})
    end = fields.String(metadata={"format": "date-time"})


class PublicCaregiverDetailSchema(PublicCaregiverSchema):
    bio = fields.String(allow_none=True)
    work_history = fields.List(fields.Nested(PublicWorkHistorySchema))
    hospitals = fields.List(fields.Nested(PublicHospitalRefSchema))
    rating = fields.Nested(PublicRatingSummarySchema)
    recent_reviews = fields.List(fields.Nested(PublicReviewSchema), metadata={
        "description": "最近 3 条评价(全部评价见 GET /caregivers/{id}/reviews)"})
    review_tags = fields.List(fields.Nested(ReviewTagCountSchema), metadata={
        "description": "评价标签及被选次数,从多到少"})
    next_free_windows = fields.List(fields.Nested(PublicFreeWindowSchema), metadata={
        "description": "未来 7 天内的空闲时段(最多 20 个)"})
