"""Settings shared by every environment.

Configuration comes from the environment. Every value can also be read from a file:
set NAME_FILE to its path (Docker and Kubernetes secrets) instead of NAME.
"""

import os
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

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "{{ cookiecutter.project_slug }}.core",
]

MIDDLEWARE = [
    # First, so that health checks skip host validation and the HTTPS redirect.
    "{{ cookiecutter.project_slug }}.core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "{{ cookiecutter.project_slug }}.core.security_headers.SecurityHeadersMiddleware",
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
