"""Drive podman for the template's tests, in an isolated, cached image store.

Import it from tests (``from tests.podman import ...``); it has no test functions
and needs nothing beyond the standard library. ``python3 tests/podman.py env`` prints the
environment as shell exports (``scripts/podman-env`` uses that).

The isolated store
    Everything lives under ``$DCT_CACHE_DIR/podman/`` (default
    ``~/.cache/django-container-template/podman/``) so that cached images
    survive between test runs and fresh clones, and a user's own podman
    images are never touched:

    * ``storage-<driver>.conf`` + ``<driver>/graph``: the image store
      (``CONTAINERS_STORAGE_CONF``). Driver: overlay when a probe build works
      here, else vfs (much slower); the choice is kept in ``driver``.
      ``DCT_PODMAN_DRIVER=vfs|overlay`` forces one.
    * ``containers-<driver>.conf`` (``CONTAINERS_CONF``): runtime runc (crun fails on
      this kernel's cgroups), cgroupfs, file events/logs (no systemd), and
      ``default_ulimits`` at the current hard limits (root cannot raise them).
    * ``registries.conf`` (``CONTAINERS_REGISTRIES_CONF``): short names
      resolve to docker.io, so ``FROM python:3.13-slim-trixie`` finds the
      local stand-in; builds always use ``--pull=never``.
    * runroot/tmp dir: short (podman 4.3 breaks with a run root over 50
      characters, see MAX_RUN_DIR_LENGTH), under /run (or ``$XDG_RUNTIME_DIR``)
      so that a reboot clears stale container state.
    * ``BUILDAH_FORMAT=docker``: the OCI format drops HEALTHCHECK.

Networking (runc, netavark; measured on the Debian 12 test machine)
    * ``--network=host`` works: the container shares the host's network, so
      it reaches services on the host's 127.0.0.1 (PostgreSQL on 5432) and
      its own listening port is a host port: pick one with ``free_port()``
      and pass it to the server (and ``HEALTHCHECK_PORT``). Use this for
      containers that need host services.
    * Port publishing ``-p 127.0.0.1:PORT:8000`` works (bridge network), but
      such a container cannot reach the host's 127.0.0.1. Use it for
      self-contained containers.
    * ``--network=none`` for containers that need no network at all.

Health checks do not fire on their own here (no systemd timers): run them
with ``Container.healthcheck()`` (``podman healthcheck run``).

Stand-in base image
    No registry is reachable, so ``standin_python()`` builds a cached
    stand-in for ``docker.io/library/python:3.13-slim-trixie`` from Debian
    trixie (tests/standin/build-standin.sh); about a minute once, then cached.

Concurrency
    Builds are guarded by flock(2) locks in ``<cache>/podman/locks/`` and are
    idempotent: under pytest-xdist the second worker waits and reuses.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.client
import json
import os
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

from tests.helpers import CACHE_DIR, cache_lock

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_IMAGE_DIR = REPO_ROOT / "base-image"
STANDIN_SCRIPT = REPO_ROOT / "tests" / "standin" / "build-standin.sh"

#: Local tag of the base image built by ``base_image()`` (``{python}`` filled in).
BASE_IMAGE_TAG = "localhost/django-base-image:{python}"

#: OCI label build args that ``base_image()`` passes. Fixed values, so the
#: base image (and every project image built on it) stays cached between runs.
BASE_IMAGE_LABEL_ARGS = {
    "IMAGE_SOURCE": "https://example.invalid/agency/django-container-template",
    "IMAGE_REVISION": "0000000000000000000000000000000000000000",
    "IMAGE_CREATED": "2000-01-01T00:00:00Z",
    "IMAGE_VERSION": "test",
}


def cache_dir() -> Path:
    """The podman cache directory: ``<cache root>/podman`` (tests/helpers.py)."""
    return CACHE_DIR / "podman"


# --------------------------------------------------------------------------
# configuration files


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


#: podman 4.3 refuses a run root longer than 50 characters on its command line ("the specified
#: runroot is longer than 50 characters"), and conmon's exit command (`podman container cleanup`,
#: which gets the run root as a flag) then fails silently: every attached `podman run` hangs 20 s
#: ("Exceeded conmon timeout") and containers stay mounted. So the run directory is kept short.
#: The libpod database remembers the run root it was created with: changing it means a new store.
MAX_RUN_DIR_LENGTH = 40


def _run_dir(root: Path) -> Path:
    """Runroot/tmp_dir parent: short, and on /run (cleared at boot) when possible."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:8]
    uid = os.geteuid()
    candidates = [Path("/run") / f"dct-podman-{digest}"] if uid == 0 else []
    if uid != 0 and os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(os.environ["XDG_RUNTIME_DIR"]) / f"dct-podman-{digest}")
    candidates.append(Path("/tmp") / f"dct-podman-{uid}-{digest}")
    for candidate in candidates:
        if len(str(candidate)) > MAX_RUN_DIR_LENGTH:
            continue
        try:
            candidate.mkdir(mode=0o700, parents=True, exist_ok=True)
            return candidate
        except OSError:
            continue
    raise RuntimeError(f"no short writable run directory among {[str(c) for c in candidates]}")


def _ulimits() -> list[str]:
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[1]
    nproc = 32768 if nproc == resource.RLIM_INFINITY else min(nproc, 32768)
    limits = [f"nproc={nproc}:{nproc}"]
    if nofile != resource.RLIM_INFINITY:
        limits.insert(0, f"nofile={nofile}:{nofile}")
    return limits


def _toml_list(items: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def _storage_conf(root: Path, driver: str, run: Path) -> Path:
    path = root / f"storage-{driver}.conf"
    _write_if_changed(
        path,
        "# Written by tests/podman.py: the template tests' isolated image store.\n"
        "[storage]\n"
        f"driver = {json.dumps(driver)}\n"
        f"graphroot = {json.dumps(str(root / driver / 'graph'))}\n"
        f"runroot = {json.dumps(str(run / driver))}\n",
    )
    return path


def _containers_conf(root: Path, driver: str, run: Path) -> Path:
    path = root / f"containers-{driver}.conf"
    _write_if_changed(
        path,
        "# Written by tests/podman.py for the template tests' isolated podman.\n"
        "[containers]\n"
        f"default_ulimits = {_toml_list(_ulimits())}\n"
        'log_driver = "k8s-file"\n'
        "\n[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f"tmp_dir = {json.dumps(str(run / 'tmp'))}\n"
        "\n[network]\n"
        # netavark, for DNS between containers (aardvark-dns: compose services by name).
        'network_backend = "netavark"\n'
        f"network_config_dir = {json.dumps(str(_default_network(root)))}\n",
    )
    return path


def _default_network(root: Path) -> Path:
    """The network directory, with the default network ("podman") on a bridge and subnet of this store's
    own. netavark's built-in one (bridge podman0, 10.88.0.0/16) is shared by every podman on the host: where
    another podman uses CNI, its cni-podman0 keeps 10.88.0.0/16 too, and the two routes cut both off."""
    directory = root / "networks"
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()
    third = int(digest[:2], 16)
    network = {
        "name": "podman",
        "id": digest,
        "driver": "bridge",
        "network_interface": f"dct{digest[:8]}",
        "created": "2000-01-01T00:00:00Z",
        "subnets": [{"subnet": f"10.87.{third}.0/24", "gateway": f"10.87.{third}.1"}],
        "ipv6_enabled": False,
        "internal": False,
        "dns_enabled": False,
        "ipam_options": {"driver": "host-local"},
    }
    _write_if_changed(directory / "podman.json", json.dumps(network, indent=2) + "\n")
    return directory


def _registries_conf(root: Path) -> Path:
    path = root / "registries.conf"
    _write_if_changed(
        path,
        "# Written by tests/podman.py: short names resolve to docker.io (the\n"
        "# stand-in images are stored under docker.io names); nothing is pulled.\n"
        'unqualified-search-registries = ["docker.io"]\n'
        'short-name-mode = "permissive"\n'
        "[aliases]\n"
        '"python" = "docker.io/library/python"\n',
    )
    return path


def _env_vars(root: Path, driver: str, run: Path) -> dict[str, str]:
    return {
        "CONTAINERS_STORAGE_CONF": str(_storage_conf(root, driver, run)),
        "CONTAINERS_CONF": str(_containers_conf(root, driver, run)),
        "CONTAINERS_REGISTRIES_CONF": str(_registries_conf(root)),
        "BUILDAH_FORMAT": "docker",
    }


def _probe_driver(env: Mapping[str, str]) -> str | None:
    """Build a two-layer image from scratch: None if it works, else the error."""
    with tempfile.TemporaryDirectory(prefix="dct-probe-") as ctx:
        Path(ctx, "a").write_text("a\n")
        Path(ctx, "b").write_text("b\n")
        Path(ctx, "Containerfile").write_text("FROM scratch\nCOPY a /a\nCOPY b /b\n")
        tag = f"localhost/dct-driver-probe:{uuid.uuid4().hex[:8]}"
        try:
            proc = subprocess.run(
                ["podman", "build", "--pull=never", "--layers=false", "-t", tag, ctx],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return str(exc)
        subprocess.run(["podman", "rmi", "-f", tag], env=env, capture_output=True, timeout=60)
        return None if proc.returncode == 0 else (proc.stderr.strip() or proc.stdout.strip())


# --------------------------------------------------------------------------
# the Podman wrapper


class PodmanError(RuntimeError):
    """A podman command failed; the message carries its command and output."""


def _format_failure(cmd: Sequence[str], proc: subprocess.CompletedProcess) -> str:
    def tail(s: str | None) -> str:
        lines = (s or "").strip().splitlines()
        return "\n".join(lines[-40:])

    return (
        f"command failed with exit {proc.returncode}: {shlex.join(cmd)}\n"
        f"--- stdout (last 40 lines)\n{tail(proc.stdout)}\n"
        f"--- stderr (last 40 lines)\n{tail(proc.stderr)}"
    )


class Podman:
    """podman bound to the isolated store (see the module docstring).

    ``env`` is the full environment for subprocesses (os.environ plus
    CONTAINERS_STORAGE_CONF, CONTAINERS_CONF, CONTAINERS_REGISTRIES_CONF and
    BUILDAH_FORMAT=docker); ``env_vars`` only the added variables.
    """

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root else cache_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        run = _run_dir(self.root)
        with cache_lock("setup"):
            self.driver = self._choose_driver(run)
            self.env_vars = _env_vars(self.root, self.driver, run)
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
            if _probe_driver({**os.environ, **_env_vars(self.root, "overlay", run)}) is None:
                driver = "overlay"
            _write_if_changed(choice, driver + "\n")
        return driver

    # -- running podman ----------------------------------------------------

    def run(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 600,
        input: str | None = None,
    ) -> subprocess.CompletedProcess:
        """Run ``podman ARGS`` with text stdout/stderr captured; raises PodmanError if check and it fails."""
        cmd = ["podman", *map(str, args)]
        proc = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise PodmanError(_format_failure(cmd, proc))
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
    ) -> subprocess.CompletedProcess:
        """``podman build --pull=never --layers -t TAG CONTEXT`` (+ target, build args, -f, labels, extra)."""
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
        return self.run(*args, check=check, timeout=timeout)

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


_reason_cache: list[str | None] = []


def unavailable_reason() -> str | None:
    """None when podman with runc works here (isolated store); else why not, for pytest.skip."""
    if _reason_cache:
        return _reason_cache[0]
    reason = _unavailable_reason()
    _reason_cache.append(reason)
    return reason


def _unavailable_reason() -> str | None:
    if not shutil.which("podman"):
        return "podman is not installed (apt-get install podman runc)"
    if not shutil.which("runc") and not Path("/usr/sbin/runc").exists():
        return "runc is not installed (apt-get install runc); crun does not work on this kernel"
    try:
        podman = Podman()
        proc = podman.run("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, timeout=120)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"podman does not work here: {exc}"
    if proc.returncode != 0:
        return f"`podman info` fails with the isolated store: {proc.stderr.strip()[-500:]}"
    if proc.stdout.strip() != "runc":
        return f"podman uses runtime {proc.stdout.strip()!r}, expected runc"
    if not _standin_cached(podman, "3.13"):
        if os.geteuid() != 0:
            return "the python stand-in image is not cached and building it (debootstrap) needs root"
        if not shutil.which("debootstrap"):
            return "the python stand-in image is not cached and debootstrap is not installed"
    return None


# --------------------------------------------------------------------------
# stand-in python image and the base image


_standin_done: dict[str, str] = {}


def _standin_cached(podman: Podman, version: str) -> bool:
    return podman.image_exists(f"docker.io/library/python:{version}-slim-trixie")


def standin_python(podman: Podman, version: str = "3.13") -> str:
    """Ensure the cached stand-in for ``python:<version>-slim-trixie`` exists; return its tag.

    Runs tests/standin/build-standin.sh (locked, cached by a content hash):
    about a minute the first time, a fraction of a second after that.
    """
    if version in _standin_done:
        return _standin_done[version]
    cmd = ["bash", str(STANDIN_SCRIPT), version]
    proc = subprocess.run(cmd, env=podman.env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise PodmanError(_format_failure(cmd, proc))
    tag = proc.stdout.strip().splitlines()[-1]
    _standin_done[version] = tag
    return tag


@dataclasses.dataclass(frozen=True)
class CronRunnerChoice:
    """How ``base_image()`` builds the cron runner (supercronic).

    ``install``: whether supercronic is in the test image; ``note``: a
    sentence saying which and why, for skip reasons and test reports.
    """

    install: bool
    note: str

    @property
    def build_args(self) -> dict[str, str]:
        return {"INSTALL_SUPERCRONIC": "true" if self.install else "false"}


def cron_runner_choice() -> CronRunnerChoice:
    """The cron runner choice for test builds, from ``DCT_SUPERCRONIC``.

    supercronic is only published as a GitHub release binary (Debian trixie
    has no package), and GitHub is not reachable from the test machines, so
    by default the tests build the base image with INSTALL_SUPERCRONIC=false.
    Set ``DCT_SUPERCRONIC=github`` where GitHub is reachable to include it.
    """
    value = os.environ.get("DCT_SUPERCRONIC", "").strip().lower()
    if value in ("github", "1", "true", "yes"):
        return CronRunnerChoice(
            True, "supercronic installed from its GitHub release (DCT_SUPERCRONIC=github), checked by sha1sum"
        )
    return CronRunnerChoice(
        False,
        "supercronic LEFT OUT of the test base image "
        "(INSTALL_SUPERCRONIC=false): it is only published on GitHub, "
        "which is not reachable here, and Debian trixie has no "
        "supercronic package; set DCT_SUPERCRONIC=github to include it",
    )


def _tree_digest(root: Path) -> str:
    """Hash of the files that can change the build (documentation left out)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".md"):
        rel = path.relative_to(root).as_posix()
        digest.update(f"{rel}\0{path.stat().st_mode & 0o777:o}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def base_image_build_args(python_version: str = "3.13", cron: CronRunnerChoice | None = None) -> dict[str, str]:
    """The build args ``base_image()`` passes (Python version, cron choice, fixed OCI label values)."""
    cron = cron or cron_runner_choice()
    return {"PYTHON_VERSION": python_version, **cron.build_args, **BASE_IMAGE_LABEL_ARGS}


_base_done: dict[tuple, str] = {}


def base_image(podman: Podman, python_version: str = "3.13") -> str:
    """Build base-image/ on the stand-in (locked, cached); return its tag.

    The tag is ``localhost/django-base-image:<python_version>``. Build args:
    ``base_image_build_args()``; which cron runner was used:
    ``cron_runner_choice()``. The image carries a ``dct.test.key`` label
    hashing base-image/, the build args and the stand-in's ID; when it
    matches, nothing is built (repeat calls cost one ``podman inspect``).
    """
    cron = cron_runner_choice()
    memo = (python_version, cron)
    if memo in _base_done:
        return _base_done[memo]
    standin = standin_python(podman, python_version)
    tag = BASE_IMAGE_TAG.format(python=python_version)
    build_args = base_image_build_args(python_version, cron)
    key = hashlib.sha256(
        json.dumps([_tree_digest(BASE_IMAGE_DIR), build_args, podman.image_id(standin)], sort_keys=True).encode()
    ).hexdigest()[:32]
    with cache_lock(f"base-image-{python_version}"):
        old_id = podman.image_id(tag) if podman.image_exists(tag) else None
        if not (old_id and podman.labels(tag).get("dct.test.key") == key):
            podman.build(BASE_IMAGE_DIR, tag, build_args=build_args, labels={"dct.test.key": key})
            if old_id:  # fails harmlessly while other images still use it
                podman.run("rmi", old_id, check=False)
    _base_done[memo] = tag
    return tag


# --------------------------------------------------------------------------
# command line: python3 tests/podman.py env|standin|base


def main(argv: Sequence[str]) -> int:
    usage = (
        "usage: podman.py env      print the isolated environment as shell exports\n"
        "       podman.py standin  build/reuse the python stand-in, print its tag\n"
        "       podman.py base     build/reuse the base image, print its tag"
    )
    if len(argv) != 1 or argv[0] not in ("env", "standin", "base"):
        print(usage, file=sys.stderr)
        return 2
    podman = Podman()
    if argv[0] == "env":
        for key, value in podman.env_vars.items():
            print(f"export {key}={shlex.quote(value)}")
    elif argv[0] == "standin":
        print(standin_python(podman))
    else:
        print(base_image(podman))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
