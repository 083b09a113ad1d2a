"""Skip a test whose tool or service is missing, with the reason; in CI, fail instead.

CI sets DCT_REQUIRE_ALL=1 (see .ci/run): there every suite must really run, so a missing
podman, PostgreSQL, Redis or Python version is an error rather than a quiet skip.
"""

from __future__ import annotations

import os
import socket

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
