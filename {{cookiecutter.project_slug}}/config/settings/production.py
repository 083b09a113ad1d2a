"""Settings for every server (acceptance and production). No insecure defaults.

It refuses to start without SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL{% if cookiecutter.use_celery %}
(and CELERY_BROKER_URL){% endif %}, each given directly or as NAME_FILE.
"""

from config.sentry import init_sentry

from .base import *  # noqa: F403
from .base import env, required, site_environment

DEBUG = False
SECRET_KEY = required("SECRET_KEY")
ALLOWED_HOSTS = required("ALLOWED_HOSTS", env.list)
DATABASES = {"default": required("DATABASE_URL", env.db)}
{%- if cookiecutter.use_celery %}
CELERY_BROKER_URL = required("CELERY_BROKER_URL")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
{%- endif %}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"https://{host}" for host in ALLOWED_HOSTS])

# HTTPS: the proxy in front terminates TLS and says so in X-Forwarded-Proto. gunicorn
# believes it only from FORWARDED_ALLOW_IPS and sets the request's scheme (wsgi.url_scheme),
# which Django uses as it is: no SECURE_PROXY_SSL_HEADER, so a client cannot claim HTTPS.
# X-Forwarded-Host likewise reaches Django only from those addresses, and is used only where
# USE_X_FORWARDED_HOST=true says the proxy sets it (see gunicorn.conf.py).
USE_X_FORWARDED_HOST = env.bool("USE_X_FORWARDED_HOST", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# Preloading HSTS binds every subdomain for months: a decision per domain, not a default.
# Set SECURE_HSTS_PRELOAD=true when the domain is ready, and drop this line.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# ---- The site, its mail and its error reports ----
# An acceptance site runs these settings with SITE_ENVIRONMENT=acceptance.
SITE_ENVIRONMENT = site_environment(default="production")
# SMTP with STARTTLS unless EMAIL_URL says otherwise (smtp+ssl://, smtp+tls://user:password@host:587).
vars().update(env.email_url("EMAIL_URL", default="smtp+tls://localhost:587"))
# Error reports go to Sentry only where SENTRY_DSN (or SENTRY_DSN_FILE) is set.
init_sentry(env.str("SENTRY_DSN", default=""), release=COMMIT_HASH, environment=SITE_ENVIRONMENT)  # noqa: F405
