"""The running service under a careless network: the default project served by a real gunicorn
(its own gunicorn.conf.py, production settings, the cached venv) on 127.0.0.1.

- /health/ stays bounded when the database or the cache accepts connections and never answers,
  and when the PostgreSQL backend of the probe's open connection is stopped (SIGSTOP);
- a handful of slow clients do not take the workers (gthread), where sync workers fail;
- forwarding headers count only from FORWARDED_ALLOW_IPS (127.0.0.1 by default), in gunicorn
  and in Django;
- SIGTERM ends gunicorn before a container runtime's 10 s stop timeout;
- request bodies above MAX_REQUEST_BODY_SIZE are refused before they are read.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.helpers import POSTGRES, WORKER, short_hash
from tests.require import require_postgres
from tests.service import TRUSTED, UNTRUSTED, get, serve, silent_server, slow_clients

pytestmark = pytest.mark.services

HEALTH_TIMEOUT = 2.0
# What the base image's health check waits (HEALTHCHECK_TIMEOUT): a probe must answer sooner.
PROBE_BOUND = 5.0
BODY_LIMIT = 1024 * 1024


@pytest.fixture(scope="module")
def venv(project, answers, venv_for):
    require_postgres()
    return venv_for(project, answers["python_version"])


@pytest.fixture
def server(project, venv, tmp_path):
    """Start gunicorn with extra arguments and environment; stopped at the end of the test."""

    def start(*args, **env):
        return serve(project, venv, tmp_path, *args, HEALTH_CHECK_TIMEOUT=str(HEALTH_TIMEOUT), **env)

    return start


def assert_unhealthy(answer, component):
    assert answer.status == 503, answer.body
    assert answer.seconds < PROBE_BOUND, f"{answer.seconds:.1f} s"
    assert json.loads(answer.body)["checks"][component].startswith("error: "), answer.body


# ---- /health/ is bounded ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("component", "variable", "url"),
    [
        ("database", "DATABASE_URL", "postgres://nobody@127.0.0.1:{port}/nothing"),
        ("cache", "CACHE_URL", "redis://127.0.0.1:{port}/0"),
    ],
    ids=["database", "cache"],
)
def test_health_answers_503_in_seconds_when_a_server_accepts_but_never_answers(server, component, variable, url):
    with silent_server() as port, server(**{variable: url.format(port=port)}) as gunicorn:
        # Three probes in a row: the first waits for the check, the next find it still stuck.
        answers = [get(gunicorn.port) for _ in range(3)]

    for answer in answers:
        assert_unhealthy(answer, component)
    assert "WORKER TIMEOUT" not in gunicorn.output()


def backend_pids(application_name: str) -> list[int]:
    query = f"SELECT pid FROM pg_stat_activity WHERE application_name = '{application_name}'"
    result = subprocess.run(
        ["psql", f"{POSTGRES}/postgres", "-Atc", query], capture_output=True, text=True, check=True, timeout=30
    )
    return [int(line) for line in result.stdout.split()]


@contextmanager
def stopped_backend(application_name: str) -> Iterator[None]:
    """SIGSTOP the one PostgreSQL backend of that application, and always resume it."""
    (pid,) = backend_pids(application_name)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


@pytest.fixture
def kept_connection(server):
    """gunicorn (one worker) whose health probe has opened its connection, and the name to find it by."""
    name = f"dct-health-{short_hash(WORKER, os.getpid(), time.monotonic())}"
    with server(DATABASE_URL=f"{POSTGRES}/postgres?application_name={name}", WEB_CONCURRENCY="1") as gunicorn:
        assert get(gunicorn.port).status == 200  # the probe's connection is now open, and kept
        yield gunicorn, name


def test_health_answers_503_in_seconds_when_the_database_backend_is_stopped(kept_connection):
    gunicorn, name = kept_connection
    with stopped_backend(name):
        stopped = [get(gunicorn.port) for _ in range(2)]
    time.sleep(0.5)
    resumed = get(gunicorn.port)

    for answer in stopped:
        assert_unhealthy(answer, "database")
    assert resumed.status == 200, resumed.body


def test_a_probe_stuck_on_a_stopped_backend_does_not_delay_shutdown(kept_connection):
    gunicorn, name = kept_connection
    with stopped_backend(name):
        assert_unhealthy(get(gunicorn.port), "database")
        seconds = gunicorn.stop()

    assert seconds < 3, f"{seconds:.1f} s"


# ---- Slow clients ------------------------------------------------------------------------


def probe_repeatedly(port: int, count: int = 18) -> list[int | str]:
    """Health probes one after another, each allowed what the image's health check allows."""
    outcomes: list[int | str] = []
    for _ in range(count):
        try:
            outcomes.append(get(port, timeout=PROBE_BOUND).status)
        except OSError as error:
            outcomes.append(type(error).__name__)
        time.sleep(0.1)
    return outcomes


def test_a_handful_of_slow_clients_leave_the_health_probe_served(server):
    with server() as gunicorn, slow_clients(gunicorn.port, 6):
        time.sleep(1)
        outcomes = probe_repeatedly(gunicorn.port)

    assert outcomes == [200] * 18


def test_the_slow_client_test_fails_with_sync_workers(server):
    """The same test against gunicorn's sync workers (one thread each): two slow clients take both."""
    with server("--worker-class", "sync", "--threads", "1") as gunicorn, slow_clients(gunicorn.port, 2):
        time.sleep(1)
        outcomes = probe_repeatedly(gunicorn.port, count=2)

    assert 200 not in outcomes, outcomes


# ---- Forwarded headers -----------------------------------------------------------------

ECHO_APP = """
import json


def application(environ, start_response):
    seen = {key: value for key, value in environ.items() if "FORWARDED" in key or key == "HTTP_X_REAL_IP"}
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"scheme": environ["wsgi.url_scheme"], "headers": seen}).encode()]
"""

# Each forwarding header, and the scheme gunicorn gives the request when a trusted proxy sends it.
FORWARDING = [
    pytest.param({name: value}, scheme, id=name)
    for name, value, scheme in [
        ("X-Forwarded-Proto", "https", "https"),
        ("X-Forwarded-Ssl", "on", "https"),
        ("X-Forwarded-For", "203.0.113.9", "http"),
        ("X-Forwarded-Host", "forwarded.example", "http"),
        ("Forwarded", "for=203.0.113.9;proto=https", "http"),
    ]
]


@pytest.fixture
def echo(server, tmp_path):
    (tmp_path / "forwarded_echo.py").write_text(ECHO_APP)
    with server("--pythonpath", str(tmp_path), app="forwarded_echo:application") as gunicorn:
        yield gunicorn


@pytest.mark.parametrize(("headers", "trusted_scheme"), FORWARDING)
def test_gunicorn_passes_forwarding_headers_only_from_a_trusted_proxy(echo, headers, trusted_scheme):
    trusted = json.loads(get(echo.port, "/", headers=headers, source=TRUSTED).body)
    untrusted = json.loads(get(echo.port, "/", headers=headers, source=UNTRUSTED).body)

    name, value = next(iter(headers.items()))
    assert trusted == {"scheme": trusted_scheme, "headers": {f"HTTP_{name.upper().replace('-', '_')}": value}}
    assert untrusted == {"scheme": "http", "headers": {}}


def test_forwarded_allow_ips_names_the_proxy(server, tmp_path):
    (tmp_path / "forwarded_echo.py").write_text(ECHO_APP)
    app = "forwarded_echo:application"
    with server("--pythonpath", str(tmp_path), app=app, FORWARDED_ALLOW_IPS=f"{UNTRUSTED}/32") as gunicorn:
        from_proxy = json.loads(get(gunicorn.port, "/", headers={"X-Forwarded-Proto": "https"}, source=UNTRUSTED).body)
        from_local = json.loads(get(gunicorn.port, "/", headers={"X-Forwarded-Proto": "https"}, source=TRUSTED).body)

    assert from_proxy["scheme"] == "https"
    assert from_local == {"scheme": "http", "headers": {}}


@pytest.fixture
def django_behind_proxy(server):
    hosts = "127.0.0.1,forwarded.example"
    with server(ALLOWED_HOSTS=hosts, USE_X_FORWARDED_HOST="true", SECURE_SSL_REDIRECT="true") as gunicorn:
        yield gunicorn


@pytest.mark.parametrize("header", [{"X-Forwarded-Proto": "https"}, {"X-Forwarded-Ssl": "on"}], ids=["proto", "ssl"])
def test_django_sees_https_only_from_a_trusted_proxy(django_behind_proxy, header):
    trusted = get(django_behind_proxy.port, "/no-such-page/", headers=header, source=TRUSTED)
    untrusted = get(django_behind_proxy.port, "/no-such-page/", headers=header, source=UNTRUSTED)

    assert trusted.status == 404  # already HTTPS: no redirect
    assert untrusted.status == 301
    assert untrusted.headers["Location"].startswith("https://127.0.0.1:")


def test_django_uses_the_forwarded_host_only_from_a_trusted_proxy(django_behind_proxy):
    headers = {"Host": "direct.example", "X-Forwarded-Host": "forwarded.example", "X-Forwarded-Proto": "https"}
    trusted = get(django_behind_proxy.port, "/no-such-page/", headers=headers, source=TRUSTED)
    untrusted = get(django_behind_proxy.port, "/no-such-page/", headers=headers, source=UNTRUSTED)

    assert trusted.status == 404
    assert untrusted.status == 400  # direct.example is not an allowed host


# ---- Graceful shutdown -------------------------------------------------------------------


def test_sigterm_stops_gunicorn_before_a_container_runtimes_stop_timeout(server):
    with server() as gunicorn, slow_clients(gunicorn.port, 2):
        time.sleep(1)  # requests in flight, which never finish
        seconds = gunicorn.stop()

    assert gunicorn.process.returncode == 0, gunicorn.output()[-3000:]
    assert seconds < 10, f"{seconds:.1f} s"


# ---- Request bodies --------------------------------------------------------------------


def connect(port: int) -> socket.socket:
    return socket.create_connection((TRUSTED, port), timeout=30)


def read_status(sock: socket.socket, timeout: float) -> tuple[int, float]:
    """The status of the response on sock, and how long it took."""
    started = time.monotonic()
    sock.settimeout(timeout)
    received = b""
    while b"\r\n" not in received:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    return int(received.split(b" ", 2)[1]), time.monotonic() - started


def test_a_declared_length_above_the_limit_is_refused_without_reading_the_body(server):
    with server(MAX_REQUEST_BODY_SIZE=str(BODY_LIMIT)) as gunicorn, connect(gunicorn.port) as sock:
        sock.sendall(
            b"POST /upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Length: 10737418240\r\n\r\n"
        )
        status, seconds = read_status(sock, timeout=5)  # not one byte of the 10 GiB was sent

    assert status == 413
    assert seconds < 2


class ChunkedSender:
    """Sends an endless chunked body until the server closes the connection (or 512 MiB)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sent = 0
        self.error: OSError | None = None
        self.thread = threading.Thread(target=self.send, daemon=True)
        self.thread.start()

    def send(self) -> None:
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"
        try:
            self.sock.sendall(b"POST /upload/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n")
            while self.sent < 512 * 1024 * 1024:
                self.sock.sendall(chunk)
                self.sent += 0x10000
        except OSError as error:
            self.error = error


def test_a_chunked_body_past_the_limit_is_cut_off(server):
    with server(MAX_REQUEST_BODY_SIZE=str(BODY_LIMIT)) as gunicorn, connect(gunicorn.port) as sock:
        sender = ChunkedSender(sock)
        status, _ = read_status(sock, timeout=10)
        sender.thread.join(timeout=15)

    assert status == 413
    assert sender.error is not None, f"the server read on: {sender.sent} bytes"
    # The limit, gunicorn's bounded drain and the sockets' buffers; not the rest of the stream.
    assert sender.sent < BODY_LIMIT + 16 * 1024 * 1024
