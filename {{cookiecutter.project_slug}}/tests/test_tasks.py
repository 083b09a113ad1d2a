"""The Celery tasks and their configuration.

The tasks run eagerly in this module, in the test process (the testing settings set
CELERY_TASK_ALWAYS_EAGER); tests/test_celery_worker.py runs them in a real worker.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from {{ cookiecutter.project_slug }}.core.tasks import clear_expired_sessions, greet

from .processes import FreshProcess

app = greet.app  # the project's Celery app, config.celery.app: shared tasks use the current one

# Run in a fresh process, as `celery -A config beat` starts: loads the beat schedule as beat
# does and prints what it found, and which settings the app chose by itself.
LOAD_BEAT_SCHEDULE = """
import json, os
from celery.beat import PersistentScheduler
from config.celery import app
from django.conf import settings

app.loader.import_default_modules()  # as the worker and beat do: autodiscovers the tasks
schedule_file = os.path.join(os.environ["HOME"], "celerybeat-schedule")  # the process's own directory
scheduler = PersistentScheduler(app=app, schedule_filename=schedule_file)
try:
    entries = {name: entry.task for name, entry in scheduler.schedule.items()}
finally:
    scheduler.close()
print(json.dumps({
    "entries": entries,
    "registered": sorted(app.tasks),
    "settings": os.environ["DJANGO_SETTINGS_MODULE"],
    "debug": settings.DEBUG,
}))
"""
# A fresh process, so that only autodiscovery registers the tasks; its database is
# unreachable (port 9 is closed), so beat must start without tables or migrations.
# No DJANGO_SETTINGS_MODULE: on a developer's machine the app picks the development
# settings (the images set production in their environment).
BEAT = FreshProcess(
    "-c",
    LOAD_BEAT_SCHEDULE,
    settings=None,
    DATABASE_URL="postgres://nobody@127.0.0.1:9/nothing",
)


def test_tasks_run_eagerly_in_the_tests():
    assert app.main == "{{ cookiecutter.project_slug }}"
    assert app.conf.task_always_eager is True
    assert app.conf.task_eager_propagates is True


def test_greet():
    result = greet.delay("Ada")

    assert result.successful()
    assert result.get() == "Hello, Ada!"


@pytest.mark.django_db
def test_clear_expired_sessions_deletes_only_the_expired_ones():
    now = timezone.now()
    Session.objects.create(session_key="expired" * 4, session_data="", expire_date=now - timedelta(minutes=1))
    Session.objects.create(session_key="current" * 4, session_data="", expire_date=now + timedelta(days=1))

    clear_expired_sessions.delay().get()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["current" * 4]


def test_beat_schedule_loads_without_a_database_and_names_registered_tasks():
    result = BEAT.result()

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {name: entry["task"] for name, entry in app.conf.beat_schedule.items()}
    assert expected, "the beat schedule in settings is empty"
    assert expected.items() <= loaded["entries"].items()
    unregistered = sorted(set(loaded["entries"].values()) - set(loaded["registered"]))
    assert unregistered == [], f"the beat schedule names tasks that are not registered: {unregistered}"
    assert "{{ cookiecutter.project_slug }}.core.tasks.greet" in loaded["registered"]
    assert (loaded["settings"], loaded["debug"]) == ("config.settings.development", True)
