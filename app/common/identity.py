"""ID document and phone validation (GB 11643 checksum for resident identity cards)."""
import re
from datetime import date

ID_TYPES = {
    "resident_id": "居民身份证",
    "passport": "护照",
    "hk_macau_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "foreign_permanent_residence": "外国人永久居留身份证",
}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_OTHER_ID = re.compile(r"^[A-Z0-9]{5,20}$")
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def resident_id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def parse_resident_id(value: str):
    """Return (birthday, gender) for a valid 18-digit resident ID, else None."""
    if not _RESIDENT_ID.match(value):
        return None
    if resident_id_check_char(value[:17]) != value[17]:
        return None
    try:
        birthday = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if birthday.year < 1900 or birthday > date.today():
        return None
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return birthday, gender


def normalize_id_number(id_type: str, value: str) -> str:
    return value.strip().upper().replace(" ", "")


def id_number_error(id_type: str, value: str) -> str | None:
    """A Chinese message when the number is invalid for its type, else None."""
    if id_type == "resident_id":
        if not _RESIDENT_ID.match(value):
            return "身份证号应为 18 位"
        if parse_resident_id(value) is None:
            return "身份证号校验失败,请核对后重新输入"
        return None
    if not _OTHER_ID.match(value):
        return "证件号码格式不正确"
    return None
