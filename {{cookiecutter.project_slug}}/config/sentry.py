"""Error reports to Sentry, set up by the production settings where SENTRY_DSN is given.

No personal data by default: with neither data_collection nor the older send_default_pii
given, sentry-sdk sends no user names, e-mail or IP addresses and no cookies
(tests/test_sentry.py checks it); opt in per category with data_collection. The release is
the commit the image was built from (COMMIT_HASH), the environment the site's
SITE_ENVIRONMENT, so reports say which deployment they came from.

sentry-sdk is imported only where a DSN is given: a process without one (a site or a
command without error reports, a server refusing to start) does not spend the quarter of a
second that loading it takes.
"""


def init_sentry(dsn, *, release, environment):
    """Start sending error reports to dsn; without a dsn do nothing. True when started."""
    if not dsn:
        return False
    import sentry_sdk
{%- if cookiecutter.use_celery %}
    from sentry_sdk.integrations.celery import CeleryIntegration
{%- endif %}
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        release=release,
        environment=environment,
        integrations=[
            DjangoIntegration(),
{%- if cookiecutter.use_celery %}
            CeleryIntegration(),
{%- endif %}
        ],
    )
    return True
