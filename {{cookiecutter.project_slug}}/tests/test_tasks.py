"""The Celery tasks and their configuration.

The tasks run eagerly in this module, in the test process (the testing settings set
CELERY_TASK_ALWAYS_EAGER); tests/test_celery_worker.py runs them in a real worker.
"""

import gc
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

import config.celery
from {{ cookiecutter.project_slug }}.core.tasks import clear_expired_sessions, greet

from .processes import DATABASE_DOWN

app = greet.app  # the project's Celery app, config.celery.app: shared tasks use the current one


def test_tasks_run_eagerly_in_the_tests():
    assert app.main == "{{ cookiecutter.project_slug }}"
    assert app.conf.task_always_eager is True
    assert app.conf.task_eager_propagates is True


def test_greet():
    result = greet.delay("Ada")

    assert result.successful()
    assert result.get() == "Hello, Ada!"


def test_a_worker_freezes_what_it_loaded_before_its_pool_starts():
    """config/celery.py at worker_init (tests/test_celery_worker.py runs it in a real worker)."""
    frozen = gc.get_freeze_count()
    loaded = [[] for _ in range(100)]  # objects the collector tracks, alive when the worker starts

    config.celery.freeze_what_the_boot_loaded()

    assert gc.get_freeze_count() >= frozen + len(loaded)


@pytest.mark.django_db
def test_clear_expired_sessions_deletes_only_the_expired_ones():
    now = timezone.now()
    Session.objects.create(session_key="expired" * 4, session_data="", expire_date=now - timedelta(minutes=1))
    Session.objects.create(session_key="current" * 4, session_data="", expire_date=now + timedelta(days=1))

    clear_expired_sessions.delay().get()

    assert list(Session.objects.values_list("session_key", flat=True)) == ["current" * 4]


@pytest.mark.fresh_process(DATABASE_DOWN)
def test_beat_schedule_loads_without_a_database_and_names_registered_tasks():
    printed = DATABASE_DOWN.printed_json()

    loaded = printed["beat"]
    expected = {name: entry["task"] for name, entry in app.conf.beat_schedule.items()}
    assert expected, "the beat schedule in settings is empty"
    assert expected.items() <= loaded["entries"].items()
    unregistered = sorted(set(loaded["entries"].values()) - set(loaded["registered"]))
    assert unregistered == [], f"the beat schedule names tasks that are not registered: {unregistered}"
    assert "{{ cookiecutter.project_slug }}.core.tasks.greet" in loaded["registered"]
    # No DJANGO_SETTINGS_MODULE: on a developer's machine the app picks the development
    # settings (the images set production in their environment).
    assert (printed["settings"], printed["debug"]) == ("config.settings.development", True)
