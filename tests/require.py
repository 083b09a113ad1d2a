"""Skip a test whose tool or service is missing, with the reason; in CI, fail instead.

CI sets DCT_REQUIRE_ALL=1 (see .ci/run): there every suite must really run, so a missing
podman, PostgreSQL, Redis or Python version is an error rather than a quiet skip.
"""

from __future__ import annotations

import os
import socket
import urllib.parse

import pytest

REQUIRE_ALL = os.environ.get("DCT_REQUIRE_ALL") == "1"


def unavailable(reason: str):
    if REQUIRE_ALL:
        pytest.fail(f"DCT_REQUIRE_ALL=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def port_open(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_server(name: str, address: str, default_port: int) -> None:
    """Go on only where a server answers at the host and port of an address (a URL)."""
    url = urllib.parse.urlsplit(address)
    host, port = url.hostname or "127.0.0.1", url.port or default_port
    if not port_open(host, port):
        unavailable(f"no {name} answers on {host}:{port}")


def require_postgres() -> None:
    """Go on only where a PostgreSQL answers where the tests connect (DCT_POSTGRES_URL)."""
    from tests.helpers import POSTGRES  # tests/helpers.py imports this module where it needs it

    require_server("PostgreSQL", POSTGRES, 5432)


def require_redis() -> None:
    """Go on only where a Redis answers where the generated projects' tests connect (DCT_REDIS_URL)."""
    from tests.helpers import REDIS  # tests/helpers.py imports this module where it needs it

    require_server("Redis", REDIS, 6379)
