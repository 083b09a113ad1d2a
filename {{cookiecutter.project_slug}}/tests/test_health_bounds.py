"""/health/ answers within HEALTH_CHECK_TIMEOUT even when a check never returns.

The template's own suite runs the same against real silent servers and a stopped PostgreSQL
backend through gunicorn; in this module a check that waits on an event stands in for them.
"""

import threading
import time

import pytest

from {{ cookiecutter.project_slug }}.core import health

# Each test waits this long for the stuck check: long enough for the real database check to
# answer on a loaded machine over the connection the probe already holds (probe_connected),
# short enough to keep the suite fast.
TIMEOUT = 0.3


@pytest.fixture
def probe_connected(client):
    """One health check with the real checks and the usual timeout first, so that the probe's
    own database connection is open before a test shortens the timeout."""
    assert client.get("/health/").status_code == 200


@pytest.fixture
def stuck_cache(probe_connected, monkeypatch, settings):
    """The cache check blocks until the test ends; the probe allows it TIMEOUT."""
    settings.HEALTH_CHECK_TIMEOUT = TIMEOUT
    release = threading.Event()
    monkeypatch.setitem(health.CHECKS, "cache", lambda: release.wait(30))
    yield
    release.set()
    health.bounded("cache").pending.result(timeout=5)


@pytest.mark.django_db
@pytest.mark.usefixtures("stuck_cache")
def test_a_check_that_never_answers_gives_503_within_the_timeout(client):
    started = time.monotonic()
    response = client.get("/health/")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "error: StillWaiting"}


@pytest.mark.django_db
@pytest.mark.usefixtures("stuck_cache")
def test_a_check_still_stuck_is_not_started_again(client):
    client.get("/health/")
    threads = threading.active_count()
    started = time.monotonic()

    response = client.get("/health/")

    assert time.monotonic() - started < 2
    assert response.json()["checks"]["cache"] == "error: StillWaiting"
    assert threading.active_count() == threads


@pytest.mark.django_db
@pytest.mark.usefixtures("probe_connected")
def test_a_check_answers_again_once_it_returns(client, monkeypatch, settings):
    settings.HEALTH_CHECK_TIMEOUT = TIMEOUT
    release = threading.Event()
    monkeypatch.setitem(health.CHECKS, "cache", lambda: release.wait(30))
    assert client.get("/health/").status_code == 503

    release.set()
    health.bounded("cache").pending.result(timeout=5)
    monkeypatch.undo()

    assert client.get("/health/").status_code == 200
