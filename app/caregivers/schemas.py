from marshmallow import ValidationError, fields, validate, validates_schema

from app.caregivers.models import CAREGIVER_STATUSES, CARE_TYPES, REVISION_STATUSES, SUSPENDED_BY
from app.common.masking import mask_phone
from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, String, Text
from app.patients.models import GENDERS
from app.qualifications.models import QUALIFICATION_KINDS, QUALIFICATION_STATUSES

_ID = validate.Range(min=1, max=2**31 - 1)
_REGION = validate.Regexp(r"^\d{6}$", error="应为 6 位行政区划代码")
_MONTH = validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$", error="格式应为 YYYY-MM")
MAX_DISTRICTS = 20
MAX_HOSPITALS = 20
MAX_SKILLS = 10
MAX_WORK_HISTORY = 10
PRICE_FEN_MAX = 10_000_000  # 十万元: no care type costs more; larger is a typo


# ---- reference lists ---------------------------------------------------------------------------

class CareSkillSchema(BaseSchema):
    code = fields.String()
    name = fields.String()


class StaffCareSkillSchema(CareSkillSchema):
    sort_order = fields.Integer()
    is_active = fields.Boolean()


class CareTypeSchema(BaseSchema):
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    name = fields.String()
    unit = fields.String()
    unit_name = fields.String()
    min_price_fen = fields.Integer()
    max_price_fen = fields.Integer()


# ---- the caregiver's own writes ----------------------------------------------------------------

class CaregiverWorkHistorySchema(BaseSchema):
    start = String(required=True, validate=_MONTH, metadata={"description": "YYYY-MM"})
    end = String(allow_none=True, load_default=None, validate=_MONTH,
                 metadata={"description": "YYYY-MM;为空表示至今"})
    employer = Text(64, required=True, min_length=1)
    role = Text(32, required=True, min_length=1)

    @validates_schema
    def end_after_start(self, data, **kwargs):
        if data.get("end") is not None and data["end"] < data["start"]:
            raise ValidationError("结束月份不能早于开始月份", "end")


class CaregiverWriteSchema(BaseSchema):
    """Any profile field; only those given change. Checks that need the database or the
    current profile (skills, hospitals, districts against the city, age, the photo) are the
    service's."""

    name = Text(32, min_length=2)
    gender = String(validate=validate.OneOf(list(GENDERS)))
    birth_date = fields.Date()
    city_code = String(validate=_REGION)
    district_codes = fields.List(String(validate=_REGION),
                                 validate=validate.Length(max=MAX_DISTRICTS))
    hospital_ids = fields.List(fields.Integer(strict=True, validate=_ID),
                               validate=validate.Length(max=MAX_HOSPITALS))
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    skills = fields.List(String(validate=validate.Length(min=1, max=32)),
                         validate=validate.Length(min=1, max=MAX_SKILLS),
                         metadata={"description": "技能代码(见 GET /api/v1/caregiver-skills)"})
    years_experience = fields.Integer(strict=True, validate=validate.Range(min=0, max=50))
    bio = Text(500, allow_none=True)
    work_history = fields.List(fields.Nested(CaregiverWorkHistorySchema),
                               validate=validate.Length(max=MAX_WORK_HISTORY))
    photo_file_id = fields.Integer(strict=True, validate=_ID,
                                   metadata={"description": "本人上传的 JPEG/PNG 照片"})
    accepts_urgent = fields.Boolean(metadata={"description": "接急单(2 小时内开始)"})
    night_service = fields.Boolean()
    night_surcharge_fen = fields.Integer(strict=True, validate=validate.Range(min=0),
                                         metadata={"description": "夜间附加费(分)"})

    @validates_schema
    def coordinates_together(self, data, **kwargs):
        if ("latitude" in data) != ("longitude" in data):
            raise ValidationError("经纬度需同时提供", "latitude")


class CaregiverPriceItemSchema(BaseSchema):
    care_type = String(required=True, validate=validate.Length(min=1, max=32),
                       metadata={"description": "见 GET /api/v1/care-types"})
    price_fen = fields.Integer(required=True, strict=True,
                               validate=validate.Range(min=0, max=PRICE_FEN_MAX))


class CaregiverPricesWriteSchema(BaseSchema):
    prices = fields.List(fields.Nested(CaregiverPriceItemSchema), required=True,
                         validate=validate.Length(min=1, max=len(CARE_TYPES)))


class CaregiverPriceSchema(BaseSchema):
    care_type = fields.String(validate=validate.OneOf(list(CARE_TYPES)))
    care_type_name = fields.Function(lambda p: CARE_TYPES[p.care_type][0],
                                     metadata={"type": "string"})
    unit = fields.Function(lambda p: CARE_TYPES[p.care_type][1], metadata={"type": "string"})
    price_fen = fields.Integer()


class CaregiverPricesSchema(BaseSchema):
    prices = fields.List(fields.Nested(CaregiverPriceSchema))


# ---- profile views -----------------------------------------------------------------------------

class CaregiverHospitalRefSchema(BaseSchema):
    id = fields.Integer()
    name = fields.String()


class CaregiverWorkHistoryOutSchema(BaseSchema):
    start = fields.String()
    end = fields.String(allow_none=True)
    employer = fields.String()
    role = fields.String()


class CaregiverRevisionRefSchema(BaseSchema):
    id = fields.Integer()
    changes = fields.Dict(keys=fields.String(), metadata={
        "description": "待审核的字段及其新值(姓名、性别、出生日期、照片、从业年限、经历、简介、技能)"})
    created_at = LocalDateTime()


class _ProfileSchema(BaseSchema):
    """Dumps the dict app.caregivers.services builds (profile_view)."""

    id = fields.Integer()
    user_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(CAREGIVER_STATUSES)))
    status_name = fields.String()
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    gender = fields.String(allow_none=True, validate=validate.OneOf(list(GENDERS)))
    birth_date = fields.Date(allow_none=True)
    city_code = fields.String(allow_none=True)
    district_codes = fields.List(fields.String())
    hospitals = fields.List(fields.Nested(CaregiverHospitalRefSchema))
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    skills = fields.List(fields.Nested(CareSkillSchema))
    years_experience = fields.Integer()
    bio = fields.String(allow_none=True)
    work_history = fields.List(fields.Nested(CaregiverWorkHistoryOutSchema))
    photo_file_id = fields.Integer(allow_none=True)
    prices = fields.List(fields.Nested(CaregiverPriceSchema))
    accepts_urgent = fields.Boolean()
    night_service = fields.Boolean()
    night_surcharge_fen = fields.Integer()
    review_round = fields.Integer()
    submitted_at = LocalDateTime(allow_none=True)
    reviewed_at = LocalDateTime(allow_none=True)
    approved_at = LocalDateTime(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    suspended_by = fields.String(allow_none=True, validate=validate.OneOf(list(SUSPENDED_BY)))
    suspend_reason = fields.String(allow_none=True)
    pending_revision = fields.Nested(CaregiverRevisionRefSchema, allow_none=True)
    missing_qualifications = fields.List(fields.String(), metadata={
        "description": "尚缺的必备证件(已通过且在有效期内才算具备)"})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class MyCaregiverSchema(_ProfileSchema):
    """The caregiver's own profile: everything in plaintext."""


class CaregiverQualificationSummarySchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(list(QUALIFICATION_KINDS)))
    kind_name = fields.String()
    status = fields.String(validate=validate.OneOf(list(QUALIFICATION_STATUSES)))
    expires_on = fields.Date(allow_none=True)
    expired = fields.Boolean()


class StaffCaregiverSchema(_ProfileSchema):
    """What a reviewer or operator sees: the name (they check it against the ID card), the
    phone masked, and the documents' state."""

    phone = fields.Function(lambda view: mask_phone(view["phone"]), allow_none=True,
                            metadata={"type": "string"})
    reviewed_by_staff_id = fields.Integer(allow_none=True)
    suspension_count = fields.Integer()
    qualifications = fields.List(fields.Nested(CaregiverQualificationSummarySchema))


class StaffCaregiverQuerySchema(PageQuerySchema):
    status = String(validate=validate.OneOf(list(CAREGIVER_STATUSES)))
    city_code = String(validate=_REGION)


class StaffCaregiverRowSchema(BaseSchema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String(allow_none=True)
    phone = fields.Function(lambda c: mask_phone(c.phone), allow_none=True,
                            metadata={"type": "string"})
    status = fields.String(validate=validate.OneOf(list(CAREGIVER_STATUSES)))
    status_name = fields.Function(lambda c: CAREGIVER_STATUSES[c.status],
                                  metadata={"type": "string"})
    city_code = fields.String(allow_none=True)
    submitted_at = LocalDateTime(allow_none=True)
    review_round = fields.Integer()


class CaregiverDecisionSchema(BaseSchema):
    approve = fields.Boolean(required=True)
    reason = Text(200, min_length=2, allow_none=True, metadata={"description": "驳回时必填"})


class CaregiverSuspendSchema(BaseSchema):
    reason = Text(200, required=True, min_length=2)


# ---- revisions ---------------------------------------------------------------------------------

class CaregiverRevisionQuerySchema(PageQuerySchema):
    status = String(load_default="pending", validate=validate.OneOf(list(REVISION_STATUSES)))


class CaregiverRevisionSchema(BaseSchema):
    id = fields.Integer()
    caregiver_id = fields.Integer()
    caregiver_name = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(list(REVISION_STATUSES)))
    status_name = fields.String()
    changes = fields.Dict(keys=fields.String())
    reject_reason = fields.String(allow_none=True)
    reviewed_by_staff_id = fields.Integer(allow_none=True)
    reviewed_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()


# ---- skills and price standards (admin) --------------------------------------------------------

class CareSkillCreateSchema(BaseSchema):
    code = String(required=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_]{1,31}$", error="代码应为 2–32 位小写字母、数字或下划线,以字母开头"))
    name = Text(32, required=True, min_length=1)
    sort_order = fields.Integer(strict=True, load_default=0,
                                validate=validate.Range(min=0, max=1_000_000))


class CareSkillUpdateSchema(BaseSchema):
    name = Text(32, min_length=1)
    sort_order = fields.Integer(strict=True, validate=validate.Range(min=0, max=1_000_000))
    is_active = fields.Boolean()


class CarePriceLimitSchema(BaseSchema):
    min_fen = fields.Integer(required=True, strict=True,
                             validate=validate.Range(min=1, max=PRICE_FEN_MAX))
    max_fen = fields.Integer(required=True, strict=True,
                             validate=validate.Range(min=1, max=PRICE_FEN_MAX))

    @validates_schema
    def ordered(self, data, **kwargs):
        if data["min_fen"] > data["max_fen"]:
            raise ValidationError("最低价不能高于最高价", "min_fen")


class CarePriceLimitsWriteSchema(BaseSchema):
    limits = fields.Dict(required=True,
                         keys=String(validate=validate.OneOf(list(CARE_TYPES))),
                         values=fields.Nested(CarePriceLimitSchema),
                         metadata={"description": "每种服务类型的价格区间(分),须全部给出"})

    @validates_schema
    def every_type(self, data, **kwargs):
        missing = [t for t in CARE_TYPES if t not in data["limits"]]
        if missing:
            raise ValidationError(f"缺少服务类型:{', '.join(missing)}", "limits")


class CarePriceLimitsSchema(BaseSchema):
    limits = fields.Dict(keys=fields.String(), values=fields.Nested(CarePriceLimitSchema))
    prices_outside = fields.Integer(metadata={
        "description": "现有报价中超出新标准的数量(保留不改,下次修改报价时须符合)"})
