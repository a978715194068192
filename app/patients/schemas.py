from marshmallow import fields, validate, validates_schema

from app.common.identity import ID_TYPES, MOBILE
from app.common.masking import mask_id_number, mask_phone, mask_text
from app.common.validation import BaseSchema, LocalDateTime, Text
from app.patients.models import GENDERS

_mobile = validate.Regexp(MOBILE, error="手机号格式不正确")


class PatientWriteSchema(BaseSchema):
    name = Text(32, min_length=2)
    id_type = fields.String(validate=validate.OneOf(list(ID_TYPES)))
    id_number = Text(32, min_length=5)
    gender = fields.String(validate=validate.OneOf(list(GENDERS)))
    birthday = fields.Date()
    phone = Text(11, validate=_mobile)
    is_insured = fields.Boolean()
    medical_card_no = Text(32, allow_none=True,
                           validate=validate.Regexp(r"^[A-Za-z0-9-]{0,32}$",
                                                    error="就诊卡号只能包含字母、数字和连字符"))
    contact_name = Text(32, allow_none=True)
    contact_phone = Text(11, allow_none=True, validate=_mobile)
    condition = Text(500, allow_none=True)
    hospital_name = Text(64, allow_none=True)
    ward = Text(32, allow_none=True)
    bed_no = Text(16, allow_none=True)

    @validates_schema
    def id_number_with_type(self, data, **kwargs):
        from marshmallow import ValidationError

        if ("id_number" in data) != ("id_type" in data):
            raise ValidationError("证件类型与证件号码需同时提供", "id_number")


class PatientCreateSchema(PatientWriteSchema):
    class Meta:
        # name, id document and phone are needed to book anything
        pass

    @validates_schema
    def required_fields(self, data, **kwargs):
        from marshmallow import ValidationError

        missing = {f: ["必填"] for f in ("name", "id_type", "id_number", "phone") if f not in data}
        if missing:
            raise ValidationError(missing)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("name", "id_type", "id_number", "phone"):  # so the API document says so
            self.fields[name].required = True


class PatientUpdateSchema(PatientWriteSchema):
    pass


class PatientSchema(BaseSchema):
    """What lists and details show: personal data masked."""

    id = fields.Integer()
    name = fields.String()
    id_type = fields.String(validate=validate.OneOf(list(ID_TYPES)))
    id_number = fields.Function(lambda p: mask_id_number(p.id_number), metadata={"type": "string"})
    gender = fields.String(validate=validate.OneOf(list(GENDERS)))
    birthday = fields.Date()
    age = fields.Method("get_age", metadata={"type": "integer"})
    phone = fields.Function(lambda p: mask_phone(p.phone), metadata={"type": "string"})
    is_insured = fields.Boolean()
    medical_card_no = fields.Function(lambda p: mask_id_number(p.medical_card_no),
                                      allow_none=True, metadata={"type": "string"})
    contact_name = fields.String(allow_none=True)
    contact_phone = fields.Function(lambda p: mask_phone(p.contact_phone), allow_none=True,
                                    metadata={"type": "string"})
    condition = fields.Function(lambda p: mask_text(p.condition), allow_none=True,
                                metadata={"type": "string"})
    hospital_name = fields.String(allow_none=True)
    ward = fields.String(allow_none=True)
    bed_no = fields.String(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()

    def get_age(self, patient):
        from app.common.time import local_today

        today = local_today()
        born = patient.birthday
        return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


class PatientEditViewSchema(PatientSchema):
    """The owner's own edit form: plaintext."""

    id_number = fields.String()
    phone = fields.String()
    medical_card_no = fields.String(allow_none=True)
    contact_phone = fields.String(allow_none=True)
    condition = fields.String(allow_none=True)
