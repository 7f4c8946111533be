"""Settings, all read from the environment.

Defaults run the application on the embedded SQLite database with Celery tasks executed
in-process (no Redis needed). Production is switched on by environment variables; see
docs/operations.md for the full list.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from hdh_access.lib import clamav
from hdh_access.lib.env import (
    contact_address,
    env_bool,
    env_checked,
    env_int,
    env_list,
    env_networks,
    env_origin,
    env_str,
    is_local_host,
    oidc_issuer,
    replica_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# Fail closed: DEBUG only when the environment says so (the Makefile does for `make run` and `make test`).
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production-0123456789"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "widget_tweaks",
    "dsfr",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "catalog",
    "accounts",
    "access_requests",
    "delays",
    "documents",
    "notifications",
    "portal",
    "backoffice",
    "api",
    "directory",
    "demo",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it slows down and locks out repeated failed logins.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend, its permissions kept in the shared cache across requests (CACHE_URL).
    "accounts.permissions.CachedPermissionsBackend",
]
# Failed sign-ins (hdh_access/lockout.py holds the rules): a growing wait per account, then a lock
# per account (user name, from any address) and, with a higher limit, per client address.
AXES_HANDLER = "hdh_access.lockout.LockoutHandler"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("AXES_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]  # the address rule is LockoutHandler's (HDH_LOGIN_IP_FAILURE_LIMIT)
AXES_USERNAME_CALLABLE = "hdh_access.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "hdh_access.lib.client_ip.client_ip"
HDH_LOGIN_IP_FAILURE_LIMIT = env_int("HDH_LOGIN_IP_FAILURE_LIMIT", 50, minimum=1)
# After HDH_LOGIN_DELAY_AFTER failures an account waits HDH_LOGIN_DELAY_SECONDS, doubling with each
# further failure up to HDH_LOGIN_DELAY_MAX_SECONDS, before its next attempt is even checked.
HDH_LOGIN_DELAY_AFTER = env_int("HDH_LOGIN_DELAY_AFTER", 3, minimum=1)
HDH_LOGIN_DELAY_SECONDS = env_int("HDH_LOGIN_DELAY_SECONDS", 2)
HDH_LOGIN_DELAY_MAX_SECONDS = env_int("HDH_LOGIN_DELAY_MAX_SECONDS", 120)
# The reverse proxies whose X-Forwarded-For is believed (addresses or CIDR networks, comma-separated).
# Empty: the client address is REMOTE_ADDR and the header is ignored (hdh_access/lib/client_ip.py).
HDH_TRUSTED_PROXIES = env_networks("HDH_TRUSTED_PROXIES")
if not 0 <= HDH_LOGIN_DELAY_SECONDS <= HDH_LOGIN_DELAY_MAX_SECONDS:
    raise ImproperlyConfigured("HDH_LOGIN_DELAY_SECONDS must be between 0 and HDH_LOGIN_DELAY_MAX_SECONDS")
AXES_RESET_ON_SUCCESS = True
# axes.W006 warns that AXES_LOCKOUT_PARAMETERS has no 'ip_address' (an attacker trying many user
# names from one address would not be stopped): the address rule is there, in LockoutHandler, with
# its own limit (tests/accounts/test_lockout.py); axes has one limit for all its parameters.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_VERBOSE = False
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "start"
LOGOUT_REDIRECT_URL = "home"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (WhiteNoise) right after the security headers, before sessions and the rest.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Where the request's reads go, with a read replica (hdh_access/db_router.py); saves in the session.
    "hdh_access.db_router.UnitOfWorkMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "hdh_access.middleware.NoStoreWhenSignedInMiddleware",
    "hdh_access.middleware.RefuseNulMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "hdh_access.middleware.DomainErrorMiddleware",
    # An ETag on every API read, 304 on If-None-Match (api/middleware.py; /api/v1/ only).
    "api.middleware.ContentETagMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "hdh_access.urls"

# The REST API (api/, docs/api.md): Django REST framework, its schema by drf-spectacular.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.SignedInWithScope"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerTokenThrottle"],
    # Requests per token (per user on a session), e.g. "600/min"; over it, 429 with Retry-After.
    "DEFAULT_THROTTLE_RATES": {"api": env_str("HDH_API_RATE", "600/min")},
    "DEFAULT_PAGINATION_CLASS": "api.pagination.NewestFirst",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "api.problems.handle",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "HDH access API",
    "DESCRIPTION": "Data-access requests, their holder tasks, messages, documents, catalogue and delay figures "
                   "(docs/api.md).",
    "VERSION": "1",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Swagger UI's files from the drf-spectacular-sidecar package: served here, no CDN (CSP).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "RequestStateEnum": "access_requests.workflow.State",
        "TaskStateEnum": "access_requests.workflow.HolderTaskState",
    },
}
# Django's form renderer, with the selects and inputs drawn in Python (hdh_access/lib/form_renderers.py).
FORM_RENDERER = "hdh_access.lib.form_renderers.FastTemplates"
WSGI_APPLICATION = "hdh_access.wsgi.application"

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
                "hdh_access.context_processors.site_config",  # django-dsfr's, cached
                "hdh_access.context_processors.navigation",
            ],
            # {% form_token %} in every form that writes, and {% error_summary form %} and the
            # title's "Erreur :" in every form page, without a {% load %} in each template.
            "builtins": ["access_requests.templatetags.form_tokens", "hdh_access.templatetags.form_errors"],
        },
    },
]

# Content-Security-Policy (django-csp): every script, style, font and image comes from this site,
# no inline script or style, no plugin, no framing. The templates hold no <script> or <style>
# block and no style attribute (tests/security/test_csp.py and the browser test check it).
# data: images are the DSFR's own: its CSS draws checkboxes, radio buttons, selects and icons
# from data:image/svg+xml backgrounds. Emails are not pages: their inline styles are not
# affected (a mail client ignores this header).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# Sign-in with ProConnect, the State's OpenID Connect for professionals (mozilla-django-oidc;
# accounts/proconnect.py holds the backend and the linking rule, docs/operations.md the setup). On
# when its issuer, client id and secret are all set; off otherwise: no button, /oidc/... answers 404
# and the backend is not listed. The endpoints come from the issuer's discovery document
# (<issuer>/.well-known/openid-configuration), read when first needed and kept in the cache.
PROCONNECT_ISSUER = env_checked("PROCONNECT_ISSUER", "", oidc_issuer).rstrip("/")
PROCONNECT_CLIENT_ID = env_str("PROCONNECT_CLIENT_ID").strip()
PROCONNECT_CLIENT_SECRET = env_str("PROCONNECT_CLIENT_SECRET").strip()
PROCONNECT_ENABLED = bool(PROCONNECT_ISSUER and PROCONNECT_CLIENT_ID and PROCONNECT_CLIENT_SECRET)
if not PROCONNECT_ENABLED and (PROCONNECT_ISSUER or PROCONNECT_CLIENT_ID or PROCONNECT_CLIENT_SECRET):
    raise ImproperlyConfigured("PROCONNECT_ISSUER, PROCONNECT_CLIENT_ID and PROCONNECT_CLIENT_SECRET go together: "
                               "set all three to sign in with ProConnect, or none")
if PROCONNECT_ENABLED:
    AUTHENTICATION_BACKENDS.append("accounts.proconnect.ProConnectBackend")
    # Signing out of a ProConnect session posts the sign-out form, whose answer redirects to
    # ProConnect's end-session endpoint: a form's redirect is bound by form-action.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["form-action"].append(
        "{0.scheme}://{0.netloc}".format(urlsplit(PROCONNECT_ISSUER)))
# The names mozilla-django-oidc reads. The OIDC_OP_* endpoints stay empty here: the backend and the
# views take them from the discovery document.
OIDC_RP_CLIENT_ID = PROCONNECT_CLIENT_ID
OIDC_RP_CLIENT_SECRET = PROCONNECT_CLIENT_SECRET
OIDC_OP_AUTHORIZATION_ENDPOINT = OIDC_OP_TOKEN_ENDPOINT = OIDC_OP_USER_ENDPOINT = OIDC_OP_JWKS_ENDPOINT = ""
# The algorithm of the ID token and of the signed userinfo (application/jwt), chosen when the client
# is registered with ProConnect (RS256 or ES256); their keys come from the issuer's JWKS.
OIDC_RP_SIGN_ALGO = env_str("PROCONNECT_SIGN_ALGO", "RS256")
if OIDC_RP_SIGN_ALGO not in ("RS256", "ES256"):
    raise ImproperlyConfigured(f"PROCONNECT_SIGN_ALGO must be RS256 or ES256, got {OIDC_RP_SIGN_ALGO!r}")
# The claims ProConnect gives and the service needs (its "identité pivot").
OIDC_RP_SCOPES = "openid email given_name usual_name siret uid"
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True  # the id_token_hint of the end-session request at sign-out
OIDC_OP_LOGOUT_URL_METHOD = "accounts.proconnect.end_session_url"
# Seconds each call to ProConnect (discovery, token, userinfo, keys) may take.
OIDC_TIMEOUT = env_int("PROCONNECT_TIMEOUT_SECONDS", 10, minimum=1)

# A refused CSRF check (an expired session, a form opened long ago) answers the site's page, in its
# layout (hdh_access/error_pages.py), like the 400, 403, 404 and 500 handlers of hdh_access/urls.py.
CSRF_FAILURE_VIEW = "hdh_access.error_pages.csrf_failure"
# Where users report an accessibility problem (the accessibility statement, /accessibilite/): an
# email address, or the https:// address of a contact form.
HDH_ACCESSIBILITY_CONTACT = env_checked("HDH_ACCESSIBILITY_CONTACT", "accessibilite@health-data-hub.example",
                                        contact_address, required=True)

# Embedded default: a SQLite file in the project folder.
# Connections are kept DATABASE_CONN_MAX_AGE seconds (600 with DEBUG off: no new connection per
# request; 0 with DEBUG on, as runserver's thread per request would never reuse one) and checked
# before their first use in each request (CONN_HEALTH_CHECKS), so a connection that the server or
# a network device closed is replaced instead of failing that request. Celery's worker closes its
# connections before and after every task (docs/operations.md, "Database connections").
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0 if DEBUG else 600, minimum=0),
        conn_health_checks=True,
    )
}
# Behind PgBouncer in transaction mode (DATABASE_PGBOUNCER=true), each transaction may run on
# another server connection: no server-side cursor (`.iterator()` would DECLARE a cursor in one and
# FETCH from it in the next); the code sets no session state outside a transaction (SET LOCAL only).
DATABASE_PGBOUNCER = env_bool("DATABASE_PGBOUNCER", False)
if DATABASE_PGBOUNCER:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_PGBOUNCER is for a PostgreSQL DATABASE_URL (PgBouncer's address)")
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
# SQLite (the embedded default): WAL lets readers work while one connection writes; a writing
# transaction takes the write lock when it begins (IMMEDIATE) and waits up to the busy timeout
# for it, instead of failing with "database is locked" when two requests write at once; and the
# writers of one process queue for it in order instead of polling (hdh_access/sqlite/base.py).
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "hdh_access.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 20),
        "transaction_mode": "IMMEDIATE",
        **DATABASES["default"].get("OPTIONS", {}),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A read replica (PostgreSQL streaming replication): the dashboard, the reports and the queues read
# there (hdh_access/db_router.py says what goes where). Its alias is the primary's settings with
# the replica's address; tests against it run on the primary's test database (MIRROR).
DATABASE_REPLICA_URL = env_checked("DATABASE_REPLICA_URL", "", replica_url)
if DATABASE_REPLICA_URL:
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL")
    _replica = dj_database_url.parse(DATABASE_REPLICA_URL)
    DATABASES["replica"] = {
        **DATABASES["default"], "NAME": _replica["NAME"], "USER": _replica["USER"],
        "PASSWORD": _replica["PASSWORD"], "HOST": _replica["HOST"], "PORT": _replica["PORT"],
        "OPTIONS": {**DATABASES["default"].get("OPTIONS", {}), **_replica.get("OPTIONS", {})},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["hdh_access.db_router.ReplicaRouter"]
# After a web request that wrote, the same session reads from the primary for this long (the page a
# form redirects to shows what it saved, whatever the replica's lag).
DATABASE_REPLICA_PIN_SECONDS = env_int("DATABASE_REPLICA_PIN_SECONDS", 10, minimum=0)

# Passwords: Argon2id with OWASP's parameters (hdh_access/hashers.py) for every new or changed one.
# The hashers after it only check older hashes (Django's default PBKDF2 until now), which are
# rehashed with Argon2id when their user next signs in.
PASSWORD_HASHERS = [
    "hdh_access.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation: French first, English available.
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "Europe/Paris"
# Dates and numbers as each language writes them (« 3 décembre 2026 à 14 h 05 », "3 December 2026,
# 2:05 pm"): hdh_access/formats/<language>/formats.py, then Django's own for what they leave out.
FORMAT_MODULE_PATH = ["hdh_access.formats"]

STATIC_URL = "static/"
# Attachments: outside STATIC_ROOT and any MEDIA_ROOT a web server would publish.
PRIVATE_MEDIA_ROOT = Path(env_str("PRIVATE_MEDIA_ROOT", str(BASE_DIR / "var" / "private")))
MAX_ATTACHMENT_BYTES = env_int("MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024, minimum=1)
# What a dossier must hold before it is submitted (services.submit checks it).
HDH_SUBMIT_REQUIRED_FIELDS = env_list("HDH_SUBMIT_REQUIRED_FIELDS", ["summary", "public_interest", "methodology"])
HDH_SUBMIT_REQUIRED_ATTACHMENTS = env_list("HDH_SUBMIT_REQUIRED_ATTACHMENTS", ["protocol", "data_management_plan"])
# ODT and DOCX are zip archives: their central directory is read (nothing is inflated) and an
# archive that would inflate past HDH_UPLOAD_MAX_UNCOMPRESSED_BYTES in all, holds a part over 1 MiB
# inflating more than HDH_UPLOAD_MAX_RATIO times its compressed size, or more than
# HDH_UPLOAD_MAX_ZIP_ENTRIES entries is refused (a zip bomb, access_requests/attachments.py).
HDH_UPLOAD_MAX_UNCOMPRESSED_BYTES = env_int("HDH_UPLOAD_MAX_UNCOMPRESSED_BYTES", 100 * 1024 * 1024, minimum=1)
HDH_UPLOAD_MAX_RATIO = env_int("HDH_UPLOAD_MAX_RATIO", 100, minimum=1)
HDH_UPLOAD_MAX_ZIP_ENTRIES = env_int("HDH_UPLOAD_MAX_ZIP_ENTRIES", 2000, minimum=1)
# Antivirus: with a clamd address (a Unix socket path or tcp://host:port), every new attachment is
# quarantined (not downloadable) until clamd says it is clean; an infected one loses its content.
# Empty: attachments are stored "not scanned" and served at once.
HDH_CLAMAV_SOCKET = env_checked("HDH_CLAMAV_SOCKET", "", clamav.parse_address)
# Seconds clamd has to accept, read and answer (each step); the sweep rescans what is still pending.
HDH_CLAMAV_TIMEOUT = env_int("HDH_CLAMAV_TIMEOUT", 30, minimum=1)
HDH_CLAMAV_SWEEP_SECONDS = env_int("HDH_CLAMAV_SWEEP_SECONDS", 300, minimum=1)

# Mail: console in development; SMTP in production (EMAIL_HOST and friends).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Accès aux données de santé <ne-pas-repondre@health-data-hub.example>")
# Scheme, host and port of every absolute link (emails): hdh_access.lib.urls.absolute_url.
# `make run` sets it from the address it serves (PORT); production sets the public address.
SITE_URL = env_origin("SITE_URL", "http://127.0.0.1:8000")
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Front-end libraries come from npm (package.json, installed by `make install`), never a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",  # the project's own pages (templates/); each app has its static/ folder
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
# Static files are served by the application (WhiteNoise, in MIDDLEWARE). With DEBUG off,
# `collectstatic` (run by `make serve`) copies each file under a name holding its content hash, with
# gzip and brotli copies (hdh_access/lib/staticfiles.py); pages link to the hashed names, which
# WhiteNoise sends as immutable for ten years, in the encoding the client accepts. With DEBUG on
# (`make run`, the tests) files are read from their folders as they are, with no manifest.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage" if DEBUG
                    else "hdh_access.lib.staticfiles.HashedCompressedStaticFilesStorage"},
}
if DEBUG:
    # WhiteNoise reads the static folders through the finders then; STATIC_ROOT exists only after
    # `collectstatic`, so its "No directory at" warning on every start says nothing.
    warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# Cache (the delay dashboard's figures): shared in Redis when CACHE_URL is set (use another
# Redis database than the broker's), else in each process's memory.
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    # Django's Redis cache, one Redis client per connection pool (hdh_access/cache.py).
    "default": {"BACKEND": "hdh_access.cache.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
HDH_DASHBOARD_CACHE_SECONDS = env_int("HDH_DASHBOARD_CACHE_SECONDS", 600)
# Sessions: with a shared cache, read from it (no query per request to load the session), written
# through to the database (a flushed or restarted Redis signs nobody out).
if CACHE_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Closed, rejected or withdrawn requests leave the back office's lists this many days after their
# last event; the "Archivées" scope shows them (backoffice.selectors.archived_condition).
HDH_ARCHIVE_AFTER_DAYS = env_int("HDH_ARCHIVE_AFTER_DAYS", 90)
# A data holder's task is due this many days after it opens, until the holder's own median
# delivery time is known (catalog.DataHolder.median_delivery_days, refreshed by the delays job).
HDH_HOLDER_DEFAULT_DAYS = env_int("HDH_HOLDER_DEFAULT_DAYS", 180, minimum=1)

# Celery: with REDIS_URL unset, tasks run eagerly in-process so the app needs no broker.
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # with acks_late: a process reserves only the task it runs
# Processes of each worker (prefork pool): by default one per core this process may use. Deployments
# with one worker per queue set it per queue (deploy/hdh-worker@.service reads worker-<queue>.env).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
CELERY_WORKER_CONCURRENCY = env_int("CELERY_WORKER_CONCURRENCY", _CORES, minimum=1)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# Queues by kind of work, so that a long report never holds up an email and a deployment can give
# each kind its own workers (`celery -A hdh_access worker -Q emails`). A worker started without -Q
# consumes every queue listed here, so one plain worker still runs everything. Each task's queue
# and why it may be acknowledged late (it is idempotent): docs/operations.md, "Celery".
CELERY_TASK_DEFAULT_QUEUE = "celery"  # the rest (scans, purges); also where tasks sent before the split wait
# Each queue bound with its own routing key. Celery publishes straight to a queue's list; a bare
# Queue(name) would also be bound to the exchange "celery" with the key "celery", so that a message
# published there by name (another client, a task sent with routing_key=) would be copied into all four.
CELERY_TASK_QUEUES = [Queue(name, routing_key=name)
                      for name in (CELERY_TASK_DEFAULT_QUEUE, "emails", "delays", "reports", "webhooks")]
CELERY_TASK_CREATE_MISSING_QUEUES = False  # a route to an unlisted queue is an error, not a queue nobody reads
# Exact names first, then patterns in this order; a task matching none goes to the default queue.
CELERY_TASK_ROUTES = {
    "notifications.tasks.send_weekly_report": {"queue": "reports"},  # computes the report, then queues mail
    # POSTs to the subscribers' servers: a slow one never holds up an email.
    "notifications.tasks.send_pending_webhooks": {"queue": "webhooks"},
    "delays.tasks.warm_dashboard": {"queue": "reports"},
    "notifications.tasks.*": {"queue": "emails"},  # the outbox, new-message emails, reminders
    "delays.tasks.*": {"queue": "delays"},  # recompute one request, the nightly refresh
}

# /healthz answers anyone with its status only; its details (database, broker, queue depth,
# outbox) go to staff and to a monitor sending "Authorization: Bearer <HDH_HEALTHZ_TOKEN>".
# Empty: no token is accepted.
HDH_HEALTHZ_TOKEN = env_str("HDH_HEALTHZ_TOKEN")

# Delay rules (DOMAIN.md): values that are policy, not law, so they are settings.
HDH_TARGET_MONTHS = env_int("HDH_TARGET_MONTHS", 7)
# The roadmap's other targets (DOMAIN.md, HDH roadmap 2023-2025), shown on /indicateurs/ and in the
# weekly email (delays.indicators): projects using the platform per calendar year; new partnerships
# with data infrastructures since HDH_ROADMAP_START_YEAR; exchanges with civil society in a year,
# HDH_TARGET_CIVIL_SOCIETY_FACTOR times those of HDH_CIVIL_SOCIETY_BASELINE_YEAR (the year before
# the roadmap, published in June 2022). HDH_INDICATOR_QUARTERS: the quarter ends of each trend.
HDH_TARGET_PROJECTS_PER_YEAR = env_int("HDH_TARGET_PROJECTS_PER_YEAR", 200, minimum=1)
HDH_TARGET_PARTNERSHIPS = env_int("HDH_TARGET_PARTNERSHIPS", 40, minimum=1)
HDH_ROADMAP_START_YEAR = env_int("HDH_ROADMAP_START_YEAR", 2023, minimum=2000)
HDH_TARGET_CIVIL_SOCIETY_FACTOR = env_int("HDH_TARGET_CIVIL_SOCIETY_FACTOR", 3, minimum=1)
HDH_CIVIL_SOCIETY_BASELINE_YEAR = env_int("HDH_CIVIL_SOCIETY_BASELINE_YEAR", 2022, minimum=2000)
HDH_INDICATOR_QUARTERS = env_int("HDH_INDICATOR_QUARTERS", 8, minimum=1)
# CNIL silence is deemed authorisation unless the CESREES opinion was not expressly favourable.
# Recalled from the law, not verified: set to true to treat CNIL silence as authorisation always.
HDH_CNIL_SILENCE_ALWAYS_AUTHORISES = env_bool("HDH_CNIL_SILENCE_ALWAYS_AUTHORISES", False)
# Public holidays subdivision for working days (e.g. "57" for Moselle); empty = national.
HDH_HOLIDAYS_SUBDIV = env_str("HDH_HOLIDAYS_SUBDIV") or None
# When a stage resumes after waiting on the applicant, its statutory period either restarts
# ("reset") or carries the days already used ("continue"), DOMAIN.md.
HDH_CLOCK_RESUME_POLICY = {
    "submitted": env_str("HDH_RESUME_POLICY_COMPLETENESS", "reset"),
    "cesrees_review": env_str("HDH_RESUME_POLICY_CESREES", "reset"),
    "cnil_review": env_str("HDH_RESUME_POLICY_CNIL", "continue"),
}
for _stage, _policy in HDH_CLOCK_RESUME_POLICY.items():
    if _policy not in ("reset", "continue"):
        raise ImproperlyConfigured(f"resume policy of {_stage} must be reset or continue, got {_policy!r}")

# Plain http on this machine with DEBUG off (`HDH_INSECURE_HTTP=1 make serve`, the load benchmark):
# cookies without Secure, no HSTS, no redirect to https. Refused unless every allowed host is a
# localhost name or a loopback address, so that it cannot serve a real site over http.
HDH_INSECURE_HTTP = env_bool("HDH_INSECURE_HTTP", False)
if HDH_INSECURE_HTTP and (_remote_hosts := [host for host in ALLOWED_HOSTS if not is_local_host(host)]):
    raise ImproperlyConfigured(f"HDH_INSECURE_HTTP serves plain http to this machine only: ALLOWED_HOSTS must "
                               f"hold localhost names and loopback addresses only, not {', '.join(_remote_hosts)}")

# Production hardening, switched on by DEBUG=false.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True) and not HDH_INSECURE_HTTP
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = not HDH_INSECURE_HTTP
    CSRF_COOKIE_SECURE = not HDH_INSECURE_HTTP
    SECURE_HSTS_SECONDS = 0 if HDH_INSECURE_HTTP else env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # In-process (eager) tasks would log every run at INFO; a real worker keeps them.
    "loggers": {
        "celery.app.trace": {"level": "WARNING" if CELERY_TASK_ALWAYS_EAGER else "INFO"},
        # WeasyPrint (documents/pdf.py) logs each step of every PDF at INFO, fontTools each font it
        # reads: their warnings (a refused URL, an unknown CSS property) are what matters.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Outbox: every email is a row written with the change that causes it, sent by a task.
# A failed send is retried after HDH_OUTBOX_BACKOFF_SECONDS, doubling up to the maximum,
# until HDH_OUTBOX_MAX_ATTEMPTS tries; then the message is marked failed (Django admin).
HDH_OUTBOX_MAX_ATTEMPTS = env_int("HDH_OUTBOX_MAX_ATTEMPTS", 10, minimum=1)
HDH_OUTBOX_BACKOFF_SECONDS = env_int("HDH_OUTBOX_BACKOFF_SECONDS", 60, minimum=1)
HDH_OUTBOX_BACKOFF_MAX_SECONDS = env_int("HDH_OUTBOX_BACKOFF_MAX_SECONDS", 900)
# How long a sender holds a message it is sending; another one may take it over after that.
# Keep it well above EMAIL_TIMEOUT: a claim that expires mid-send can lead to a duplicate.
HDH_OUTBOX_CLAIM_SECONDS = env_int("HDH_OUTBOX_CLAIM_SECONDS", 300, minimum=1)
HDH_OUTBOX_SWEEP_SECONDS = env_int("HDH_OUTBOX_SWEEP_SECONDS", 60, minimum=1)
HDH_OUTBOX_BATCH = env_int("HDH_OUTBOX_BATCH", 200, minimum=1)
# Webhooks (notifications.webhooks, docs/webhooks.md): each event a subscriber may see is a
# delivery row written with the change, POSTed after commit, signed (Standard Webhooks). A failed
# POST is retried after HDH_WEBHOOK_BACKOFF_SECONDS, doubling up to the maximum, until
# HDH_WEBHOOK_MAX_ATTEMPTS tries (about 7 hours with the defaults); then the delivery is failed.
# HDH_WEBHOOK_MAX_FAILURES failed deliveries in a row disable the subscription (its owner is told).
HDH_WEBHOOK_MAX_ATTEMPTS = env_int("HDH_WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
HDH_WEBHOOK_BACKOFF_SECONDS = env_int("HDH_WEBHOOK_BACKOFF_SECONDS", 60, minimum=1)
HDH_WEBHOOK_BACKOFF_MAX_SECONDS = env_int("HDH_WEBHOOK_BACKOFF_MAX_SECONDS", 3 * 3600, minimum=1)
HDH_WEBHOOK_MAX_FAILURES = env_int("HDH_WEBHOOK_MAX_FAILURES", 10, minimum=1)
# Seconds to connect, and to wait for each read of the answer; no redirect is followed.
HDH_WEBHOOK_TIMEOUT_SECONDS = env_int("HDH_WEBHOOK_TIMEOUT_SECONDS", 5, minimum=1)
# How long a sender holds a delivery it is posting: well above the timeouts (connect, then reads).
HDH_WEBHOOK_CLAIM_SECONDS = env_int("HDH_WEBHOOK_CLAIM_SECONDS", 120, minimum=1)
if HDH_WEBHOOK_CLAIM_SECONDS < 4 * HDH_WEBHOOK_TIMEOUT_SECONDS:
    raise ImproperlyConfigured("HDH_WEBHOOK_CLAIM_SECONDS must be at least 4 × HDH_WEBHOOK_TIMEOUT_SECONDS "
                               f"({HDH_WEBHOOK_CLAIM_SECONDS} < 4 × {HDH_WEBHOOK_TIMEOUT_SECONDS})")
HDH_WEBHOOK_SWEEP_SECONDS = env_int("HDH_WEBHOOK_SWEEP_SECONDS", 60, minimum=1)
HDH_WEBHOOK_BATCH = env_int("HDH_WEBHOOK_BATCH", 200, minimum=1)
# Subscriptions one person may own (each event is checked against every active subscription).
HDH_WEBHOOK_MAX_SUBSCRIPTIONS = env_int("HDH_WEBHOOK_MAX_SUBSCRIPTIONS", 10, minimum=1)
# After a rotation the previous secret still signs, beside the new one, for this many hours.
HDH_WEBHOOK_SECRET_OVERLAP_HOURS = env_int("HDH_WEBHOOK_SECRET_OVERLAP_HOURS", 24, minimum=0)
# Against server-side request forgery: https only, to public addresses only (checked on the address
# the POST connects to), unless these say otherwise; both default to DEBUG (tests on 127.0.0.1).
HDH_WEBHOOK_ALLOW_HTTP = env_bool("HDH_WEBHOOK_ALLOW_HTTP", DEBUG)
HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("HDH_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
# Reminders: this many working days before a statutory due date, and once when it is past.
HDH_REMINDER_WORKING_DAYS = env_int("HDH_REMINDER_WORKING_DAYS", 3)
if HDH_REMINDER_WORKING_DAYS < 0:
    raise ImproperlyConfigured(f"HDH_REMINDER_WORKING_DAYS must be >= 0, got {HDH_REMINDER_WORKING_DAYS}")
# Sign-ups never confirmed are deleted after this many days (with the organisations they alone
# created): every probe of the sign-up form creates one (accounts.services.purge_unconfirmed_accounts).
HDH_UNCONFIRMED_ACCOUNT_DAYS = env_int("HDH_UNCONFIRMED_ACCOUNT_DAYS", 7, minimum=1)

# One-time form tokens (access_requests.form_tokens): how long a rendered form may be posted, and
# how long a claimed token is kept to answer a repeated post (then purged by the nightly job).
HDH_FORM_TOKEN_HOURS = env_int("HDH_FORM_TOKEN_HOURS", 24, minimum=1)

# Messages of a dossier's thread: the email about new messages leaves once the first of them is
# this many seconds old, one per recipient and request for all of them (a burst gives one email).
HDH_MESSAGE_EMAIL_DELAY_SECONDS = env_int("HDH_MESSAGE_EMAIL_DELAY_SECONDS", 120, minimum=0)
# How long an external expert's link to read one dossier stays valid (a reviewer may revoke it sooner).
HDH_EXPERT_ACCESS_DAYS = env_int("HDH_EXPERT_ACCESS_DAYS", 14, minimum=1)

# Periodic jobs (Celery beat). Each also has a management command calling the same service.
CELERY_BEAT_SCHEDULE = {
    # Time passes for open requests: refresh forecast medians and every open delay row.
    # Command: python manage.py refresh_delays
    "refresh-open-delays-nightly": {
        "task": "delays.tasks.refresh_open_delays",
        "schedule": crontab(hour=2, minute=30),
    },
    # Send what the outbox still holds (a broker outage, a dead worker, a retry that is due).
    # Command: python manage.py send_outbox
    "send-outbox-sweep": {
        "task": "notifications.tasks.send_pending_outbox",
        "schedule": float(HDH_OUTBOX_SWEEP_SECONDS),
    },
    # Post the webhook deliveries that are due (a retry after its backoff, a broker outage, a dead
    # worker). Command: python manage.py send_webhooks
    "send-webhooks-sweep": {
        "task": "notifications.tasks.send_pending_webhooks",
        "schedule": float(HDH_WEBHOOK_SWEEP_SECONDS),
    },
    # One email per recipient and request about the new messages of its thread, once the first of
    # them is HDH_MESSAGE_EMAIL_DELAY_SECONDS old. Command: python manage.py notify_messages
    "notify-new-messages": {
        "task": "notifications.tasks.notify_new_messages",
        "schedule": 60.0,
    },
    # Reminders before statutory due dates and when they are past (the service skips holidays).
    # Command: python manage.py send_reminders
    "send-reminders-working-days": {
        "task": "notifications.tasks.send_reminders",
        "schedule": crontab(hour=7, minute=0, day_of_week="1-5"),
    },
    # Precompute the delay dashboard so that its first view stays fast (HDH_DASHBOARD_CACHE_SECONDS).
    # Command: python manage.py warm_dashboard
    "warm-dashboard": {
        "task": "delays.tasks.warm_dashboard",
        "schedule": crontab(minute="*/10"),
    },
    # Delete sign-ups never confirmed after HDH_UNCONFIRMED_ACCOUNT_DAYS, and the organisations
    # they alone created. Command: python manage.py purge_unconfirmed_accounts
    "purge-unconfirmed-accounts-daily": {
        "task": "accounts.tasks.purge_unconfirmed_accounts",
        "schedule": crontab(hour=3, minute=15),
    },
    # Forget the one-time form tokens claimed more than HDH_FORM_TOKEN_HOURS ago (no longer postable).
    # Command: python manage.py purge_form_tokens
    "purge-form-tokens-nightly": {
        "task": "access_requests.tasks.purge_form_submissions",
        "schedule": crontab(hour=3, minute=30),
    },
    # Scan the attachments still quarantined (clamd was down, a task was lost); does nothing
    # without HDH_CLAMAV_SOCKET. Command: python manage.py scan_attachments
    "scan-pending-attachments": {
        "task": "access_requests.tasks.scan_pending_attachments",
        "schedule": float(HDH_CLAMAV_SWEEP_SECONDS),
    },
    # The weekly delay report to subscribers, Monday 08:00 Europe/Paris (CELERY_TIMEZONE).
    # Command: python manage.py send_weekly_report
    "send-weekly-report-monday": {
        "task": "notifications.tasks.send_weekly_report",
        "schedule": crontab(hour=8, minute=0, day_of_week=1),
    },
}

# models.W040: on SQLite (`make run`) the delay rows' covering index (INCLUDE columns, for
# PostgreSQL's index-only reads of the dashboard) is an ordinary index, which is all it needs there.
if "sqlite" in DATABASES["default"]["ENGINE"]:
    SILENCED_SYSTEM_CHECKS.append("models.W040")
