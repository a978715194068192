"""What a care order costs: one function, `quote`, used by the quote endpoint and by order
creation alike, so the family is charged exactly what it was shown.

    base     = units × unit price (the caregiver's price for the type, or the platform's
               dispatch price when no caregiver is chosen)
    night    = nights touched × the night surcharge (a night is 22:00–06:00 local); a
               full-day booking (全天陪护) is round the clock by definition: its nights are
               in the day price and need no night-service opt-in
    urgent   = base × urgent_surcharge_bp, when the start is under urgent_hours away
    discount = base × the long-order tier's basis points (by units)
    total    = base + night + urgent − discount          (integer fen; shares round down)
"""
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from flask import current_app

from app.caregivers.models import CARE_TYPES
from app.common.time import LOCAL_TZ
from app.settings.services import get_setting

POLICY_KEY = "care_policy"
GRID_MINUTES = 30
NIGHT_START_HOUR, NIGHT_END_HOUR = 22, 6
# how long one unit of each type's price lasts; escort (陪诊) is one visit of at most 12 h
UNIT_LENGTH = {"full_day": timedelta(hours=24), "day_shift": timedelta(hours=12),
               "night_shift": timedelta(hours=12), "hourly": timedelta(hours=1),
               "escort": timedelta(hours=12)}
ESCORT_MAX = timedelta(hours=12)


def care_policy() -> dict:
    """The config's CARE_POLICY with what staff saved over it."""
    policy = dict(current_app.config["CARE_POLICY"])
    stored = get_setting(POLICY_KEY) or {}
    if isinstance(stored, dict):
        policy.update({key: value for key, value in stored.items() if key in policy})
    return policy


def share(amount_fen: int, basis_points: int) -> int:
    """amount × bp / 10000, rounded down (the platform never rounds a family's money up)."""
    return amount_fen * int(basis_points) // 10000


@dataclass(frozen=True)
class Quote:
    care_type: str
    units: int
    unit_price_fen: int
    base_fen: int
    nights: int
    night_surcharge_fen: int  # per night
    night_fen: int
    urgent: bool
    urgent_fen: int
    discount_bp: int
    discount_fen: int
    member_discount_bp: int
    member_discount_fen: int
    total_fen: int

    def as_dict(self) -> dict:
        return asdict(self)


def units_for(care_type: str, start: datetime, end: datetime) -> int:
    """Started units: a 25-hour full-day booking is 2 days."""
    length = UNIT_LENGTH[care_type]
    span = end - start
    return max(1, -(-span // length))


def nights_touched(start: datetime, end: datetime) -> int:
    """How many local nights (22:00–06:00) overlap [start, end)."""
    local_start, local_end = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    day = local_start.date() - timedelta(days=1)
    count = 0
    while True:
        night_start = datetime(day.year, day.month, day.day, NIGHT_START_HOUR, tzinfo=LOCAL_TZ)
        if night_start >= local_end:
            return count
        night_end = night_start + timedelta(hours=24 - NIGHT_START_HOUR + NIGHT_END_HOUR)
        if night_end > local_start:
            count += 1
        day += timedelta(days=1)


def is_urgent(start: datetime, now: datetime, policy: dict) -> bool:
    return start - now < timedelta(hours=policy["urgent_hours"])


def quote(*, care_type: str, start: datetime, end: datetime, now: datetime,
          unit_price_fen: int, night_surcharge_fen: int, policy: dict,
          member_discount_bp: int = 0) -> Quote:
    """The price of [start, end) (aware) at `unit_price_fen` per unit. Rules (is the caregiver
    free, do they take nights or urgent orders) are the caller's: this is arithmetic.
    `member_discount_bp`: the family's membership discount (app/membership), taken off the
    rest last; every quote for one order uses the same one (the order keeps it), so dispatch
    compares like with like."""
    units = units_for(care_type, start, end)
    base = units * unit_price_fen
    nights = 0 if care_type == "full_day" else nights_touched(start, end)
    night = nights * night_surcharge_fen
    urgent = is_urgent(start, now, policy)
    urgent_fen = share(base, policy["urgent_surcharge_bp"]) if urgent else 0
    discount_bp = 0
    if CARE_TYPES[care_type][1] in ("day", "shift"):
        for min_units, basis_points in sorted(policy["long_order_discounts"]):
            if units >= min_units:
                discount_bp = int(basis_points)
    discount = share(base, discount_bp)
    subtotal = base + night + urgent_fen - discount
    member_discount = share(subtotal, member_discount_bp)
    return Quote(care_type=care_type, units=units, unit_price_fen=unit_price_fen, base_fen=base,
                 nights=nights, night_surcharge_fen=night_surcharge_fen, night_fen=night,
                 urgent=urgent, urgent_fen=urgent_fen, discount_bp=discount_bp,
                 discount_fen=discount, member_discount_bp=member_discount_bp,
                 member_discount_fen=member_discount, total_fen=subtotal - member_discount)
