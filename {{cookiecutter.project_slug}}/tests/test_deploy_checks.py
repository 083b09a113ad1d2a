"""Django's own checks, as a deployment runs them."""

from .test_settings import PRODUCTION, SECRET_KEY


def test_check_deploy_is_clean_with_secrets_from_files(run_django, secret_file):
    result = run_django(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        settings=PRODUCTION,
        SECRET_KEY_FILE=secret_file("secret_key", SECRET_KEY),
        DATABASE_URL_FILE=secret_file("database_url", "postgres://app@db.internal:5432/app"),
{%- if cookiecutter.use_celery %}
        CELERY_BROKER_URL_FILE=secret_file("broker_url", "redis://redis.internal:6379/0"),
{%- endif %}
        ALLOWED_HOSTS="{{ cookiecutter.domain_name }}",
    )

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_models_and_migrations_agree(run_django):
    result = run_django("makemigrations", "--check", "--dry-run")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
