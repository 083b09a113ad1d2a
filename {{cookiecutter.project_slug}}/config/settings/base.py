"""Settings shared by every environment.

Configuration comes from the environment. Every value can also be read from a file:
set NAME_FILE to its path (Docker and Kubernetes secrets) instead of NAME.
"""

import os
from email.utils import getaddresses
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent


class SecretFiles(environ.FileAwareMapping):
    """django-environ's NAME_FILE lookup, without the trailing newline a secret file often has."""

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return value.rstrip("\r\n") if self.env.get(f"{key}_FILE") else value


env = environ.FileAwareEnv()
env.ENVIRON = SecretFiles()


def required(name, read=env.str):
    """Read a setting that has no safe default, or explain how to give it."""
    if not (os.environ.get(name) or os.environ.get(f"{name}_FILE")):
        raise environ.ImproperlyConfigured(
            f"{name} is not set: set the {name} environment variable, "
            f"or {name}_FILE to the path of a file that holds it."
        )
    return read(name)


DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
COMMIT_HASH = env.str("COMMIT_HASH", default="unknown")

# ---- Which site this is, and who may see it (core/protection.py) ----
SITE_ENVIRONMENTS = ("development", "acceptance", "production")


def site_environment(default):
    """SITE_ENVIRONMENT: the kind of site, for error reports and the protection of non-production sites."""
    value = env.str("SITE_ENVIRONMENT", default=default)
    if value not in SITE_ENVIRONMENTS:
        raise environ.ImproperlyConfigured(f"SITE_ENVIRONMENT={value!r} is not one of: {', '.join(SITE_ENVIRONMENTS)}.")
    return value


def basic_auth_users(entries):
    """BASIC_AUTH_USERS: comma-separated user:password pairs, as a {user: password} dict."""
    users = {}
    for number, entry in enumerate(entries, start=1):
        user, separator, password = entry.partition(":")
        if not (user and separator and password):
            raise environ.ImproperlyConfigured(
                f"BASIC_AUTH_USERS: entry {number} is not user:password (the value is secret, so not shown)."
            )
        users[user] = password
    return users


SITE_ENVIRONMENT = site_environment(default="development")
BASIC_AUTH_USERS = basic_auth_users(env.list("BASIC_AUTH_USERS", default=[]))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "{{ cookiecutter.project_slug }}.core",
]

# The custom user model ({{ cookiecutter.project_slug }}/users). A project generated with it ships its
# first migration; a project generated before it (and updated since) has no such migration and
# keeps Django's auth.User, which its database holds: docs/updating.md says how to move by hand.
if (BASE_DIR / "{{ cookiecutter.project_slug }}" / "users" / "migrations" / "0001_initial.py").exists():
    INSTALLED_APPS.append("{{ cookiecutter.project_slug }}.users")
    AUTH_USER_MODEL = "users.User"

MIDDLEWARE = [
    # First, so that health checks skip host validation and the HTTPS redirect.
    "{{ cookiecutter.project_slug }}.core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "{{ cookiecutter.project_slug }}.core.security_headers.SecurityHeadersMiddleware",
    # After the HTTPS redirect, so that passwords are never asked for over plain HTTP.
    "{{ cookiecutter.project_slug }}.core.protection.SiteProtectionMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "{{ cookiecutter.project_slug }}" / "templates"],
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

DATABASES = {"default": env.db("DATABASE_URL", default="sqlite:///:memory:")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="{{ cookiecutter.timezone }}")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
{%- if cookiecutter.use_frontend %}
# The frontend build (frontend/dist) is collected with the other static files.
STATICFILES_DIRS = [BASE_DIR / "frontend" / "dist"]
{%- endif %}
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# ---- Mail: EMAIL_URL in django-environ's form, e.g. smtp+tls://user:password@host:587 ----
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@{{ cookiecutter.domain_name }}")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
# Who receives error mails: ADMINS="Ada Lovelace <ada@example.com>, ops@example.com".
ADMINS = getaddresses(env.list("ADMINS", default=[]))
{%- if cookiecutter.use_celery %}

# Celery: the broker and result backend are secrets too (they may hold passwords).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=5 * 60)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat only keeps its last-run times in this file; /tmp stays writable in a read-only container.
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default="celerybeat-schedule")
# The beat schedule lives in code, so beat needs no database tables to start.
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "{{ cookiecutter.project_slug }}.core.tasks.clear_expired_sessions",
        "schedule": 60 * 60 * 24,
    },
}
{%- endif %}

# ---- The running service: health probe, request bodies, security headers ----------------
# /health/ answers 503 when a check has not answered within this many seconds (core/health.py).
HEALTH_CHECK_TIMEOUT = env.float("HEALTH_CHECK_TIMEOUT", default=3.0)
# Larger request bodies are refused with 413 before they are read (core/request_limits.py).
MAX_REQUEST_BODY_SIZE = env.int("MAX_REQUEST_BODY_SIZE", default=10 * 1024 * 1024)
# Sent on every response by core/security_headers.py. Everything the pages load comes from
# this site: no inline scripts or styles, no third-party origins. CSP_REPORT_URI (optional)
# is where browsers report what the policy blocked.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
CSP_REPORT_URI = env.str("CSP_REPORT_URI", default="")
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=False)
# Powerful browser features the pages never use: switched off for them and any frame.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
    )
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "{asctime} {levelname} {name} {message}", "style": "{"},
    },
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"},
    },
    "root": {"handlers": ["stdout"], "level": env.str("LOG_LEVEL", default="INFO")},
}
