"""Tidbok settings: one module, configured from environment variables.

Defaults are the safe production ones; a development run sets DEBUG=1 and may leave
DATABASE_URL / REDIS_URL empty to get SQLite and a file-based Celery broker that needs
no server. A malformed value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TIDBOK_VAR_DIR", BASE_DIR / "var"))
# In both modes, not only the SQLite one: beat keeps its schedule file here (R-OPS-7).
VAR_DIR.mkdir(parents=True, exist_ok=True)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0/true/false/yes/no/on/off, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str) -> str:
    """An http(s) address without a trailing slash, or empty when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return ""
    scheme, _, rest = raw.partition("://")
    if scheme not in ("http", "https") or not rest.split("/", 1)[0]:
        raise ImproperlyConfigured(f"{name} must be an http:// or https:// address, not {raw!r}")
    return raw.rstrip("/")


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # The Django admin behind allauth's login and this session's second factor (R-SEC-1).
    "accounts.apps.TidbokAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",  # allauth's security-key list uses it
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.mfa",
    "allauth.socialaccount.providers.openid_connect",
    "accounts",
    "clinics",
    "schedules",
    "bookings",
    # E-mails and text messages to residents about their bookings (R-NOTE-2…4), above bookings.
    "notifications",
    # The top layer: FHIR R4 and the SMART bulk publication, built on the apps above.
    "fhir",
    # Below the domain apps: the cross-cutting parts (errors, idempotent POSTs, overload, outages)
    # and the outbox every side effect after a commit goes through (R-OPS-1).
    "core",
    "core.outbox",
]

MIDDLEWARE = [
    # First: every answer, even one turned away below, is timed and carries its request id.
    "core.request_log.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "core.middleware.RetryAfterMiddleware",
    "core.overload.ShedWhenQueuedMiddleware",
    "core.outage.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.sessions.SessionUserMiddleware",
    "core.params.BadInputMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "core.middleware.SessionIdleTimeoutMiddleware",
    "core.middleware.NoStoreMiddleware",
    "accounts.middleware.RequireStaffMFAMiddleware",
    "accounts.middleware.ActingForMiddleware",
]

ROOT_URLCONF = "tidbok.urls"
WSGI_APPLICATION = "tidbok.wsgi.application"
ASGI_APPLICATION = "tidbok.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "bookings.context_processors.resident_nav",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL in production and tests; SQLite only as the zero-setup demo default.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # A kept connection is checked before a request reuses it: after a PostgreSQL restart the next
    # request reconnects instead of failing (R-OPS-4, core.outage).
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if "postgresql" in DATABASES["default"]["ENGINE"]:
        # A server that does not answer at all fails the request (503) instead of holding it.
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env_int("DB_CONNECT_TIMEOUT", 5))
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "db.sqlite3"),
            # Celery worker, beat and the web server share the file; wait rather than fail.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and Celery -----------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    # Fails open (R-OPS-1): with Redis down a lookup answers "nothing cached" and the request goes
    # on; short timeouts so a hung Redis costs a request at most about a second (core.cache).
    CACHES = {
        "default": {
            "BACKEND": "core.cache.FailOpenRedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
            # Sites (or benches) sharing one Redis database keep their keys apart.
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", ""),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    # A frozen Redis must not hold a request for ever: a send to the broker (the outbox relay after
    # a commit) gives up after these and the outbox sweep sends it later (R-OPS-1).
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"socket_connect_timeout": 1, "socket_timeout": 2}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # kombu's filesystem transport: a broker that is just a folder, shared by the web
    # process, the worker and beat, so the demo needs no server at all.
    _broker_dir = VAR_DIR / "celery-broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
    }

# Sessions live in the database, never in the cache: with Redis down residents and staff stay
# logged in, and staff can log in (R-OPS-1).
SESSION_ENGINE = "accounts.sessions"

CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the database connection before and after every task unless this is
# set: a new PostgreSQL backend per task (a fork and its catalog caches warmed again), which cost
# more than the task itself. Set, a task's connection is kept as a request's is: tidbok/celery.py
# closes it between tasks only when Django would (DB_CONN_MAX_AGE, the health check, an error).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "tidbok")
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Worker and beat outlive a broker outage of any length: they keep reconnecting, also when they
# start while it is down, instead of exiting after 100 tries (R-OPS-5).
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TIMEZONE = "Europe/Stockholm"
# Workers and beat log through LOGGING below (JSON lines, never a personnummer) like the web
# processes, instead of Celery's own plain-text handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# The outbox (core.outbox): a beat sweep every TIDBOK_OUTBOX_SWEEP_SECONDS (tidbok/celery.py)
# sends what the after-commit relay could not; sent rows are kept this many days, then purged.
TIDBOK_OUTBOX_KEEP_DAYS = env_int("TIDBOK_OUTBOX_KEEP_DAYS", 2)
# A new row belongs to its own transaction's relay after the commit for this long; the sweep takes
# it only after that (a web process killed between its commit and its relay). Far longer than a
# relay takes, even against a frozen Redis (its socket timeouts are a second or two).
TIDBOK_OUTBOX_LEASE_SECONDS = env_int("TIDBOK_OUTBOX_LEASE_SECONDS", 30)
# R-OPS-2: an e-mail notification claimed this long ago and not marked sent (a killed worker, a
# hung mail server) is claimed and sent again by the sweep that runs every
# TIDBOK_NOTIFY_SWEEP_SECONDS. Longer than any send may take (EMAIL_TIMEOUT).
TIDBOK_NOTIFY_CLAIM_SECONDS = env_int("TIDBOK_NOTIFY_CLAIM_SECONDS", 300)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "resident_login"
LOGIN_REDIRECT_URL = "/personal/"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGOUT_ON_GET = False
# Staff work on shared clinic computers: a session never outlives the browser ("remember me" is not offered).
ACCOUNT_SESSION_REMEMBER = False
# Tidbok's labels and hints on allauth's staff forms (the rules stay allauth's).
ACCOUNT_FORMS = {
    "login": "accounts.staff_forms.StaffLoginForm",
    "reauthenticate": "accounts.staff_forms.StaffReauthenticateForm",
}
# Staff login attempts: per address, and per account *from that address* (the adapter keys
# failures on address + e-mail), so nobody can lock a colleague out from elsewhere (R-SEC-5).
# Refusals answer 429 with Retry-After.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "reauthenticate": "10/m/user",
}
SOCIALACCOUNT_ADAPTER = "accounts.adapters.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_REQUIRED = False
SOCIALACCOUNT_LOGIN_ON_GET = False

# R-AUTH-1: residents log in with an e-identification provider over OpenID Connect.
OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "")
OIDC_PROVIDER_ID = os.environ.get("OIDC_PROVIDER_ID", "eid")
# The Swedish OIDC profile's claim for the personal identity number.
OIDC_PERSONNUMMER_CLAIM = os.environ.get("OIDC_PERSONNUMMER_CLAIM", "https://id.oidc.se/claim/personalIdentityNumber")
# A samordningsnummer comes in the profile's own claim.
OIDC_COORDINATION_NUMBER_CLAIM = os.environ.get(
    "OIDC_COORDINATION_NUMBER_CLAIM", "https://id.oidc.se/claim/coordinationNumber"
)
# The profile releases the number only with its naturalPersonNumber scope; never `email`.
OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid https://id.oidc.se/scope/naturalPersonNumber").split()
if OIDC_ISSUER and not DEBUG and not OIDC_ISSUER.startswith("https://"):
    raise ImproperlyConfigured("OIDC_ISSUER must be an https:// URL when DEBUG is off")
# accounts.eid.EidProvider: nonce, prompt=login, the ID token's signature always checked,
# no e-mail, never a connect process (R-AUTH-1). Set even without an issuer, since allauth
# picks the provider class once.
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {
    "openid_connect": {"provider_class": "accounts.eid.EidProvider", "OAUTH_PKCE_ENABLED": True, "APPS": []}
}
if OIDC_ISSUER:
    SOCIALACCOUNT_PROVIDERS["openid_connect"]["APPS"] = [
        {
            "provider_id": OIDC_PROVIDER_ID,
            "name": os.environ.get("OIDC_NAME", "E-legitimation"),
            "client_id": os.environ.get("OIDC_CLIENT_ID", ""),
            "secret": os.environ.get("OIDC_CLIENT_SECRET", ""),
            "settings": {"server_url": OIDC_ISSUER, "token_auth_method": "client_secret_basic"},
        }
    ]
# The development identity provider: on only when explicitly enabled (make run does).
TIDBOK_DEV_LOGIN = env_bool("TIDBOK_DEV_LOGIN", False)
if TIDBOK_DEV_LOGIN and not DEBUG:
    raise ImproperlyConfigured("TIDBOK_DEV_LOGIN may only be enabled together with DEBUG")

# The claim of the e-ID provider carrying the resident's home county (län) code, e.g. "01"; the
# Swedish profile defines none, so it is off unless the provider sends one (R-CASE-2).
TIDBOK_EID_HOME_REGION_CLAIM = os.environ.get("TIDBOK_EID_HOME_REGION_CLAIM", "")
# The population register asked at each resident login (accounts.population_register): a dotted
# class path; empty means none. The development identity provider comes with the demo register.
_DEMO_REGISTER = "accounts.population_register.DemoPopulationRegister"
TIDBOK_POPULATION_REGISTER = os.environ.get("TIDBOK_POPULATION_REGISTER", _DEMO_REGISTER if TIDBOK_DEV_LOGIN else "")
if TIDBOK_POPULATION_REGISTER == _DEMO_REGISTER and not DEBUG:
    raise ImproperlyConfigured("TIDBOK_POPULATION_REGISTER may name the demo register only together with DEBUG")

# R-GUARD-3: guardians act for a child until the child turns this age (at local midnight of that
# birthday); 13 is the common 1177 practice. A region may choose another age:
# TIDBOK_GUARDIAN_AGE_LIMIT_BY_REGION="03:16,14:18" (län code of the child's home region, age).
TIDBOK_GUARDIAN_AGE_LIMIT = env_int("TIDBOK_GUARDIAN_AGE_LIMIT", 13)


def _age_limits(name: str) -> dict[str, int]:
    limits = {}
    for item in env_list(name, []):
        code, _sep, age = item.partition(":")
        if not (code.strip().isdigit() and len(code.strip()) == 2 and age.strip().isdigit()):
            raise ImproperlyConfigured(f"{name} must look like 03:16,14:18, not {item!r}")
        limits[code.strip()] = int(age)
    return limits


TIDBOK_GUARDIAN_AGE_LIMIT_BY_REGION = _age_limits("TIDBOK_GUARDIAN_AGE_LIMIT_BY_REGION")
_ALL_AGE_LIMITS = [TIDBOK_GUARDIAN_AGE_LIMIT, *TIDBOK_GUARDIAN_AGE_LIMIT_BY_REGION.values()]
if not all(0 <= age <= 18 for age in _ALL_AGE_LIMITS):
    raise ImproperlyConfigured("guardian age limits must be between 0 and 18")

MFA_SUPPORTED_TYPES = ["totp", "webauthn", "recovery_codes"]
# R-SEC-7: audit events (staff access to residents' data) are kept at least this many days;
# a nightly task purges only what is older. Five years, as HSLF-FS 2016:40 expects.
TIDBOK_AUDIT_RETENTION_DAYS = env_int("TIDBOK_AUDIT_RETENTION_DAYS", 5 * 365 + 1)
if TIDBOK_AUDIT_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("TIDBOK_AUDIT_RETENTION_DAYS must be at least 1")
MFA_TOTP_ISSUER = "Tidbok"
MFA_FORMS = {
    "authenticate": "accounts.staff_forms.StaffAuthenticateForm",
    "reauthenticate": "accounts.staff_forms.StaffMfaReauthenticateForm",
    "activate_totp": "accounts.staff_forms.StaffActivateTOTPForm",
}
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG

# --- API (Django REST framework) ---------------------------------------------------------------
REST_FRAMEWORK: dict[str, Any] = {
    # The browser session (with CSRF) for our own pages; a bearer token for residents' apps.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "core.authentication.BearerTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.BookingUserThrottle", "core.api.BookingAddressThrottle"],
}
# R-SEC-4: how many proxies of the operator's own sit in front of the app; X-Forwarded-For is
# believed that far and no further (0: the client is REMOTE_ADDR). One rule for the API's
# throttles and the pages' login limits (core.client_address).
TIDBOK_TRUSTED_PROXIES = env_int("TIDBOK_TRUSTED_PROXIES", 0)
if TIDBOK_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("TIDBOK_TRUSTED_PROXIES must be 0 or more")
REST_FRAMEWORK["NUM_PROXIES"] = TIDBOK_TRUSTED_PROXIES
ALLAUTH_TRUSTED_PROXY_COUNT = TIDBOK_TRUSTED_PROXIES
# Booking POSTs (book, hold, rebook, cancel) per resident and per client address, and, when an
# operator sets one, a cap on new bookings, holds and rebookings across the site (503 beyond it;
# core.api.BookingSiteThrottle). A rush is handled without it by core.overload.
# New bookings get 503 at once while more connections than this wait to be accepted
# (core.overload): on a 2-core machine serving ~100 bookings a second, 256 is a wait of about
# two and a half seconds; a burst of a few hundred residents on one time is still answered.
TIDBOK_SHED_QUEUE = env_int("TIDBOK_SHED_QUEUE", 256)
# Operations (core.ops_views): /metrics/ answers only with "Authorization: Bearer <this>" (unset:
# never); /readyz/ says "not ready" once a due outbox message has waited longer than this.
TIDBOK_METRICS_TOKEN = os.environ.get("TIDBOK_METRICS_TOKEN", "")
TIDBOK_READY_OUTBOX_LAG_SECONDS = env_int("TIDBOK_READY_OUTBOX_LAG_SECONDS", 300)
TIDBOK_RATE_LIMITS = {
    "booking_user": os.environ.get("RATE_LIMIT_BOOKING_USER", "30/min"),
    "booking_address": os.environ.get("RATE_LIMIT_BOOKING_ADDRESS", "600/min"),
    "booking_site": os.environ.get("RATE_LIMIT_BOOKING_SITE") or None,
    # Polls of one resident's calendar feed (R-NOTE-5); calendar apps poll every 5 minutes at most, on a few devices.
    "calendar_feed": os.environ.get("RATE_LIMIT_CALENDAR_FEED", "60/hour"),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tidbok API",
    "DESCRIPTION": "Book, view, rebook and cancel times at Swedish healthcare clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the project's own static files, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The web log's status is both a search field and an answer field: one named enum for both.
    "ENUM_NAME_OVERRIDES": {
        "WebLogStatusEnum": "bookings.models.LogStatus",
        "BookingStatusEnum": "bookings.models.BookingStatus",
        "MessageKindEnum": "bookings.models.MessageKind",
        "AttendanceStateEnum": "bookings.models.AttendanceState",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.add_problem_responses",
    ],
}

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Tidbok <no-reply@tidbok.invalid>")
# A send that hangs is given up after this, well inside TIDBOK_NOTIFY_CLAIM_SECONDS (R-OPS-2).
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
if TIDBOK_NOTIFY_CLAIM_SECONDS <= EMAIL_TIMEOUT:
    # A claim that runs out while its send may still be going lets the sweep send it twice.
    raise ImproperlyConfigured("TIDBOK_NOTIFY_CLAIM_SECONDS must be longer than EMAIL_TIMEOUT")
if os.environ.get("EMAIL_FILE_PATH"):
    # For django.core.mail.backends.filebased.EmailBackend (the fault tests' workers use it).
    EMAIL_FILE_PATH = os.environ["EMAIL_FILE_PATH"]
# SMTP in production (R-NOTE-4): EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and these.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)

# Text messages (core.sms, R-NOTE-4). Without DEBUG the HTTP gateway: a production that forgot
# to configure it fails its messages visibly (support's failed-messages page) instead of writing
# residents' visit times to a log.
SMS_BACKEND = os.environ.get("SMS_BACKEND", "core.sms.ConsoleBackend" if DEBUG else "core.sms.HttpGatewayBackend")
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_USER = os.environ.get("SMS_GATEWAY_USER", "")
SMS_GATEWAY_PASSWORD = os.environ.get("SMS_GATEWAY_PASSWORD", "")
SMS_GATEWAY_FORMAT = os.environ.get("SMS_GATEWAY_FORMAT", "json")
if SMS_GATEWAY_FORMAT not in ("json", "form"):
    raise ImproperlyConfigured(f"SMS_GATEWAY_FORMAT must be json or form, not {SMS_GATEWAY_FORMAT!r}")
SMS_GATEWAY_TIMEOUT = env_int("SMS_GATEWAY_TIMEOUT", 10)
if TIDBOK_NOTIFY_CLAIM_SECONDS <= SMS_GATEWAY_TIMEOUT:
    # As for e-mail: a claim that runs out while the gateway may still be answering sends twice.
    raise ImproperlyConfigured("TIDBOK_NOTIFY_CLAIM_SECONDS must be longer than SMS_GATEWAY_TIMEOUT")
SMS_SENDER = os.environ.get("SMS_SENDER", "Tidbok")
# R-NOTE-3: a notification is tried this many times, with exponential back-off, then failed.
TIDBOK_NOTIFY_MAX_ATTEMPTS = env_int("TIDBOK_NOTIFY_MAX_ATTEMPTS", 6)

# --- Security (R-AUTH-3) --------------------------------------------------------------------
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Content-Security-Policy, session and token lifetimes (R-SEC-5) ---------------------------
# No inline script or style anywhere: every script and stylesheet is a file under /static/.
# The one exception is a style block Django's admin writes on change lists without actions,
# allowed by its hash (tests/core/test_headers_and_lifetimes.py recomputes it from Django's template).
_ADMIN_CHANGELIST_STYLE_HASH = "'sha256-blvLUW3UscWqsXGByNOqdBboM+ShWAuugp2mC/wbafU='"
_form_targets = ["'self'"]
if OIDC_ISSUER:
    # The eID login form posts to us and is redirected on to the provider; browsers apply
    # form-action to that redirect too.
    from urllib.parse import urlsplit as _urlsplit

    _form_targets.append("{0.scheme}://{0.netloc}".format(_urlsplit(OIDC_ISSUER)))
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", _ADMIN_CHANGELIST_STYLE_HASH],
        # Swagger UI's and the admin's stylesheets draw their icons as data: URIs.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": _form_targets,
        "frame-ancestors": ["'none'"],
    },
}
# A signed-in session ends after this long without a request (the page warns before it does);
# residents and staff each have their own limit.
TIDBOK_SESSION_IDLE_SECONDS = env_int("TIDBOK_SESSION_IDLE_MINUTES", 30) * 60
TIDBOK_STAFF_SESSION_IDLE_SECONDS = env_int("TIDBOK_STAFF_SESSION_IDLE_MINUTES", 60) * 60
TIDBOK_SESSION_WARNING_SECONDS = env_int("TIDBOK_SESSION_WARNING_MINUTES", 5) * 60
# Residents' app tokens are valid this long after they were issued, then a new login is needed.
TIDBOK_API_TOKEN_SECONDS = env_int("TIDBOK_API_TOKEN_HOURS", 12) * 3600
for _name, _value in (
    ("TIDBOK_SESSION_IDLE_MINUTES", TIDBOK_SESSION_IDLE_SECONDS),
    ("TIDBOK_STAFF_SESSION_IDLE_MINUTES", TIDBOK_STAFF_SESSION_IDLE_SECONDS),
    ("TIDBOK_API_TOKEN_HOURS", TIDBOK_API_TOKEN_SECONDS),
):
    if _value <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number")
if not 0 <= TIDBOK_SESSION_WARNING_SECONDS < TIDBOK_SESSION_IDLE_SECONDS:
    raise ImproperlyConfigured("TIDBOK_SESSION_WARNING_MINUTES must be shorter than TIDBOK_SESSION_IDLE_MINUTES")

# --- Domain settings ------------------------------------------------------------------------
TIDBOK_HOLD_MINUTES = env_int("TIDBOK_HOLD_MINUTES", 5)
# Background schedule publishing (R-OPS-3): slots per committed batch; a run without a heartbeat
# for this long lost its worker and is resumed; a run that died this often fails instead.
TIDBOK_PUBLISH_BATCH_SIZE = env_int("TIDBOK_PUBLISH_BATCH_SIZE", 2000)
TIDBOK_PUBLISH_STALE_SECONDS = env_int("TIDBOK_PUBLISH_STALE_SECONDS", 120)
TIDBOK_PUBLISH_MAX_ATTEMPTS = env_int("TIDBOK_PUBLISH_MAX_ATTEMPTS", 5)
# Where residents and staff reach Tidbok (scheme, host and any path prefix): every absolute link
# made without a request to take the host from (e-mail, SMS, calendar files, staff invitations,
# SMART bulk deep links) starts with it (core/public_url.py). Unset: http://127.0.0.1:8000 with
# DEBUG, else https:// and the first concrete ALLOWED_HOSTS entry.
TIDBOK_PUBLIC_URL = env_url("TIDBOK_PUBLIC_URL")
if "TIDBOK_SITE_URL" in os.environ:
    # Its old name (once the address of staff invitations only) is still read when
    # TIDBOK_PUBLIC_URL is not set; manage.py check warns that it is deprecated (core/checks.py).
    TIDBOK_SITE_URL = env_url("TIDBOK_SITE_URL")
# How long the SMART bulk files report a Location or Schedule that left them (a Slot's removal is
# reported until its start): an aggregator polling with _since less often reloads everything.
TIDBOK_BULK_DELETED_DAYS = env_int("TIDBOK_BULK_DELETED_DAYS", 62)
# The SMART bulk files are rewritten at most once in this many seconds, however many changes ask:
# under a booking rush a refresh per change would take a worker's whole time.
TIDBOK_BULK_REFRESH_SECONDS = env_int("TIDBOK_BULK_REFRESH_SECONDS", 60)
# Lines per stored part of a SMART bulk file, each listed in the manifest as its own output: one
# value with every Slot outgrew PostgreSQL's 1 GB field limit, and a part is what a refresh holds.
TIDBOK_BULK_PART_LINES = env_int("TIDBOK_BULK_PART_LINES", 50_000)
TIDBOK_LOG_RETENTION_DAYS = 31

# Who runs this Tidbok, and where residents turn: the footer's pages (contact, personal data, accessibility
# statement) read these, so each region sets its own without touching a template.
TIDBOK_OPERATOR_NAME = os.environ.get("TIDBOK_OPERATOR_NAME", "Region Stockholm")
TIDBOK_CONTACT_PHONE = os.environ.get("TIDBOK_CONTACT_PHONE", "08-123 400 00")
TIDBOK_CONTACT_EMAIL = os.environ.get("TIDBOK_CONTACT_EMAIL", "tidbok@region.example")
TIDBOK_PRIVACY_EMAIL = os.environ.get("TIDBOK_PRIVACY_EMAIL", "dataskyddsombud@region.example")
TIDBOK_ACCESSIBILITY_EMAIL = os.environ.get("TIDBOK_ACCESSIBILITY_EMAIL", "tillganglighet@region.example")
# When the accessibility statement was last reviewed against the service (ISO date).
TIDBOK_ACCESSIBILITY_REVIEWED = os.environ.get("TIDBOK_ACCESSIBILITY_REVIEWED", "2026-11-30")
TIDBOK_LOG_PURGE_BATCH = env_int("TIDBOK_LOG_PURGE_BATCH", 500)
# On PostgreSQL the web booking log has a partition per month, each of a partition per day; the days are
# made this many days ahead, a month whole with the first of its days (R-LOG-3).
TIDBOK_LOG_PARTITION_DAYS_AHEAD = env_int("TIDBOK_LOG_PARTITION_DAYS_AHEAD", 2)

# One JSON object per line (python-json-logger), each with the request id of the request it was
# written in and never a personnummer (core.request_log).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.request_log.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "core.request_log.RedactingJsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
