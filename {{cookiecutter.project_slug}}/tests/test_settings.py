"""The settings modules, each loaded afresh in this process with the environment a server gives it."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from .conftest import PRODUCTION, SECRET_KEY

DEVELOPMENT = "config.settings.development"
REQUIRED = ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL"{% if cookiecutter.use_celery %}, "CELERY_BROKER_URL"{% endif %}]


@pytest.mark.parametrize("name", REQUIRED)
def test_production_refuses_to_start_without(name, load_settings, production_environment):
    del production_environment[name]

    with pytest.raises(ImproperlyConfigured) as error:
        load_settings(PRODUCTION, **production_environment)

    assert f"{name} is not set: set the {name} environment variable, or {name}_FILE" in str(error.value)


def test_secret_key_file_is_read(load_settings, secret_file, production_environment):
    del production_environment["SECRET_KEY"]

    path = secret_file("secret_key", SECRET_KEY)

    settings = load_settings(PRODUCTION, SECRET_KEY_FILE=path, **production_environment)

    assert settings.SECRET_KEY == SECRET_KEY  # without the file's trailing newline


def test_a_missing_secret_file_stops_startup(load_settings, production_environment):
    del production_environment["SECRET_KEY"]

    with pytest.raises(OSError, match="/nonexistent/secret"):
        load_settings(PRODUCTION, SECRET_KEY_FILE="/nonexistent/secret", **production_environment)


@pytest.mark.parametrize(
    ("module", "given", "expected"),
    [
        (DEVELOPMENT, None, "development"),
        ("config.settings.testing", None, "development"),
        (PRODUCTION, None, "production"),
        (PRODUCTION, "acceptance", "acceptance"),
    ],
)
def test_every_settings_module_knows_its_site_environment(
    module, given, expected, load_settings, production_environment
):
    environment = {**production_environment, **({"SITE_ENVIRONMENT": given} if given else {})}

    site_environment = load_settings(module, **environment).SITE_ENVIRONMENT

    assert site_environment == expected


def test_an_unknown_site_environment_is_refused_in_one_line(load_settings, production_environment):
    with pytest.raises(ImproperlyConfigured) as error:
        load_settings(PRODUCTION, SITE_ENVIRONMENT="staging", **production_environment)

    assert str(error.value) == "SITE_ENVIRONMENT='staging' is not one of: development, acceptance, production."


def test_basic_auth_users_come_from_a_file(load_settings, secret_file):
    settings = load_settings(BASIC_AUTH_USERS_FILE=secret_file("users", "ada:s3cret,grace:c0bol"))

    assert settings.BASIC_AUTH_USERS == {"ada": "s3cret", "grace": "c0bol"}


def test_a_malformed_basic_auth_user_is_refused_without_showing_it(load_settings):
    with pytest.raises(ImproperlyConfigured) as error:
        load_settings(BASIC_AUTH_USERS="ada:s3cret,grace")

    assert str(error.value) == "BASIC_AUTH_USERS: entry 2 is not user:password (the value is secret, so not shown)."


def test_mail_goes_to_the_console_in_development_and_over_smtp_with_tls_in_production(
    load_settings, production_environment
):
    assert load_settings(DEVELOPMENT).EMAIL_BACKEND == "django.core.mail.backends.console.EmailBackend"
    assert load_settings("config.settings.testing").EMAIL_BACKEND == "django.core.mail.backends.locmem.EmailBackend"
    production = load_settings(PRODUCTION, **production_environment)
    assert production.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    assert (production.EMAIL_HOST, production.EMAIL_PORT, production.EMAIL_USE_TLS) == ("localhost", 587, True)


def test_email_url_is_read_from_a_file(load_settings, secret_file, production_environment):
    url = secret_file("email_url", "smtp+tls://mailer:pa55@smtp.example.net:2587")

    settings = load_settings(PRODUCTION, EMAIL_URL_FILE=url, **production_environment)

    assert (settings.EMAIL_HOST, settings.EMAIL_PORT) == ("smtp.example.net", 2587)
    assert (settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD, settings.EMAIL_USE_TLS) == ("mailer", "pa55", True)


def test_senders_default_from_the_domain_and_admins_come_from_the_environment(load_settings):
    settings = load_settings(ADMINS="Ada Lovelace <ada@example.com>, ops@example.com")

    assert settings.DEFAULT_FROM_EMAIL == "noreply@{{ cookiecutter.domain_name }}"
    assert settings.SERVER_EMAIL == "noreply@{{ cookiecutter.domain_name }}"
    assert settings.ADMINS == [("Ada Lovelace", "ada@example.com"), ("", "ops@example.com")]
{%- if cookiecutter.use_celery %}


@pytest.mark.parametrize("suffix", ["", "_FILE"])
def test_broker_and_result_backend_come_from_the_environment_or_files(load_settings, secret_file, suffix):
    broker, backend = "redis://:broker-pw@redis.internal:6379/3", "redis://:backend-pw@redis.internal:6379/4"
    if suffix:
        broker, backend = secret_file("broker_url", broker), secret_file("result_backend", backend)

    settings = load_settings(**{f"CELERY_BROKER_URL{suffix}": broker, f"CELERY_RESULT_BACKEND{suffix}": backend})

    # Without the files' trailing newlines.
    assert settings.CELERY_BROKER_URL == "redis://:broker-pw@redis.internal:6379/3"
    assert settings.CELERY_RESULT_BACKEND == "redis://:backend-pw@redis.internal:6379/4"


def test_the_result_backend_defaults_to_the_broker(load_settings, secret_file):
    settings = load_settings(CELERY_BROKER_URL_FILE=secret_file("broker_url", "redis://:pw@redis.internal:6379/2"))

    assert settings.CELERY_RESULT_BACKEND == "redis://:pw@redis.internal:6379/2"
{%- endif %}
