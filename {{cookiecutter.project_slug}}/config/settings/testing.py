"""Settings for the test suite: PostgreSQL when DATABASE_URL is set, else SQLite in memory."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = "testing-only-not-secret"  # noqa: S105 - the tests need a key, not a secret
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
DATABASES = {"default": env.db("DATABASE_URL", default="sqlite:///:memory:")}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, for tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Serve static files from where the staticfiles finders look, without collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
{%- if cookiecutter.use_celery %}
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True
# A worker under test (tests/test_celery_worker.py) waits on Redis a tenth of a second at a
# time instead of a second, so that it sees a warm shutdown (SIGTERM) at once when idle.
CELERY_BROKER_TRANSPORT_OPTIONS = {"polling_interval": 0.1}
{%- endif %}
