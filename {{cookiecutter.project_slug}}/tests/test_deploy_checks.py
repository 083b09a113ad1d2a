"""What only a fresh process shows: Django's deployment checks, and a server that refuses to start."""

import io

import pytest
from django.core.management import call_command

from .conftest import PRODUCTION, PRODUCTION_ENVIRONMENT
from .processes import FreshProcess, SecretFile

DEPLOY_CHECK = FreshProcess(
    *("manage.py", "check", "--deploy", "--fail-level", "WARNING"),
    settings=PRODUCTION,
    ALLOWED_HOSTS=PRODUCTION_ENVIRONMENT["ALLOWED_HOSTS"],
    # Every secret in a file, as a deployment gives them.
    **{f"{name}_FILE": SecretFile(value) for name, value in PRODUCTION_ENVIRONMENT.items() if name != "ALLOWED_HOSTS"},
)
# Each missing setting is named by tests/test_settings.py; this is the process exiting.
WITHOUT_SECRETS = FreshProcess("manage.py", "check", settings=PRODUCTION)


@pytest.mark.fresh_process(DEPLOY_CHECK)
def test_check_deploy_is_clean_with_secrets_from_files():
    result = DEPLOY_CHECK.result()

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.fresh_process(WITHOUT_SECRETS)
def test_a_server_without_its_secrets_refuses_to_start():
    result = WITHOUT_SECRETS.result()

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set: set the SECRET_KEY environment variable" in result.stderr


@pytest.mark.django_db
def test_models_and_migrations_agree():
    output = io.StringIO()

    call_command("makemigrations", "--check", "--dry-run", stdout=output)

    assert "No changes detected" in output.getvalue()
