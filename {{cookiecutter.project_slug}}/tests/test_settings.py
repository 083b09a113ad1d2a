import pytest

PRODUCTION = "config.settings.production"
SECRET_KEY = "x7#kQ2!vLp9@Zr4$Wm8^Tn3&Yb6*Hc1(Jd5)Fg0-Sa2+Ue7=Io4~Pl9?Qw3"


@pytest.fixture
def production_environment():
    return {
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "{{ cookiecutter.domain_name }}",
        "DATABASE_URL": "postgres://app@db.internal:5432/app",
{%- if cookiecutter.use_celery %}
        "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
{%- endif %}
    }


@pytest.mark.parametrize("name", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"{% if cookiecutter.use_celery %}, "CELERY_BROKER_URL"{% endif %}])
def test_production_refuses_to_start_without(name, run_django, production_environment):
    del production_environment[name]

    result = run_django("check", settings=PRODUCTION, **production_environment)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name} is not set: set the {name} environment variable, or {name}_FILE" in result.stderr


def test_secret_key_file_is_read(run_django, secret_file, production_environment):
    del production_environment["SECRET_KEY"]
    path = secret_file("secret_key", SECRET_KEY)

    result = run_django(
        "shell",
        "--no-imports",
        "-c",
        "from django.conf import settings; print(repr(settings.SECRET_KEY))",
        settings=PRODUCTION,
        SECRET_KEY_FILE=path,
        **production_environment,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(SECRET_KEY)  # without the file's trailing newline


def test_a_missing_secret_file_stops_startup(run_django, production_environment):
    del production_environment["SECRET_KEY"]

    result = run_django("check", settings=PRODUCTION, SECRET_KEY_FILE="/nonexistent/secret", **production_environment)

    assert result.returncode != 0
    assert "/nonexistent/secret" in result.stderr
