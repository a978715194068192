"""Caps against scalpers (号贩子) on registrations.

Four scopes are capped, each on its own: the account, the patient's ID number (across every
account that added that person), the device (the id the mini-program sends in X-Device-Id)
and the address the request came from. An address is shared by everyone behind one carrier
NAT or one hospital's Wi-Fi, so its limits are loose and the device's tight. For each scope:

- booking attempts per minute (Redis, a fixed window; refused before anything is read);
- active registrations for one visit day, and at one hospital (all days);
- active waitlist entries (app/waitlist asks before it takes the schedule's lock).

The active counts are checked inside the booking transaction, after the booking takes one
lock row per scope key (`booking_limit_locks`, in key order), so two bookings that share a
scope take turns and cannot both take the last place under a cap. Lock order: patient →
these rows → schedule (the booking's conditional update), see docs/locking.md.

Every refusal names the limit, its value and when it resets. Each refusal also counts as a
trip of the account (Redis, per day); an account with LIMIT_FLAG_TRIPS trips in a day is
flagged once for staff (`booking_limit_flags`), who review and clear it.

The ID number, the device and the address appear only as HMAC blind indexes
(app/common/crypto), never in clear: on registrations (`id_number_index` comes from the
patient; `device_index` and `ip_index` are new) and in the lock keys.
"""
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.common.crypto import cipher
from app.common.pagination import paginate, where_given
from app.common.time import LOCAL_TZ, utcnow
from app.errors import Conflict, NotFound, RateLimited
from app.extensions import db, redis_client
from app.booking_limits.models import BookingLimitFlag, BookingLimitLock
from app.settings.services import rules_with_overrides, save_overrides
from app.staff.services import require_role

log = logging.getLogger("app.booking_limits")

LIMITS_KEY = "booking_limits"
SCOPES = {"account": "账号", "id_number": "就诊人证件", "device": "设备", "ip": "网络地址"}
# limit → (config key of its default, lowest, highest, what it caps)
LIMITS = {
    "account_attempts_per_minute": ("LIMIT_ACCOUNT_ATTEMPTS_PER_MINUTE", 1, 600, "每分钟预约请求"),
    "id_number_attempts_per_minute": ("LIMIT_ID_NUMBER_ATTEMPTS_PER_MINUTE", 1, 600,
                                      "每分钟预约请求"),
    "device_attempts_per_minute": ("LIMIT_DEVICE_ATTEMPTS_PER_MINUTE", 1, 600, "每分钟预约请求"),
    "ip_attempts_per_minute": ("LIMIT_IP_ATTEMPTS_PER_MINUTE", 1, 10 ** 6, "每分钟预约请求"),
    "account_per_day": ("LIMIT_ACCOUNT_PER_DAY", 1, 100, "同一就诊日的有效预约"),
    "id_number_per_day": ("LIMIT_ID_NUMBER_PER_DAY", 1, 20, "同一就诊日的有效预约"),
    "device_per_day": ("LIMIT_DEVICE_PER_DAY", 1, 100, "同一就诊日的有效预约"),
    "ip_per_day": ("LIMIT_IP_PER_DAY", 1, 10 ** 6, "同一就诊日的有效预约"),
    "account_per_hospital": ("LIMIT_ACCOUNT_PER_HOSPITAL", 1, 100, "同一医院的有效预约"),
    "id_number_per_hospital": ("LIMIT_ID_NUMBER_PER_HOSPITAL", 1, 50, "同一医院的有效预约"),
    "device_per_hospital": ("LIMIT_DEVICE_PER_HOSPITAL", 1, 100, "同一医院的有效预约"),
    "ip_per_hospital": ("LIMIT_IP_PER_HOSPITAL", 1, 10 ** 6, "同一医院的有效预约"),
    "account_waitlist": ("WAITLIST_MAX_ACTIVE_PER_USER", 1, 100, "同时进行的候补"),
    "id_number_waitlist": ("LIMIT_ID_NUMBER_WAITLIST", 1, 50, "同时进行的候补"),
    "device_waitlist": ("LIMIT_DEVICE_WAITLIST", 1, 100, "同时进行的候补"),
    "ip_waitlist": ("LIMIT_IP_WAITLIST", 1, 10 ** 6, "同时进行的候补"),
    "flag_trips_per_day": ("LIMIT_FLAG_TRIPS_PER_DAY", 1, 1000, "触发限制即标记账号的次数"),
}


class BookingLimitReached(Conflict):
    code = "booking_limit_reached"
    message = "已达到预约上限"


class BookingAttemptsTooFrequent(RateLimited):
    code = "booking_attempts_limited"
    message = "预约请求过于频繁,请稍后再试"


class FlagNotFound(NotFound):
    code = "booking_limit_flag_not_found"
    message = "标记不存在"


class BookingLimitsBusy(Conflict):
    code = "settings_busy"
    message = "预约限制正在被其他人修改,请稍后重试"


# ---- settings --------------------------------------------------------------------------------

def limits() -> dict:
    return rules_with_overrides(LIMITS_KEY, {name: spec[0] for name, spec in LIMITS.items()})


def get_limits(actor) -> dict:
    require_role(actor, "admin")
    return limits()


def update_limits(actor, *, changes: dict) -> dict:
    require_role(actor, "admin")
    save_overrides(actor, LIMITS_KEY, changes, LIMITS, BookingLimitsBusy)
    log.info("staff %s changed the booking limits: %s", actor.id, sorted(changes))
    return limits()


# ---- who is booking --------------------------------------------------------------------------

@dataclass(frozen=True)
class Client:
    """Where a booking came from, as blind indexes (either may be unknown)."""
    device: str | None = None
    ip: str | None = None


def client_of(ip: str | None, device_id: str | None) -> Client:
    return Client(
        device=cipher().blind_index(device_id[:128], "client:device") if device_id else None,
        ip=cipher().blind_index(ip, "client:ip") if ip else None)


def _scope_keys(user_id: int, id_number_index: str, client: Client | None) -> dict[str, str]:
    keys = {"account": f"a:{user_id}", "id_number": f"i:{id_number_index}"}
    if client is not None and client.device:
        keys["device"] = f"d:{client.device}"
    if client is not None and client.ip:
        keys["ip"] = f"p:{client.ip}"
    return keys


def _local_text(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")


def _trip(user_id: int, limit: str):
    """Count a refusal against the account; flag it (once) at the day's threshold."""
    today = datetime.now(LOCAL_TZ).date().isoformat()
    key = f"limits:trips:{today}:{user_id}"
    try:
        pipe = redis_client.conn.pipeline()
        pipe.incr(key)
        pipe.expire(key, 2 * 86400)
        trips = pipe.execute()[0]
    except RedisError:
        return
    if trips != limits()["flag_trips_per_day"]:
        return
    from app.common.jobs import job_name
    from app.extensions import jobs
    try:
        jobs.queue().enqueue(job_name("app.tasks.booking_limits.flag_account"), user_id, limit,
                             trips)
    except RedisError:
        log.warning("could not enqueue the booking-limit flag of account %s", user_id)


def flag_account(user_id: int, limit: str, trips: int) -> bool:
    """Job: one open flag per account (a second trip-through while open adds nothing)."""
    open_flag = db.session.scalar(select(BookingLimitFlag.id).where(
        BookingLimitFlag.user_id == user_id, BookingLimitFlag.status == "open").limit(1))
    if open_flag:
        db.session.rollback()
        return False
    db.session.add(BookingLimitFlag(user_id=user_id, status="open", last_limit=limit,
                                    trips=trips, flagged_at=utcnow()))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    log.warning("account %s flagged for booking limits (%s, %s trips today)", user_id, limit,
                trips)
    return True


def _refuse(user_id: int, error):
    _trip(user_id, error.details.get("limit", "unknown"))
    raise error


# ---- the checks ------------------------------------------------------------------------------

def check_attempts(user_id: int, id_number_index: str, client: Client | None):
    """Before a booking reads anything: one more attempt in this minute for each scope."""
    values = limits()
    now = time.time()
    window = int(now // 60)
    keys = _scope_keys(user_id, id_number_index, client)
    try:
        pipe = redis_client.conn.pipeline()
        for key in keys.values():
            pipe.incr(f"limits:attempts:{window}:{key}")
            pipe.expire(f"limits:attempts:{window}:{key}", 120)
        counts = pipe.execute()[0::2]
    except RedisError:  # the caps inside the transaction still hold; only the rate is lost
        return
    for (scope, _key), count in zip(keys.items(), counts):
        limit = f"{scope}_attempts_per_minute"
        if count > values[limit]:
            resets = datetime.fromtimestamp((window + 1) * 60, timezone.utc)
            error = BookingAttemptsTooFrequent(
                f"{SCOPES[scope]}预约请求过于频繁(每分钟最多 {values[limit]} 次),"
                f"请于 {_local_text(resets)} 后再试",
                details={"limit": limit, "max": values[limit],
                         "resets_at": resets.astimezone(LOCAL_TZ).isoformat()})
            error.headers = {"Retry-After": str(max(1, int((window + 1) * 60 - now)))}
            _refuse(user_id, error)


def _lock_scopes(keys: list[str]):
    """One lock row per scope key, created and locked in one statement, in key order. An
    upsert takes the row's exclusive lock straight away: creating it on a miss and then
    locking it would take a shared lock on another booking's fresh row first, and two such
    bookings deadlock upgrading theirs."""
    table = BookingLimitLock.__table__
    dialect = db.session.get_bind().dialect.name
    for key in sorted(keys):
        if dialect == "mysql":
            from sqlalchemy.dialects.mysql import insert
            statement = insert(table).values(key=key)
            statement = statement.on_duplicate_key_update(key=statement.inserted.key)
        else:  # SQLite: every write transaction already holds the database's write lock
            from sqlalchemy.dialects.sqlite import insert
            statement = insert(table).values(key=key).on_conflict_do_nothing()
        db.session.execute(statement)


def _locked_scopes(model, user_id: int, id_number_index: str, client: Client | None):
    """Lock the caller's scope rows, then (limits, {scope: count statement}) over `model`'s
    active rows (registrations or waitlist entries: both carry the user, the patient and the
    device and address indexes)."""
    from app.patients.models import Patient

    keys = _scope_keys(user_id, id_number_index, client)
    _lock_scopes(list(keys.values()))
    active = select(func.count(model.id)).where(model.active.is_(True))
    scoped = {
        "account": active.where(model.user_id == user_id),
        "id_number": active.join(Patient, Patient.id == model.patient_id).where(
            Patient.id_number_index == id_number_index),
    }
    if "device" in keys:
        scoped["device"] = active.where(model.device_index == client.device)
    if "ip" in keys:
        scoped["ip"] = active.where(model.ip_index == client.ip)
    return limits(), scoped


def _cap(user_id: int, values: dict, limit: str, count: int, message: str, resets_at):
    if count >= values[limit]:
        db.session.rollback()
        _refuse(user_id, BookingLimitReached(message, details={
            "limit": limit, "max": values[limit], "current": count, "resets_at": resets_at}))


def enforce_caps(user_id: int, id_number_index: str, client: Client | None, *, hospital_id: int,
                 visit_date: date):
    """Inside the booking transaction, before the slot is taken: lock the scopes, count the
    active registrations of each, refuse at a cap."""
    from app.booking.models import Registration

    values, scoped = _locked_scopes(Registration, user_id, id_number_index, client)
    for scope, statement in scoped.items():
        limit = f"{scope}_per_day"
        count = db.session.scalar(statement.where(Registration.visit_date == visit_date))
        _cap(user_id, values, limit, count,
             f"该{SCOPES[scope]}在 {visit_date.isoformat()} 已有 {count} 个有效预约"
             f"(上限 {values[limit]} 个);取消其中一个或该日过后可再预约",
             (visit_date + timedelta(days=1)).isoformat())
        limit = f"{scope}_per_hospital"
        count = db.session.scalar(statement.where(Registration.hospital_id == hospital_id))
        _cap(user_id, values, limit, count,
             f"该{SCOPES[scope]}在该医院已有 {count} 个有效预约(上限 {values[limit]} 个);"
             "就诊或取消后可再预约", None)


def enforce_waitlist_caps(user_id: int, id_number_index: str, client: Client | None):
    """Inside a waitlist join, before the schedule is locked (scope rows → schedule, as a
    booking takes them): the active waits of each scope under its cap."""
    from app.waitlist.models import WaitlistEntry

    values, scoped = _locked_scopes(WaitlistEntry, user_id, id_number_index, client)
    for scope, statement in scoped.items():
        limit = f"{scope}_waitlist"
        count = db.session.scalar(statement)
        _cap(user_id, values, limit, count,
             f"该{SCOPES[scope]}同时进行的候补已有 {count} 个(上限 {values[limit]} 个);"
             "候补结束或退出后可再加入", None)


# ---- staff -----------------------------------------------------------------------------------

def list_flags(actor, *, status: str | None, page: int, page_size: int) -> dict:
    require_role(actor, "operator")
    statement = where_given(select(BookingLimitFlag), (BookingLimitFlag.status, status))
    return paginate(statement.order_by(BookingLimitFlag.id.desc()), page, page_size)


def resolve_flag(actor, *, flag_id: int, note: str) -> BookingLimitFlag:
    require_role(actor, "operator")
    flag = db.session.get(BookingLimitFlag, flag_id, with_for_update=True,
                          populate_existing=True)
    if flag is None:
        db.session.rollback()
        raise FlagNotFound()
    flag.resolve(actor.id, note, utcnow())
    db.session.commit()
    log.info("staff %s resolved booking limit flag %s", actor.id, flag_id)
    return flag
