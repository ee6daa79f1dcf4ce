"""labelhub settings: one module, every knob from the environment (see .env.example).

Defaults are for local development (`make run`): SQLite, DEBUG on, an embedded Redis
started by the run script. Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS,
DATABASE_URL and CELERY_BROKER_URL (see docker-compose.yml).
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from labelhub.core.clientip import parse_trusted_proxies

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = env.str("LABELHUB_ENV_FILE", default=str(BASE_DIR / ".env"))
if Path(_env_file).is_file():
    environ.Env.read_env(_env_file)

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
    SECRET_KEY = "django-insecure-local-development-only-never-in-production"  # noqa: S105
# Previous keys during a rotation: sessions and stored API keys made with them stay valid.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "labelhub.core",
    "labelhub.accounts",
    "labelhub.projects",
    "labelhub.prompts",
    "labelhub.generation",
    "labelhub.labeling",
    "labelhub.exports",
    "labelhub.quality",
    "labelhub.evaluation",
    "labelhub.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A database outage raised by a view is a 503 with Retry-After (core/middleware.py).
    "labelhub.core.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "labelhub.urls"
WSGI_APPLICATION = "labelhub.wsgi.application"
ASGI_APPLICATION = "labelhub.asgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web app and the Celery worker share the file.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for one username from one
# address, that pair is locked out for AXES_COOLOFF_MINUTES; a successful login resets the count.
# API tokens are not passwords and do not go through this (they are random and hashed).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The address is the client's, not a proxy's: X-Forwarded-For is believed only from TRUSTED_PROXIES
# (addresses or networks, comma-separated), read right to left past trusted hops (core/clientip.py).
try:
    TRUSTED_PROXIES = parse_trusted_proxies(env.list("TRUSTED_PROXIES", default=[]))
except ValueError as exc:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {exc} (addresses or networks, comma-separated).") from exc
AXES_CLIENT_IP_CALLABLE = "labelhub.core.clientip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Set-password links (accounts a project admin creates): after this many unknown links opened from one
# address, that address sees a 429 page for AXES_COOLOFF_TIME, as a locked-out login does.
SET_PASSWORD_LINK_FAILURE_LIMIT = env.int("SET_PASSWORD_LINK_FAILURE_LIMIT", default=10)
# E-mail: off unless EMAIL_HOST is set; then a new account's set-password link is also e-mailed to it.
EMAIL_HOST = env.str("EMAIL_HOST", default="")
EMAIL_PORT = env.int("EMAIL_PORT", default=587)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=True)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="labelhub@localhost")
LOGIN_REDIRECT_URL = "projects:list"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "labelhub.core.staticfiles.ModuleManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# Upload limits. Prompt files are streamed to disk by Django, then parsed line by line.
PROMPT_IMPORT_MAX_FILE_BYTES = env.int("PROMPT_IMPORT_MAX_FILE_BYTES", default=200 * 1024 * 1024)
PROMPT_IMPORT_MAX_LINE_BYTES = env.int("PROMPT_IMPORT_MAX_LINE_BYTES", default=256 * 1024)
# Files with more lines than this are imported by a Celery worker with progress.
PROMPT_IMPORT_SYNC_MAX_LINES = env.int("PROMPT_IMPORT_SYNC_MAX_LINES", default=2000)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Security headers. The production values come on with DEBUG off.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz is probed over plain HTTP by load balancers and compose.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy: no inline script, no remote images (a Markdown image can exfiltrate).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "labelhub.accounts.authentication.HashedTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "labelhub.api.parsers.StrictJSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "labelhub.api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "labelhub.api.exceptions.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "labelhub.api.schema.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `format` is an export option (?format=trl-preference), not a renderer override.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "labelhub API",
    "DESCRIPTION": "Projects, guidelines, prompts, generation, labeling and exports. "
    "Authenticate with `Authorization: Token <key>`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # `<id:…>` URL parameters (labelhub.core.converters): integers of at most 18 digits.
    "PATH_CONVERTER_OVERRIDES": {"id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}},
    "ENUM_NAME_OVERRIDES": {
        "MembershipRoleEnum": "labelhub.projects.models.Role",
        "MessageRoleEnum": "labelhub.prompts.models.MessageRole",
        "ExportKindEnum": "labelhub.exports.params.KINDS",
        "WorkKindEnum": "labelhub.labeling.models.WorkKind",
        "WorkChoiceEnum": "labelhub.labeling.models.WorkChoice",
    },
}

# Celery. The broker is Redis (embedded: started by `make run`; production: the compose service).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = None
# Shared cache (progress of running imports). Default: the broker's Redis, database 1.
_default_cache = urlsplit(CELERY_BROKER_URL)._replace(path="/1").geturl()
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env.str("CACHE_URL", default=_default_cache),
        "TIMEOUT": 3600,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 600
CELERY_TASK_TIME_LIMIT = 660
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
# Work isolation: each queue is served by a worker pool sized for its work (docs/OPERATIONS.md,
# "Workers and queues"). `inference` waits on model servers for seconds to minutes per job (a thread
# pool); `fast` holds what a person or a reaper waits on for seconds (connection checks, the
# generation feeder/reaper, the other reapers); `default`, `imports` and `exports` are CPU and
# database work (processes). No task names its queue at the call site.
CELERY_TASK_ROUTES = {
    "labelhub.generation.tasks.generate_candidate_task": {"queue": "inference"},
    "labelhub.generation.tasks.model_config_check_task": {"queue": "fast"},
    "labelhub.generation.tasks.generation_reaper_task": {"queue": "fast"},
    "labelhub.prompts.tasks.prompt_imports_reap_task": {"queue": "fast"},
    "labelhub.exports.tasks.exports_maintenance_task": {"queue": "fast"},
    "labelhub.quality.tasks.project_stats_refresh_due_task": {"queue": "fast"},
    "labelhub.prompts.tasks.prompt_import_task": {"queue": "imports"},
    "labelhub.exports.tasks.snapshot_build_task": {"queue": "exports"},
    "labelhub.quality.tasks.project_stats_task": {"queue": "default"},
    "labelhub.labeling.tasks.work_items_sync_task": {"queue": "default"},
    "labelhub.labeling.tasks.labeling_maintenance_task": {"queue": "default"},
    "labelhub.evaluation.tasks.evaluation_run_advance_task": {"queue": "fast"},
    "labelhub.evaluation.tasks.evaluation_runs_advance_task": {"queue": "fast"},
}

# Inference (candidate generation). The embedded default is llama.cpp's server started by `make run`.
INFERENCE_BASE_URL = env.str("INFERENCE_BASE_URL", default="http://127.0.0.1:8080/v1")
INFERENCE_MODEL = env.str("INFERENCE_MODEL", default="smollm2-135m-instruct")
# host:port pairs a model config may use even though they are loopback/private/not global (SSRF
# guard); the exact host:port of INFERENCE_BASE_URL is always allowed. A bare host (it used to open
# every port of that host) stops the start with a clear error.
try:
    from labelhub.integrations.inference.urls import allowed_hosts_setting

    INFERENCE_ALLOWED_HOSTS = allowed_hosts_setting(env.list("INFERENCE_ALLOWED_HOSTS", default=[]), INFERENCE_BASE_URL)
except ValueError as _exc:
    raise ImproperlyConfigured(str(_exc)) from None
GENERATION_MAX_ATTEMPTS = env.int("GENERATION_MAX_ATTEMPTS", default=5)
# A running generation job's lease, renewed by a heartbeat while the model answers: a worker killed
# outright frees its jobs after this plus one reaper period (30 s).
GENERATION_LEASE_SECONDS = env.int("GENERATION_LEASE_SECONDS", default=45)
GENERATION_MAX_JOBS_PER_BATCH = env.int("GENERATION_MAX_JOBS_PER_BATCH", default=100_000)
# Fair share: generation jobs wait in PostgreSQL and a feeder sends each project at most this many
# at a time (sent but not finished), so one project's big batch cannot starve another's.
# Size it to the inference worker pool (INFERENCE_WORKER_CONCURRENCY) or a little above.
GENERATION_MAX_IN_FLIGHT_PER_PROJECT = env.int("GENERATION_MAX_IN_FLIGHT_PER_PROJECT", default=8)
# Exports: labels read per database round trip (memory vs round trips; rows stream either way).
EXPORT_BATCH_LABELS = env.int("EXPORT_BATCH_LABELS", default=500)
# Evaluation sets: at most this many prompts in one set (a larger selection must be sampled).
EVALUATION_SET_MAX_PROMPTS = env.int("EVALUATION_SET_MAX_PROMPTS", default=5000)
CELERY_BEAT_SCHEDULE = {
    # Also the generation feeder's safety net (a finishing job feeds its project at once).
    "generation-reaper": {"task": "labelhub.generation.tasks.generation_reaper_task", "schedule": 30.0},
    "labeling-maintenance": {"task": "labelhub.labeling.tasks.labeling_maintenance_task", "schedule": 60.0},
    "imports-reaper": {"task": "labelhub.prompts.tasks.prompt_imports_reap_task", "schedule": 60.0},
    "exports-maintenance": {"task": "labelhub.exports.tasks.exports_maintenance_task", "schedule": 60.0},
    "quality-stats": {"task": "labelhub.quality.tasks.project_stats_refresh_due_task", "schedule": 300.0},
    # Evaluation runs not finished: the safety net of the job / label hooks (evaluation/hooks.py).
    "evaluation-runs": {"task": "labelhub.evaluation.tasks.evaluation_runs_advance_task", "schedule": 15.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "labelhub.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # runserver's access lines: Django gives them a handler of their own, which would skip the filter.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Evaluation reports: the score (win rate, ties as half) below which a run raises "win_rate_low", unless the
# run's thresholds say otherwise (labelhub/evaluation/report.py).
EVALUATION_MIN_WIN_RATE = 0.4
