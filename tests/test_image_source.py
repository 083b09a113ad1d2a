"""Whether a run uses the official images or the stand-ins (tests/containers/registry.py):
asked of the registry once, with a short timeout, overridden by DCT_OFFLINE.

A real registry cannot be reached from the test machines: a local HTTP server answers /v2/
as a registry does (401, asking for a token), and the unreachable cases are a closed port and
a port that accepts connections but never answers.
"""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.containers import registry, standins
from tests.helpers import TEMPLATE_DIR


class RegistryHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(401 if self.path == "/v2/" else 404)
        self.send_header("Www-Authenticate", 'Bearer realm="http://127.0.0.1/token",service="registry"')
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_registry() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RegistryHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def through_proxy(server: str, **env: str) -> dict[str, str]:
    """GitLab's dependency proxy variables, pointing at ``server``."""
    prefix = f"{server}/agency/dependency_proxy/containers"
    return {"CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX": prefix, "CI_DEPENDENCY_PROXY_SERVER": server, **env}


def test_a_registry_that_asks_for_a_token_answers(local_registry):
    assert registry.registry_answers(f"http://{local_registry}/v2/") is None


def test_a_closed_port_does_not_answer(closed_port):
    reason = registry.registry_answers(f"http://{closed_port}/v2/")
    assert reason.startswith(f"http://{closed_port}/v2/ does not answer: ")
    assert "refused" in reason.lower()


def test_a_silent_registry_is_given_up_within_the_timeout(silent_server):
    start = time.monotonic()
    reason = registry.registry_answers(f"http://{silent_server}/v2/", timeout=1.0)
    assert "timed out" in (reason or "")
    assert time.monotonic() - start < 3


def test_offline_1_uses_the_stand_ins_without_asking(silent_server):
    start = time.monotonic()
    source = registry.detect(through_proxy(silent_server, DCT_OFFLINE="1"))
    assert time.monotonic() - start < 0.5
    assert not source.real
    assert source.describe().startswith("images: local stand-ins (DCT_OFFLINE=1): python:3.13-slim-trixie, ")


def test_without_a_registry_the_run_uses_the_stand_ins_and_says_why(closed_port):
    source = registry.detect(through_proxy(closed_port))
    assert not source.real
    assert f"https://{closed_port}/v2/ does not answer" in source.describe()
    assert "\n" not in source.describe()


def test_offline_0_without_a_registry_is_an_error(closed_port):
    with pytest.raises(registry.OfflineError, match=r"^DCT_OFFLINE=0 but the registry cannot be reached: "):
        registry.detect(through_proxy(closed_port, DCT_OFFLINE="0"))


def test_the_decision_reaches_the_workers_unchanged():
    source = registry.ImageSource(
        True, "GitLab's dependency proxy", "gitlab.example.com/agency/dp", "gitlab.example.com"
    )
    saved = os.environ.get(registry.HANDOVER)
    try:
        registry.hand_over(source)
        handed = subprocess.run(
            [sys.executable, "-c", "from tests.containers import registry; print(registry.image_source())"],
            cwd=TEMPLATE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.environ.pop(registry.HANDOVER)
        if saved is not None:
            os.environ[registry.HANDOVER] = saved
    assert handed.strip() == repr(source)


def test_a_run_with_offline_0_and_no_registry_stops_at_once_with_one_line(silent_server):
    env = {**os.environ, **through_proxy(silent_server, DCT_OFFLINE="0")}
    env.pop(registry.HANDOVER, None)
    start = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "tests/test_answers.py"],
        cwd=TEMPLATE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - start

    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        f"ERROR: DCT_OFFLINE=0 but the registry cannot be reached: https://{silent_server}/v2/ does not answer: "
    )
    assert line.endswith("timed out")
    assert result.stdout == ""
    assert elapsed < registry.PROBE_TIMEOUT + 10


def test_the_run_header_names_the_images():
    env = {**os.environ, "DCT_OFFLINE": "1"}
    env.pop(registry.HANDOVER, None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "tests/test_answers.py"],
        cwd=TEMPLATE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    expected = "images: local stand-ins (DCT_OFFLINE=1): " + ", ".join(standins.STANDINS)
    assert expected in result.stdout.splitlines()


def test_a_python_version_without_a_build_is_said_in_one_line():
    with pytest.raises(standins.StandinUnavailable) as raised:
        standins.python_build("3.99")
    assert str(raised.value).startswith("no Python 3.99 interpreter for its stand-in: no pyenv build versions/3.99.* ")
    assert "\n" not in str(raised.value)
