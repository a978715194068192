from marshmallow import fields, validate

from app.common.validation import BaseSchema, String
from app.stats.models import DIMENSIONS
from app.stats.services import EXPORT_TABLES, MAX_RANGE_DAYS

RANGE_HELP = (f"业务日(北京时间),含首尾;不填 to 为今天,不填 from 为 to 之前 30 天;"
              f"区间最长 {MAX_RANGE_DAYS} 天,to 不晚于今天")
GRANULARITIES = {"day": "按日", "week": "按周(周一开始)", "month": "按月"}


class RangeQuerySchema(BaseSchema):
    start = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "开始日期 YYYY-MM-DD。" + RANGE_HELP})
    end = fields.Date(data_key="to", load_default=None, metadata={"description": "结束日期 YYYY-MM-DD"})


class TrendQuerySchema(RangeQuerySchema):
    granularity = String(load_default="day", validate=validate.OneOf(list(GRANULARITIES)),
                         metadata={"description": "day 按日;week 按周;month 按月"})


class DimensionQuerySchema(RangeQuerySchema):
    dimension = String(load_default="hospital", validate=validate.OneOf(list(DIMENSIONS)),
                       metadata={"description": "hospital 医院;department 科室;city 城市"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ExportQuerySchema(RangeQuerySchema):
    table = String(required=True, validate=validate.OneOf(list(EXPORT_TABLES)),
                   metadata={"description": "; ".join(f"{k} {v}" for k, v in EXPORT_TABLES.items())})
    format = String(load_default="csv", validate=validate.OneOf(["csv", "xlsx"]),
                    metadata={"description": "csv(UTF-8 带 BOM)或 xlsx"})
    dimension = String(load_default="hospital", validate=validate.OneOf(list(DIMENSIONS)),
                       metadata={"description": "table=dimension 时的维度"})
    granularity = String(load_default="day", validate=validate.OneOf(list(GRANULARITIES)),
                         metadata={"description": "table=trend 时的粒度"})


class RangeSchema(BaseSchema):
    start = fields.Date(data_key="from", metadata={"description": "开始日期(含)"})
    end = fields.Date(data_key="to", metadata={"description": "结束日期(含)"})


class OverviewSchema(RangeSchema):
    unsummarised_days = fields.Integer(metadata={
        "description": "区间内尚未被夜间任务汇总的历史天数(这些天按 0 计)"})
    new_users = fields.Integer(metadata={"description": "新注册用户"})
    total_users = fields.Integer(metadata={"description": "截至区间最后一天的注册用户总数"})
    hospitals = fields.Integer(metadata={"description": "截至区间最后一天接入(启用)的医院数"})
    registrations = fields.Integer(metadata={"description": "挂号订单数(下单日)"})
    registrations_paid = fields.Integer(metadata={"description": "其中已支付"})
    registration_fen = fields.Integer(metadata={"description": "挂号支付金额(分)"})
    care_orders = fields.Integer(metadata={"description": "陪护订单数(下单日)"})
    care_orders_paid = fields.Integer(metadata={"description": "其中已支付"})
    care_fen = fields.Integer(metadata={"description": "陪护支付金额(分)"})
    accept_rate = fields.Float(allow_none=True, metadata={"description": "护工接单率(0-1)"})
    completion_rate = fields.Float(allow_none=True, metadata={"description": "陪护完成率(0-1)"})
    reviews = fields.Integer(metadata={"description": "评价数"})
    good_review_rate = fields.Float(allow_none=True, metadata={"description": "好评率(4-5 星)"})
    logins = fields.Integer(metadata={"description": "登录次数"})
    searches = fields.Integer(metadata={"description": "搜索次数(医院与护工)"})
    conversion_rate = fields.Float(allow_none=True, metadata={
        "description": "搜索到下单转化率:当日搜索的登录用户中当日下单的比例"})


class TrendPointSchema(BaseSchema):
    period = fields.Date(metadata={"description": "日期,或周一/月初"})
    new_users = fields.Integer()
    total_users = fields.Integer()
    hospitals = fields.Integer()
    registrations = fields.Integer()
    registrations_paid = fields.Integer()
    registration_fen = fields.Integer()
    care_orders = fields.Integer()
    care_orders_paid = fields.Integer()
    care_fen = fields.Integer()
    logins = fields.Integer()
    searches = fields.Integer()


class TrendSchema(RangeSchema):
    granularity = String()
    items = fields.List(fields.Nested(TrendPointSchema))


class DimensionRowSchema(BaseSchema):
    key = String(metadata={"description": "医院 id、科室 id(陪护为 h<医院id>:<科室名>)或城市代码"})
    name = String()
    registrations = fields.Integer()
    registrations_paid = fields.Integer()
    registration_fen = fields.Integer()
    care_orders = fields.Integer()
    care_orders_paid = fields.Integer()
    care_fen = fields.Integer()


class DimensionPageSchema(RangeSchema):
    dimension = String()
    items = fields.List(fields.Nested(DimensionRowSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class IncomeBucketSchema(BaseSchema):
    label = String()
    min_fen = fields.Integer(allow_none=True, metadata={"description": "区间下限(分),含"})
    caregivers = fields.Integer()
    income_fen = fields.Integer()


class CaregiverDaySchema(BaseSchema):
    day = fields.Date()
    accepted = fields.Integer()
    rejected = fields.Integer()
    timed_out = fields.Integer()
    accept_rate = fields.Float(allow_none=True)
    completed = fields.Integer()
    cancelled = fields.Integer(metadata={"description": "付款后未服务结束(取消或无人接单退款)"})
    completion_rate = fields.Float(allow_none=True)


class CaregiverStatsSchema(RangeSchema):
    accept_rate = fields.Float(allow_none=True)
    completion_rate = fields.Float(allow_none=True)
    offers_decided = fields.Integer()
    offers_accepted = fields.Integer()
    completed = fields.Integer()
    earning_caregivers = fields.Integer(metadata={"description": "区间内有收入入账的护工数"})
    income_buckets = fields.List(fields.Nested(IncomeBucketSchema))
    items = fields.List(fields.Nested(CaregiverDaySchema))


class RatingRowSchema(BaseSchema):
    stars = fields.Integer()
    reviews = fields.Integer()
    share = fields.Float(allow_none=True)


class SatisfactionSchema(RangeSchema):
    reviews = fields.Integer()
    good_review_rate = fields.Float(allow_none=True)
    average_stars = fields.Float(allow_none=True)
    items = fields.List(fields.Nested(RatingRowSchema))


class BehaviourDaySchema(BaseSchema):
    day = fields.Date()
    logins = fields.Integer()
    login_users = fields.Integer()
    searches = fields.Integer()
    searchers = fields.Integer()
    converted = fields.Integer()
    conversion_rate = fields.Float(allow_none=True)


class BehaviourSchema(RangeSchema):
    logins = fields.Integer()
    searches = fields.Integer()
    searchers = fields.Integer()
    converted = fields.Integer()
    conversion_rate = fields.Float(allow_none=True)
    items = fields.List(fields.Nested(BehaviourDaySchema))
