"""A generated project served by a real gunicorn, and the clients that probe it.

- ``serve()``: gunicorn started from the project's own ``gunicorn.conf.py`` in its cached venv,
  with the production settings, bound as the image binds it (0.0.0.0:$PORT);
- ``get()``: one HTTP request from a chosen local source address (127.0.0.1 is the default
  trusted proxy address; 127.0.0.2 is another client on the same machine);
- ``silent_server()``: a TCP server that accepts connections and never answers;
- ``SlowClient``: a client that sends its request headers one byte at a time, never finishing.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.containers.podman import free_port
from tests.helpers import POSTGRES, REDIS

TRUSTED = "127.0.0.1"
UNTRUSTED = "127.0.0.2"
SECRET_KEY = "k-" + hashlib.sha256(b"the service hardening tests' key").hexdigest()


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout: float = 15) -> float:
        """SIGTERM, as a container runtime stops it; the seconds until gunicorn exited."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        return time.monotonic() - started


def production_environment(venv: Path, port: int, static_root: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "HOME": os.environ.get("HOME", "/root"),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"{POSTGRES}/postgres",
        "CELERY_BROKER_URL": f"{REDIS}/0",
        "PORT": str(port),
        "STATIC_ROOT": str(static_root),
        "PYTHONWARNINGS": "error",
        **extra,
    }


def wait_serving(server: Server, timeout: float = 60) -> None:
    """Until gunicorn answers a first request (a worker has loaded Django), or fail with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited {server.process.returncode}:\n{server.output()[-4000:]}")
        try:
            get(server.port, timeout=max(1.0, deadline - time.monotonic()))
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer within {timeout} s:\n{server.output()[-4000:]}")


@contextmanager
def serve(
    project: Path, venv: Path, log_dir: Path, *args: str, app: str = "config.wsgi", **env: str
) -> Iterator[Server]:
    """gunicorn -c gunicorn.conf.py [args] app, in the project, until the block ends."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    static_root = log_dir / "staticfiles"  # collected where a test needs the pages' files
    static_root.mkdir(exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(venv / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", *args, app],
            cwd=project,
            env=production_environment(venv, port, static_root, **env),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(process, port, log)
    try:
        wait_serving(server)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=15)


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes
    seconds: float


def get(
    port: int,
    path: str = "/health/",
    *,
    headers: dict[str, str] | None = None,
    source: str = TRUSTED,
    timeout: float = 10,
) -> Answer:
    started = time.monotonic()
    connection = http.client.HTTPConnection(TRUSTED, port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return Answer(response.status, response.headers, response.read(), time.monotonic() - started)
    finally:
        connection.close()


@contextmanager
def silent_server() -> Iterator[int]:
    """A port on 127.0.0.1 where connections are accepted, read from and never answered."""
    listener = socket.create_server((TRUSTED, 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        listener.close()


class SlowClient:
    """Sends a request's headers a byte at a time, every ``interval`` seconds, until closed."""

    def __init__(self, port: int, interval: float = 0.3):
        self.socket = socket.create_connection((TRUSTED, port), timeout=10)
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.trickle, daemon=True)
        self.thread.start()

    def trickle(self) -> None:
        request = b"GET /health/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
        for byte in request:
            if self.stopped.wait(self.interval):
                return
            try:
                self.socket.send(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.socket.close()


@contextmanager
def slow_clients(port: int, count: int) -> Iterator[list[SlowClient]]:
    clients = [SlowClient(port) for _ in range(count)]
    try:
        yield clients
    finally:
        for client in clients:
            client.close()
