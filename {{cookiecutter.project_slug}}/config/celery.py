"""The Celery app: `celery -A config worker` and `celery -A config beat`.

Its settings are the CELERY_* Django settings (config/settings/base.py), so they come from
the environment like every other setting, each also readable from NAME_FILE. Tasks are
found in a tasks.py module of every installed app.
"""

import gc
import os

from celery import Celery
from celery.signals import worker_ready

# The development settings unless told otherwise, as manage.py: the images set
# DJANGO_SETTINGS_MODULE=config.settings.production in their environment.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")

app = Celery("{{ cookiecutter.project_slug }}")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def freeze_what_the_boot_loaded(**_):
    """Leave what the worker loaded at boot out of later garbage collections.

    Django, the project and its tasks live as long as the process: once frozen, the
    collections during the worker's life skip them, and so does the interpreter's last
    collection after a warm shutdown (SIGTERM, as `docker stop` sends), which otherwise
    spends most of the shutdown traversing them. Garbage is collected first, so none is kept.
    """
    gc.collect()
    gc.freeze()
