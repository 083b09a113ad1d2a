"""The Celery tasks and their configuration.

The tasks run eagerly here, in the test process (the testing settings set
CELERY_TASK_ALWAYS_EAGER); tests/test_celery_worker.py runs them in a real worker.
"""

import json
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from {{ cookiecutter.project_slug }}.core.tasks import clear_expired_sessions, greet

app = greet.app  # the project's Celery app, config.celery.app: shared tasks use the current one

# Run in a fresh process: loads the beat schedule as `celery beat` does and prints what it found.
LOAD_BEAT_SCHEDULE = """
import json, os
from celery.beat import PersistentScheduler
from config.celery import app

app.loader.import_default_modules()  # as the worker and beat do: autodiscovers the tasks
scheduler = PersistentScheduler(app=app, schedule_filename=os.environ["BEAT_SCHEDULE_FILE"])
try:
    entries = {name: entry.task for name, entry in scheduler.schedule.items()}
finally:
    scheduler.close()
print(json.dumps({"entries": entries, "registered": sorted(app.tasks)}))
"""


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


def test_beat_schedule_loads_without_a_database_and_names_registered_tasks(run_django, tmp_path):
    schedule_file = tmp_path / "celerybeat-schedule"
    # A fresh process, so that only autodiscovery registers the tasks; its database is
    # unreachable (port 9 is closed), so beat must start without tables or migrations.
    result = run_django(
        "shell",
        "--no-imports",
        "-c",
        LOAD_BEAT_SCHEDULE,
        BEAT_SCHEDULE_FILE=str(schedule_file),
        DATABASE_URL="postgres://nobody@127.0.0.1:9/nothing",
    )

    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    expected = {name: entry["task"] for name, entry in app.conf.beat_schedule.items()}
    assert expected, "the beat schedule in settings is empty"
    assert expected.items() <= loaded["entries"].items()
    unregistered = sorted(set(loaded["entries"].values()) - set(loaded["registered"]))
    assert unregistered == [], f"the beat schedule names tasks that are not registered: {unregistered}"
    assert "{{ cookiecutter.project_slug }}.core.tasks.greet" in loaded["registered"]


@pytest.mark.parametrize("suffix", ["", "_FILE"])
def test_broker_and_result_backend_come_from_the_environment_or_files(run_django, secret_file, suffix):
    broker, backend = "redis://:broker-pw@redis.internal:6379/3", "redis://:backend-pw@redis.internal:6379/4"
    if suffix:
        broker, backend = secret_file("broker_url", broker), secret_file("result_backend", backend)
    script = "from config.celery import app; print(app.conf.broker_url); print(app.conf.result_backend)"

    result = run_django(
        "shell",
        "--no-imports",
        "-c",
        script,
        **{f"CELERY_BROKER_URL{suffix}": broker, f"CELERY_RESULT_BACKEND{suffix}": backend},
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-2:] == [
        "redis://:broker-pw@redis.internal:6379/3",  # without the file's trailing newline
        "redis://:backend-pw@redis.internal:6379/4",
    ]


def test_the_result_backend_defaults_to_the_broker(run_django, secret_file):
    broker = secret_file("broker_url", "redis://:pw@redis.internal:6379/2")

    result = run_django(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(settings.CELERY_RESULT_BACKEND)",
        CELERY_BROKER_URL_FILE=broker,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "redis://:pw@redis.internal:6379/2"
