"""Settings for a developer's machine and the compose setup. Never for a server."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env.str("SECRET_KEY", default="development-only-not-secret")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}  # noqa: F405
# Django's debug pages have inline scripts and styles: the browser's console shows what the
# Content-Security-Policy would block, without blocking it.
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=True)
# Serve static files straight from the source directories, without collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
