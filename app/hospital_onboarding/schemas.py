from marshmallow import fields, validate

from app.common.pagination import PageQuerySchema
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.hospital_onboarding.models import APPLICATION_STATUSES, KEY_STATUSES
from app.hospitals.models import HOSPITAL_LEVELS
from app.hospitals.schemas import _level, _phone, _region


class HospitalApplicationCreateSchema(BaseSchema):
    name = Text(64, required=True, min_length=2)
    level = fields.String(required=True, validate=_level,
                          metadata={"description": "医院等级: " + ", ".join(HOSPITAL_LEVELS)})
    province_code = fields.String(required=True, validate=_region)
    city_code = fields.String(required=True, validate=_region)
    district_code = fields.String(required=True, validate=_region)
    address = Text(200, required=True, min_length=2)
    phone = Text(32, validate=_phone, load_default=None, allow_none=True,
                 metadata={"description": "医院对外电话(审核通过后向患者展示)"})
    contact_name = Text(32, required=True, min_length=1)
    contact_phone = Text(32, required=True, validate=_phone)
    licence_file_id = fields.Integer(required=True, strict=True,
                                     validate=validate.Range(min=1, max=2**63 - 1),
                                     metadata={"description": "执业许可证文件(本人上传的文件 id)"})


class HospitalApplicationSchema(BaseSchema):
    id = fields.Integer()
    user_id = fields.Integer()
    name = fields.String()
    level = fields.String()
    province_code = fields.String()
    city_code = fields.String()
    district_code = fields.String()
    address = fields.String()
    phone = fields.String(allow_none=True)
    contact_name = fields.String(metadata={"description": "脱敏"})
    contact_phone = fields.String(metadata={"description": "脱敏"})
    licence_file_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(list(APPLICATION_STATUSES)))
    reject_reason = fields.String(allow_none=True)
    reviewed_at = LocalDateTime(allow_none=True)
    hospital_id = fields.Integer(allow_none=True)
    hospital_code = fields.String(allow_none=True)
    created_at = LocalDateTime()


class HospitalApplicationQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(list(APPLICATION_STATUSES)))


class ApplicationRejectSchema(BaseSchema):
    reason = Text(200, required=True, min_length=1)


class HospitalApiKeySchema(BaseSchema):
    key_id = fields.String()
    status = fields.String(validate=validate.OneOf(list(KEY_STATUSES)))
    usable = fields.Boolean(metadata={"description": "现在能否用于签名(未吊销且未过期)"})
    created_at = LocalDateTime()
    expires_at = LocalDateTime(allow_none=True)
    revoked_at = LocalDateTime(allow_none=True)


class IssuedHospitalApiKeySchema(HospitalApiKeySchema):
    hospital_id = fields.Integer()
    hospital_code = fields.String()
    secret = fields.String(metadata={"description": "签名密钥,仅此一次返回,请妥善保存"})


class ApplicationApprovalSchema(BaseSchema):
    application = fields.Nested(HospitalApplicationSchema)
    key = fields.Nested(IssuedHospitalApiKeySchema)


class HospitalApiKeyListSchema(BaseSchema):
    items = fields.List(fields.Nested(HospitalApiKeySchema))
