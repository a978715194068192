"""How personal data leaves the API when the caller is not its owner's edit view."""


def mask_id_number(value: str | None) -> str | None:
    if not value:
        return value
    # resident IDs show 4+4 (the national convention); shorter documents reveal less
    keep = 4 if len(value) >= 15 else 2 if len(value) >= 8 else 1
    if len(value) <= 2 * keep:
        return "*" * len(value)
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


def mask_phone(value: str | None) -> str | None:
    if not value:
        return value
    if len(value) == 11:
        return value[:3] + "****" + value[-4:]
    return value[:2] + "*" * max(len(value) - 4, 1) + value[-2:]


def mask_name(value: str | None) -> str | None:
    if not value:
        return value
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def mask_text(value: str | None) -> str | None:
    """Free-text medical notes: shown to owners only; others see that something is there."""
    if not value:
        return value
    return "******"
