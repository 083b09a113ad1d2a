"""GET /health/: is this instance able to serve?

Answered by a middleware placed first, so that a probe from inside the container
(http://127.0.0.1:8000/health/) needs no allowed host, no HTTPS and no session.
200 with every check "ok", or 503 naming the component that failed.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health/"


def check_database():
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache():
    cache.set("health-check", "ok", timeout=5)
    if cache.get("health-check") != "ok":
        raise RuntimeError("the cache did not return what was stored")


CHECKS = {"database": check_database, "cache": check_cache}


def run_checks():
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
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
