"""GET /health/: is this instance able to serve?

Answered by a middleware placed first, so that a probe from inside the container
(http://127.0.0.1:8000/health/) needs no allowed host, no HTTPS and no session.
200 with every check "ok", or 503 naming the component that failed.

Each check runs in a thread of its own with a deadline (HEALTH_CHECK_TIMEOUT), so that a
database or cache that accepts connections but never answers gives a 503 in seconds instead
of holding the request until gunicorn kills the worker. A check still stuck from an earlier
probe is not started again: it counts as failed until it returns, so stuck threads never pile
up. Only the probe is bounded: migrations and normal requests keep their own connections.
"""

import logging
import queue
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from time import monotonic

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health/"
# libpq's connect_timeout, for the probe's own connection: whole seconds, at least 2.
CONNECT_TIMEOUT_OPTIONS = {"postgresql": "connect_timeout"}

probe_thread = threading.local()


def probe_connection():
    """The probe thread's own database connection, opened with a connect timeout."""
    connection = getattr(probe_thread, "connection", None)
    if connection is None:
        connection = connections.create_connection("default")
        option = CONNECT_TIMEOUT_OPTIONS.get(connection.vendor)
        if option:
            timeout = max(2, round(settings.HEALTH_CHECK_TIMEOUT))
            options = {**connection.settings_dict.get("OPTIONS", {}), option: timeout}
            connection.settings_dict = {**connection.settings_dict, "OPTIONS": options}
        probe_thread.connection = connection
    return connection


def release(connection):
    """Close the probe's connection once CONN_MAX_AGE has passed (at once where it is 0), as
    Django does after a request; an in-memory SQLite one too, since it is the probe's own."""
    if connection.connection is not None and connection.close_at is not None and monotonic() >= connection.close_at:
        BaseDatabaseWrapper.close(connection)


def check_database():
    connection = probe_connection()
    # As around a request: reconnect after an error, and close once CONN_MAX_AGE has passed.
    connection.close_if_unusable_or_obsolete()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        release(connection)


def check_cache():
    cache.set("health-check", "ok", timeout=5)
    if cache.get("health-check") != "ok":
        raise RuntimeError("the cache did not return what was stored")


CHECKS = {"database": check_database, "cache": check_cache}


class StillWaiting(TimeoutError):
    """The check did not answer in time (now or at an earlier probe)."""


class BoundedCheck:
    """One check, run in a daemon thread of its own (a stuck one never delays the worker's
    exit); at most one run outstanding."""

    def __init__(self, name):
        self.name = name
        self.requests = queue.SimpleQueue()
        self.pending = None
        self.lock = threading.Lock()
        threading.Thread(target=self.serve, name=f"health-{name}", daemon=True).start()

    def serve(self):
        while True:
            future = self.requests.get()
            try:
                future.set_result(CHECKS[self.name]())
            except Exception as error:  # noqa: BLE001 - handed to the probe that waits for it
                future.set_exception(error)

    def start(self):
        with self.lock:
            if self.pending is not None and not self.pending.done():
                return None
            self.pending = Future()
            self.requests.put(self.pending)
            return self.pending


bounded_checks = {}
bounded_checks_lock = threading.Lock()


def bounded(name):
    """The process's BoundedCheck for a check (made on first use, after gunicorn's fork)."""
    with bounded_checks_lock:
        if name not in bounded_checks:
            bounded_checks[name] = BoundedCheck(name)
        return bounded_checks[name]


def outcome(future, deadline):
    """Wait for a started check until the deadline; raise what it raised, or StillWaiting."""
    if future is None:
        raise StillWaiting("an earlier probe of it has not answered yet")
    try:
        future.result(timeout=max(0.0, deadline - monotonic()))
    except FutureTimeout:
        raise StillWaiting(f"no answer within {settings.HEALTH_CHECK_TIMEOUT:g} s") from None


def run_checks():
    deadline = monotonic() + settings.HEALTH_CHECK_TIMEOUT
    started = {name: bounded(name).start() for name in CHECKS}
    results = {}
    for name, future in started.items():
        try:
            outcome(future, deadline)
        except Exception as error:  # noqa: BLE001 - any failure means unhealthy
            logger.warning("Health check %s failed: %s", name, error)
            results[name] = f"error: {type(error).__name__}"
        else:
            results[name] = "ok"
    return results


def health_response():
    checks = run_checks()
    healthy = all(result == "ok" for result in checks.values())
    body = {"status": "ok" if healthy else "error", "commit": settings.COMMIT_HASH, "checks": checks}
    return JsonResponse(body, status=200 if healthy else 503, headers={"Cache-Control": "no-store"})


class HealthCheckMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return health_response()
        return self.get_response(request)
