"""The Celery app: `celery -A config worker` and `celery -A config beat`.

Its settings are the CELERY_* Django settings (config/settings/base.py), so they come from
the environment like every other setting, each also readable from NAME_FILE. Tasks are
found in a tasks.py module of every installed app.
"""

import os

from celery import Celery

# The development settings unless told otherwise, as manage.py: the images set
# DJANGO_SETTINGS_MODULE=config.settings.production in their environment.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")

app = Celery("{{ cookiecutter.project_slug }}")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
