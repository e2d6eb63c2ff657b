"""Settings for Valify Batch, read once from the environment."""

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from valify.environment import Environment, require_ranges

BASE_DIR = Path(__file__).resolve().parent.parent
env = Environment()

# Embedded mode keeps its SQLite databases and uploads under var/ so a fresh clone runs as is.
VAR_DIR = Path(env("VALIFY_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# The embedded run's key: public (it is in the repository), so refused with DEBUG off.
DEVELOPMENT_SECRET_KEY = "django-insecure-embedded-only-set-DJANGO_SECRET_KEY-in-production"
SECRET_KEY = env("DJANGO_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY if DEBUG else "")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=list(LOCAL_HOSTS))
# Debug pages show settings and code: never on a host the world can reach.
if DEBUG and set(ALLOWED_HOSTS) - set(LOCAL_HOSTS):
    raise ImproperlyConfigured(
        "DJANGO_ALLOWED_HOSTS names a host other than localhost, 127.0.0.1 or [::1] while "
        "DJANGO_DEBUG is on (its default): set DJANGO_DEBUG=false to serve other hosts."
    )
if not DEBUG and SECRET_KEY in ("", DEVELOPMENT_SECRET_KEY):
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=false needs DJANGO_SECRET_KEY set to a long random value of your own."
    )
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_celery_results",
    "batches",
    "leads",
    "webhooks",
    "customers",
    # Before api: its post_migrate gives the groups the permissions of the apps above.
    "screening",
    "alerts",
    "api",
    "reports",
    "standardiser",
]

MIDDLEWARE = [
    # First: refuse an over-large body from its Content-Length before anything reads it,
    # and answer a platform's health probe whatever host name it uses.
    "valify.middleware.RequestSizeLimitMiddleware",
    "valify.middleware.HealthProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a logged-in session's form is checked, a script's by its view.
    "valify.middleware.UnreadableRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "valify.urls"
WSGI_APPLICATION = "valify.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite in WAL mode by default (web, worker and beat share it); DATABASE_URL switches.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'valify.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Covering indexes (INCLUDE) are PostgreSQL's; SQLite builds them without: no news.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            # IMMEDIATE takes the write lock up front: a busy timeout cannot cover lock upgrades.
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
            ),
        }
    )
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="Europe/London")
try:
    ZoneInfo(TIME_ZONE)
except (ValueError, ZoneInfoNotFoundError):
    raise ImproperlyConfigured(
        f"TIME_ZONE={TIME_ZONE[:60]!r} is not a time zone such as Europe/London."
    ) from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# Storage: local files by default, S3 (or an S3-compatible service) when a bucket is named.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    from boto3.s3.transfer import TransferConfig

    AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default=None)
    # "path" for S3-compatible services that have no per-bucket host names (e.g. MinIO).
    AWS_S3_ADDRESSING_STYLE = env("AWS_S3_ADDRESSING_STYLE", default=None)
    AWS_ACCESS_KEY_ID = env("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_DEFAULT_ACL = None
    AWS_S3_FILE_OVERWRITE = False
    AWS_QUERYSTRING_AUTH = True
    # django-storages downloads an object being read into a spooled temporary file; past this
    # many bytes it goes to disk (0, its default, would hold a whole upload in memory).
    AWS_S3_MAX_MEMORY_SIZE = env.int("AWS_S3_MAX_MEMORY_SIZE", default=1024 * 1024)
    # Transfers in the calling thread: s3transfer's threaded download holds parts in memory
    # (a 19 MB upload read back peaked at 37 MB); in one stream it stays near 2 MB.
    AWS_S3_TRANSFER_CONFIG = TransferConfig(use_threads=False)
    _default_storage = {"BACKEND": "storages.backends.s3.S3Storage"}
else:
    _default_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Behind a proxy that rewrites the host, absolute URLs (the results API's `next`) name the host
# it forwards; off by default because a client could otherwise choose the host.
USE_X_FORWARDED_HOST = env.bool("DJANGO_USE_X_FORWARDED_HOST", default=False)

# Production hardening applies only with DEBUG off, so the embedded run works over plain HTTP.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    # Platforms probe health over plain HTTP from inside their network.
    SECURE_REDIRECT_EXEMPT = [r"^health$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Product settings (see DESIGN: names are public).
MAX_LEADS_PER_BATCH = env.int("MAX_LEADS_PER_BATCH", default=10_000)
MAX_UPLOAD_MB = env.int("MAX_UPLOAD_MB", default=20)
# Files in one upload request (Django refuses more before reading them).
DATA_UPLOAD_MAX_NUMBER_FILES = 10
CHUNK_SIZE = env.int("CHUNK_SIZE", default=500)
HEADER_FUZZY_THRESHOLD = env.int("HEADER_FUZZY_THRESHOLD", default=85)
# Also treat a row as a duplicate when its (valid) email was already seen in the batch, or is
# held by a valid lead of an earlier batch (claimed, like lead ids).
DEDUPE_ON_EMAIL = env.bool("DEDUPE_ON_EMAIL", default=False)
# The same for a (valid) phone, compared in E.164 form.
DEDUPE_ON_PHONE = env.bool("DEDUPE_ON_PHONE", default=False)
# Where a lead id (e-mail, phone) is claimed once across batches: `customer` (one person can
# go once to each customer) or `global` (exclusive leads: once, to one customer).
DEDUPE_SCOPE = env("DEDUPE_SCOPE", default="customer").strip().lower()
if DEDUPE_SCOPE not in ("customer", "global"):
    raise ImproperlyConfigured(f"DEDUPE_SCOPE must be 'customer' or 'global', not {DEDUPE_SCOPE!r}")
MIN_AGE = env.int("MIN_AGE", default=18)
MAX_AGE = env.int("MAX_AGE", default=120)
PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", default="GB").upper()
LEAD_VALIDATORS = env.list(
    "LEAD_VALIDATORS",
    default=[
        "leads.rules.validate_names",
        "leads.rules.validate_dob",
        "leads.rules.validate_email",
        "leads.rules.validate_phone",
        "leads.rules.validate_postcode",
        "leads.rules.validate_consent",
    ],
)
# A lead without a readable consent date is invalid (consent_missing).
CONSENT_REQUIRED = env.bool("CONSENT_REQUIRED", default=False)
# Enrichment of valid leads (offline unless ENRICH_EMAIL_MX): steps by dotted path, like
# LEAD_VALIDATORS, run over ENRICH_BATCH_SIZE leads at a time.
# The company provider over HTTP is off unless ENRICH_COMPANY_URL is set; set, its step joins
# the default steps. Its answers are cached per domain in the database for ENRICH_CACHE_HOURS.
ENRICH_COMPANY_URL = env("ENRICH_COMPANY_URL", default="")
ENRICH_COMPANY_API_KEY = env("ENRICH_COMPANY_API_KEY", default="")
ENRICH_COMPANY_RATE_LIMIT = env.float("ENRICH_COMPANY_RATE_LIMIT", default=10.0)
ENRICH_CACHE_HOURS = env.int("ENRICH_CACHE_HOURS", default=720)
# Network time a chunk may spend before its transaction (AI standardiser, MX, provider);
# leads not reached are `skipped` with `time_budget`, rows not asked keep their rule errors.
ENRICH_CHUNK_BUDGET_SECONDS = env.float("ENRICH_CHUNK_BUDGET_SECONDS", default=60.0)
if ENRICH_COMPANY_URL and not ENRICH_COMPANY_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("ENRICH_COMPANY_URL must be an http:// or https:// URL.")
if not ENRICH_COMPANY_RATE_LIMIT >= 0 or not ENRICH_CHUNK_BUDGET_SECONDS > 0:
    raise ImproperlyConfigured(
        "ENRICH_COMPANY_RATE_LIMIT must be >= 0 (0: no limit) and ENRICH_CHUNK_BUDGET_SECONDS > 0."
    )
LEAD_ENRICHERS = env.list(
    "LEAD_ENRICHERS",
    default=[
        "leads.enrichment.EmailEnricher",
        "leads.enrichment.CompanyEnricher",
        "leads.enrichment.PhoneEnricher",
        # Without ENRICH_COMPANY_URL it answers skipped (not_configured) for every lead.
        "leads.enrichment.CompanyProviderEnricher",
    ],
)
ENRICH_BATCH_SIZE = env.int("ENRICH_BATCH_SIZE", default=20)
ENRICH_EMAIL_MX = env.bool("ENRICH_EMAIL_MX", default=False)
ENRICH_REJECT_DISPOSABLE = env.bool("ENRICH_REJECT_DISPOSABLE", default=False)
# The licensed TPS/CTPS file (one number per line) `import_tps` loads when given no file.
ENRICH_TPS_FILE = env("ENRICH_TPS_FILE", default="")
# A UK phone on the loaded TPS list makes the lead invalid (phone_tps); else it is only flagged.
TPS_REJECT = env.bool("TPS_REJECT", default=False)
# The AI standardiser: rows the rules could not read are sent to an OpenAI-compatible chat
# completions endpoint; on only when AI_BASE_URL and AI_MODEL are both set.
AI_BASE_URL = env("AI_BASE_URL", default="")
AI_MODEL = env("AI_MODEL", default="")
AI_API_KEY = env("AI_API_KEY", default="")
AI_ENABLED = env.bool("AI_ENABLED", default=True) and bool(AI_BASE_URL and AI_MODEL)
AI_MAX_CALLS_PER_BATCH = env.int("AI_MAX_CALLS_PER_BATCH", default=500)
AI_CONCURRENCY = env.int("AI_CONCURRENCY", default=4)
AI_TIMEOUT = env.float("AI_TIMEOUT", default=30.0)
AI_CACHE_DAYS = env.int("AI_CACHE_DAYS", default=30)
# With the reconciler every 30 s, a stalled batch is taken up again within 2 minutes (DESIGN);
# long steps mark their batch alive every 20 s.
STALL_TIMEOUT_SECONDS = env.int("STALL_TIMEOUT_SECONDS", default=90)
CHUNK_MAX_RETRIES = env.int("CHUNK_MAX_RETRIES", default=3)

WEBHOOK_URL = env("WEBHOOK_URL", default="")
WEBHOOK_SECRET = env("WEBHOOK_SECRET", default="")
WEBHOOK_DELAY_SECONDS = env.int("WEBHOOK_DELAY_SECONDS", default=86_400)
# Defaults of each customer's delivery window ("Mon-Fri 09:00-20:00" in TIME_ZONE; empty: any
# time) and daily cap on delivered leads (0: none); a customer's own value wins.
DELIVERY_WINDOW = env("DELIVERY_WINDOW", default="").strip()
MAX_DELIVERIES_PER_DAY = env.int("MAX_DELIVERIES_PER_DAY", default=0)
if DELIVERY_WINDOW:
    from customers.windows import parse_window  # pure: reads the text, no models

    try:
        parse_window(DELIVERY_WINDOW)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DELIVERY_WINDOW: {exc}.") from None
if MAX_DELIVERIES_PER_DAY < 0:
    raise ImproperlyConfigured("MAX_DELIVERIES_PER_DAY must be 0 (no cap) or more.")
WEBHOOK_TIMEOUT = env.float("WEBHOOK_TIMEOUT", default=30.0)
WEBHOOK_RETRY_SCHEDULE = env("WEBHOOK_RETRY_SCHEDULE", default="60,300,1800,7200,21600,64800")
WEBHOOK_RATE_LIMIT = env.float("WEBHOOK_RATE_LIMIT", default=0)
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", default=False)


# How long a rotated-out secret still signs alongside the new one.
WEBHOOK_SECRET_ROTATION_HOURS = env.positive_hours("WEBHOOK_SECRET_ROTATION_HOURS", "24")
# Answers that end a delivery as `rejected` with the receiver's reason, never retried.
WEBHOOK_REJECT_STATUSES = env.http_statuses("WEBHOOK_REJECT_STATUSES", "409,422")
WEBHOOK_SWEEP_SECONDS = env.int("WEBHOOK_SWEEP_SECONDS", default=30)
# A customer's endpoint whose every attempt has failed this long (from the first failure after
# its last success) is disabled, and its deliveries wait for an operator to re-enable it.
ENDPOINT_DISABLE_AFTER_HOURS = env.positive_hours("ENDPOINT_DISABLE_AFTER_HOURS", "24")
# A claimed delivery is re-claimable once its lease lapses: lease + sweep interval < 120 s, so
# a dead worker's deliveries are taken up again within 2 minutes; it must outlast WEBHOOK_TIMEOUT.
WEBHOOK_LEASE_SECONDS = env.int("WEBHOOK_LEASE_SECONDS", default=80)
# Senders a sweep runs at once (itself plus fanned-out drain tasks): match the worker slots.
WEBHOOK_DRAINERS = env.int("WEBHOOK_DRAINERS", default=2)
RETENTION_DAYS = env.int("RETENTION_DAYS", default=0)

# Alerts by e-mail (a batch failed, deliveries failed for good, an endpoint disabled), through
# Django's mail framework: EMAIL_URL as django-environ reads it, e.g.
# smtp+tls://user:password@smtp.example.com:587; by default mail is printed to the log.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="valify@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
# Numbers nothing sensible can be done with are refused here, by name, rather than every upload
# refused (MAX_UPLOAD_MB=-1), every sweep failing (WEBHOOK_TIMEOUT=-1) and so on.
require_ranges(vars())
# Keys the HMAC-SHA256 tombstones that erasure and retention leave in place of lead ids. Empty:
# the key generated and stored at the first migrate. Changing it later orphans the tombstones
# made with the old key (those people would no longer be recognised as duplicates).
ERASURE_HASH_KEY = env("ERASURE_HASH_KEY", default="")

# Celery: Redis when configured, else kombu's SQLAlchemy transport on its own SQLite file.
REDIS_URL = env("REDIS_URL", default="")
# Set but empty is unset: an empty value had left Celery on its own default, amqp://localhost.
CELERY_BROKER_URL = (
    env("CELERY_BROKER_URL", default="")
    or REDIS_URL
    or f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}"
)
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXPIRES = 7 * 86_400
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Without it Celery's Django fixup closes every database connection around every task (a new
# PostgreSQL backend per chunk); valify.celery applies CONN_MAX_AGE at task boundaries instead.
CELERY_DB_REUSE_MAX = 1000
# Keeps the worker alive through a broker restart (see the class).
CELERY_WORKER_CONSUMER = "valify.celery:BrokerLossConsumer"
# Explicit routing keys: without them every queue binds the default key and gets every task.
CELERY_TASK_QUEUES = tuple(
    Queue(name, routing_key=name) for name in ("batches", "webhooks", "celery")
)
CELERY_TASK_DEFAULT_ROUTING_KEY = "celery"
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "batches.*": {"queue": "batches"},
    "webhooks.*": {"queue": "webhooks"},
    "alerts.*": {"queue": "webhooks"},  # mail is outbound I/O, like sending webhooks
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

LOG_LEVEL = env("LOG_LEVEL", default="INFO").strip().upper()
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(
        f"LOG_LEVEL={LOG_LEVEL[:20]!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
    )
# "json": one JSON object per line with every extra key (batch_id, lead_id, delivery_id...);
# "plain": a line of text, the same extra keys at its end as key=value.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "valify.logging.PlainFormatter"},
        "json": {"()": "valify.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
}
# Celery replaces the root logger's handlers with its own, which drop the extras, unless told
# not to: the worker and beat keep the handler above (Django configures it before Celery).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
