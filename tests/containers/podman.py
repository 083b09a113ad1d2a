"""podman bound to the suite's isolated store (store.py): run, build, inspect, containers.

Networking (runc, measured on the Debian 12 test machine, podman 4.3)
    * ``--network=host``: the container shares the host's network, so it reaches services on
      the host's 127.0.0.1 (PostgreSQL on 5432) and its own listening port is a host port:
      pick one with ``free_port()``. For containers that need host services.
    * Port publishing ``-p 127.0.0.1:PORT:8000`` (bridge network): such a container cannot
      reach the host's 127.0.0.1. For self-contained containers.
    * A user-defined network (``Podman.network()``): containers on it reach each other by
      name (netavark and aardvark-dns).
    * ``--network=none`` for containers that need no network at all.

Health checks do not fire on their own without systemd timers: run them with
``Container.healthcheck()`` (``podman healthcheck run``).
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import json
import os
import shlex
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.containers import store
from tests.helpers import cache_lock


class PodmanError(RuntimeError):
    """A podman command failed; the message carries its command and output."""


def format_failure(cmd: Sequence[str], proc: subprocess.CompletedProcess) -> str:
    def tail(s: str | None) -> str:
        lines = (s or "").strip().splitlines()
        return "\n".join(lines[-40:])

    return (
        f"command failed with exit {proc.returncode}: {shlex.join(cmd)}\n"
        f"--- stdout (last 40 lines)\n{tail(proc.stdout)}\n"
        f"--- stderr (last 40 lines)\n{tail(proc.stderr)}"
    )


class Podman:
    """podman bound to the isolated store (tests/containers/store.py).

    ``env`` is the full environment for subprocesses (os.environ plus
    CONTAINERS_STORAGE_CONF, CONTAINERS_CONF, CONTAINERS_REGISTRIES_CONF and
    BUILDAH_FORMAT=docker); ``env_vars`` only the added variables.
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else store.cache_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        run = store.run_dir(self.root)
        with cache_lock("setup"):
            self.driver = self._choose_driver(run)
            self.env_vars = store.env_vars(self.root, self.driver, run)
        self.env = {**os.environ, **self.env_vars}

    def _choose_driver(self, run: Path) -> str:
        forced = os.environ.get("DCT_PODMAN_DRIVER")
        if forced:
            return forced
        choice = self.root / "driver"
        if choice.exists() and choice.read_text().strip() in ("overlay", "vfs"):
            return choice.read_text().strip()
        driver = "vfs"
        if shutil.which("podman"):
            if store.probe_driver({**os.environ, **store.env_vars(self.root, "overlay", run)}) is None:
                driver = "overlay"
            store.write_if_changed(choice, driver + "\n")
        return driver

    # -- running podman ----------------------------------------------------

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 600,
        input: str | None = None,
        program: str = "podman",
    ) -> subprocess.CompletedProcess:
        """Run ``podman ARGS`` (or another program on the same store, e.g. buildah) with text
        stdout/stderr captured; raises PodmanError if check and it fails."""
        cmd = [program, *map(str, args)]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise PodmanError(format_failure(cmd, proc))
        return proc

    def build(
        self,
        context: str | os.PathLike,
        tag: str,
        *,
        target: str | None = None,
        build_args: Mapping[str, str] | None = None,
        file: str | os.PathLike | None = None,
        labels: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
        check: bool = True,
        timeout: float = 1800,
        program: str = "podman",
    ) -> subprocess.CompletedProcess:
        """``podman build --pull=never --layers -t TAG CONTEXT`` (+ target, build args, -f, labels,
        extra); ``program="buildah"`` builds with buildah on the same store."""
        args = ["build", "--pull=never", "--layers", "-t", tag]
        if target:
            args += ["--target", target]
        if file:
            args += ["-f", str(file)]
        for key, value in (build_args or {}).items():
            args += ["--build-arg", f"{key}={value}"]
        for key, value in (labels or {}).items():
            args += ["--label", f"{key}={value}"]
        args += [*extra, str(context)]
        return self.run(*args, check=check, timeout=timeout, program=program)

    def image_exists(self, tag: str) -> bool:
        """True if the image is in the isolated store."""
        return self.run("image", "exists", tag, check=False).returncode == 0

    def inspect(self, ref: str) -> dict:
        """``podman inspect`` of one image or container, as a dict."""
        return json.loads(self.run("inspect", ref).stdout)[0]

    def labels(self, tag: str) -> dict[str, str]:
        """The image's labels (``Config.Labels``), {} if none."""
        return self.inspect(tag).get("Config", {}).get("Labels") or {}

    def image_id(self, tag: str) -> str:
        """The image's full ID."""
        return self.run("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()

    def image_size(self, tag: str) -> int:
        """The image's size in bytes (all layers)."""
        return int(self.run("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())

    def layers(self, tag: str) -> list[str]:
        """The image's layer diff IDs, oldest first (``RootFS.Layers``): equal IDs, equal content."""
        return self.inspect(tag)["RootFS"]["Layers"]

    def history(self, tag: str) -> list[dict]:
        """``podman history --format json`` (newest layer first): id, created_by, size, comment, ..."""
        return json.loads(self.run("history", "--no-trunc", "--format", "json", tag).stdout)

    def run_image(
        self,
        image: str,
        *cmd: str,
        options: Sequence[str] = (),
        check: bool = True,
        timeout: float = 300,
        input: str | None = None,
    ) -> subprocess.CompletedProcess:
        """``podman run --rm --no-healthcheck [OPTIONS] IMAGE [CMD...]`` in the foreground, output captured.

        ``--no-healthcheck``: a one-off command needs no health check, and without systemd podman
        would print errors about health check timers on stderr, mixed with the container's own.
        """
        interactive = ["-i"] if input is not None else []
        return self.run(
            "run",
            "--rm",
            "--no-healthcheck",
            *interactive,
            *options,
            image,
            *cmd,
            check=check,
            timeout=timeout,
            input=input,
        )

    @contextlib.contextmanager
    def network(self, name: str | None = None) -> Iterator[str]:
        """A user-defined network for the time of the block; yield its name."""
        name = name or f"dct-net-{uuid.uuid4().hex[:12]}"
        self.run("network", "create", name, timeout=60)
        try:
            yield name
        finally:
            self.run("network", "rm", "-f", name, check=False, timeout=120)

    @contextlib.contextmanager
    def container(
        self,
        image: str,
        *cmd: str,
        options: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        publish: Sequence[str] = (),
        network: str | None = None,
        name: str | None = None,
    ) -> Iterator[Container]:
        """Run IMAGE detached (``podman run -d``); yield a Container; always remove it.

        ``publish`` items go to ``-p`` (e.g. ``"127.0.0.1:8123:8000"``),
        ``network`` to ``--network`` (e.g. ``"host"``), ``options`` verbatim.
        """
        name = name or f"dct-test-{uuid.uuid4().hex[:12]}"
        args = ["run", "-d", "--name", name]
        for key, value in (env or {}).items():
            args += ["-e", f"{key}={value}"]
        for item in publish:
            args += ["-p", item]
        if network:
            args += ["--network", network]
        args += [*options, image, *cmd]
        try:
            self.run(*args, timeout=120)
            yield Container(self, name)
        finally:
            self.run("rm", "-f", "-t", "0", name, check=False, timeout=120)


class Container:
    """A running container started by ``Podman.container()``."""

    def __init__(self, podman: Podman, name: str):
        self.podman = podman
        self.name = name

    def exec(
        self, *cmd: str, options: Sequence[str] = (), check: bool = True, timeout: float = 300
    ) -> subprocess.CompletedProcess:
        """``podman exec [OPTIONS] NAME CMD...`` (note: exec bypasses the image's ENTRYPOINT)."""
        return self.podman.run("exec", *options, self.name, *cmd, check=check, timeout=timeout)

    def logs(self) -> str:
        """stdout and stderr of the container so far, combined."""
        proc = self.podman.run("logs", self.name, check=False)
        return proc.stdout + proc.stderr

    def inspect(self) -> dict:
        """``podman inspect`` of the container."""
        return self.podman.inspect(self.name)

    def is_running(self) -> bool:
        """True while the container's main process runs."""
        return bool(self.inspect().get("State", {}).get("Running"))

    def healthcheck(self) -> subprocess.CompletedProcess:
        """``podman healthcheck run NAME`` (check=False): returncode 0 = healthy."""
        return self.podman.run("healthcheck", "run", self.name, check=False, timeout=120)

    def wait(self, timeout: float = 60) -> int:
        """Wait for the container to exit; return its exit code."""
        proc = self.podman.run("wait", self.name, timeout=timeout)
        return int(proc.stdout.strip().splitlines()[-1])

    def wait_http(self, url_or_port: str | int, timeout: float = 60, **kw) -> int:
        """``wait_http()``, failing early with the logs if the container stops."""
        return wait_http(url_or_port, timeout, container=self, **kw)


# --------------------------------------------------------------------------
# networking helpers


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (for --network=host or -p)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(
    url_or_port: str | int,
    timeout: float = 60,
    *,
    container: Container | None = None,
    ok_statuses: Sequence[int] | None = None,
) -> int:
    """Poll an HTTP URL (or ``http://127.0.0.1:PORT/``) until it answers; return the status.

    Any HTTP status counts as an answer unless ``ok_statuses`` is given. With
    ``container``, raises PodmanError (with its logs) as soon as it stops.
    Raises TimeoutError after ``timeout`` seconds.
    """
    url = f"http://127.0.0.1:{url_or_port}/" if isinstance(url_or_port, int) else url_or_port
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, http.client.HTTPException) as exc:
            status, last = None, exc
        if status is not None:
            if ok_statuses is None or status in ok_statuses:
                return status
            last = f"HTTP {status}"
        if container is not None and not container.is_running():
            raise PodmanError(
                f"container {container.name} stopped while waiting for {url}:\n{container.logs()[-4000:]}"
            )
        time.sleep(0.25)
    logs = f"\n--- container logs\n{container.logs()[-4000:]}" if container else ""
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s (last: {last}){logs}")


# --------------------------------------------------------------------------
# availability


@functools.cache
def unavailable_reason() -> str | None:
    """None when podman with runc works with the isolated store; else why not (tests/require.unavailable)."""
    if not shutil.which("podman"):
        return "podman is not installed (apt-get install podman runc)"
    if not shutil.which("runc") and not Path("/usr/sbin/runc").exists():
        return "runc is not installed (apt-get install runc); crun does not work on this kernel"
    try:
        podman = Podman()
        proc = podman.run("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, timeout=120)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"podman does not work with the isolated store: {exc}"
    if proc.returncode != 0:
        return f"`podman info` fails with the isolated store: {proc.stderr.strip()[-500:]}"
    if proc.stdout.strip() != "runc":
        return f"podman uses runtime {proc.stdout.strip()!r}, expected runc"
    return None
