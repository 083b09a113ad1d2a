"""Each generated project's own test suite passes, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest

from tests.answers import MATRIX, VARIANTS, answer_id, with_answers
from tests.helpers import database_url, run
from tests.require import require_postgres
from tests.venvs import project_environment

pytestmark = pytest.mark.slow


@with_answers(*MATRIX)
def test_project_suite_passes_on_sqlite(answers, project, venv_for):
    venv = venv_for(project, answers["python_version"])

    result = run(["bin/run-tests", "-p", "no:cacheprovider"], cwd=project, env=project_environment(venv))

    assert " passed" in result.stdout.splitlines()[-1]


# PostgreSQL's behaviour does not depend on the Python version: every option set on the
# default Python, and the defaults on the others (VARIANTS). SQLite runs the whole matrix.
@pytest.mark.services
@with_answers(*VARIANTS)
def test_project_suite_passes_on_postgresql(answers, project, venv_for):
    require_postgres()
    venv = venv_for(project, answers["python_version"])
    env = project_environment(venv, DATABASE_URL=database_url("project-suite", answer_id(answers)))

    result = run(["bin/run-tests", "-p", "no:cacheprovider", "-v"], cwd=project, env=env)

    assert "test_health_is_ok_when_database_and_cache_answer PASSED" in result.stdout
    assert (
        "vendor=postgresql"
        in run(
            [
                "python",
                "manage.py",
                "shell",
                "--no-imports",
                "-c",
                "from django.db import connection; print(f'vendor={connection.vendor}')",
            ],
            cwd=project,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.testing"},
        ).stdout
    )


def test_check_deploy_passes_with_secrets_only_in_files(bake, venv_for, tmp_path):
    project = bake()
    venv = venv_for(project)
    secrets = {
        "SECRET_KEY": "k" + hashlib.sha256(b"a long, varied, made-up key").hexdigest() + "Z!@#",
        "DATABASE_URL": "postgres://app:pw@db.internal:5432/app",
        "CELERY_BROKER_URL": "redis://:pw@redis.internal:6379/0",  # the defaults have Celery
    }
    files = {}
    for name, value in secrets.items():
        (tmp_path / name).write_text(value + "\n")
        files[f"{name}_FILE"] = str(tmp_path / name)
    env = project_environment(venv, DJANGO_SETTINGS_MODULE="config.settings.production", ALLOWED_HOSTS="example.com")
    env |= {**files, **dict.fromkeys(secrets)}  # the secrets only in files: unset, whatever the shell exports

    result = run(["python", "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=project, env=env)

    assert "System check identified no issues" in result.stdout
