"""/health/ answers within HEALTH_CHECK_TIMEOUT even when a check never returns.

The template's own suite runs the same against real silent servers and a stopped PostgreSQL
backend through gunicorn; in this module a check that waits on an event stands in for them.
"""

import threading
import time

import pytest

from {{ cookiecutter.project_slug }}.core import health

# What the probe allows the stuck check where the real database check runs beside it: long
# enough for that check to answer on a loaded machine over the connection the probe already
# holds (probe_connected), short enough to keep the suite fast.
TIMEOUT = 0.3
# Where the database check is replaced by one that answers at once, the wait for the stuck
# check need not be long.
SHORT_TIMEOUT = 0.05


@pytest.fixture
def probe_connected(client):
    """One health check with the real checks and the usual timeout first, so that the probe's
    own database connection is open before a test shortens the timeout."""
    assert client.get("/health/").status_code == 200


@pytest.fixture
def stuck_cache(monkeypatch):
    """The cache check blocks until released (at the latest when the test ends): the release."""
    release = threading.Event()
    monkeypatch.setitem(health.CHECKS, "cache", lambda: release.wait(30))
    yield release
    release.set()
    health.bounded("cache").pending.result(timeout=5)


@pytest.fixture
def database_answers(monkeypatch, settings):
    """The database check answers at once, without a database; the probe allows SHORT_TIMEOUT."""
    settings.HEALTH_CHECK_TIMEOUT = SHORT_TIMEOUT
    monkeypatch.setitem(health.CHECKS, "database", lambda: None)


@pytest.mark.django_db
@pytest.mark.usefixtures("probe_connected", "stuck_cache")
def test_a_check_that_never_answers_gives_503_within_the_timeout(client, settings):
    settings.HEALTH_CHECK_TIMEOUT = TIMEOUT
    started = time.monotonic()
    response = client.get("/health/")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "cache": "error: StillWaiting"}


@pytest.mark.usefixtures("database_answers", "stuck_cache")
def test_a_check_still_stuck_is_not_started_again(client):
    client.get("/health/")
    threads = threading.active_count()
    stuck = health.bounded("cache").pending
    started = time.monotonic()

    response = client.get("/health/")

    assert time.monotonic() - started < 2
    assert response.json()["checks"]["cache"] == "error: StillWaiting"
    assert health.bounded("cache").pending is stuck  # the same run, not a second one queued
    assert threading.active_count() == threads


@pytest.mark.usefixtures("database_answers")
def test_a_check_answers_again_once_it_returns(client, stuck_cache, settings):
    assert client.get("/health/").status_code == 503

    stuck_cache.set()
    health.bounded("cache").pending.result(timeout=5)
    # Nothing is stuck any more: a long timeout costs nothing, and a paused machine cannot fail it.
    settings.HEALTH_CHECK_TIMEOUT = 5

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "cache": "ok"}
