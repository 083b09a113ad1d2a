"""The Celery app: `celery -A config worker` and `celery -A config beat`.

Its settings are the CELERY_* Django settings (config/settings/base.py), so they come from
the environment like every other setting, each also readable from NAME_FILE. Tasks are
found in a tasks.py module of every installed app.
"""

import gc
import os

from celery import Celery
from celery.signals import worker_init

# The development settings unless told otherwise, as manage.py: the images set
# DJANGO_SETTINGS_MODULE=config.settings.production in their environment.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")

app = Celery("{{ cookiecutter.project_slug }}")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def freeze_what_the_boot_loaded(**_):
    """Leave what the worker loaded at boot out of later garbage collections.

    worker_init comes once Django is set up and the tasks are imported, before the pool starts
    its processes (prefork, the default). Those processes inherit the frozen objects: their
    collections skip Django, the project and its tasks, which live as long as the process,
    and no longer write to (and so copy) the pages they share with the parent. The
    interpreter's last collection after a warm shutdown (SIGTERM, as `docker stop` sends)
    skips them too, instead of spending most of the shutdown traversing them. Garbage is
    collected first; an object frozen now that later becomes garbage in a reference cycle is
    never freed, at most once each.
    """
    gc.collect()
    gc.freeze()
