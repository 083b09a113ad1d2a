"""The isolated podman store of the template's tests and its configuration files.

Everything lives under ``<cache root>/podman/`` (tests/helpers.CACHE_DIR), so that cached
images survive between runs and fresh clones and a user's own podman images are never
touched:

* ``storage-<driver>.conf`` + ``<driver>/graph``: the image store (``CONTAINERS_STORAGE_CONF``).
  Driver: overlay where a probe build works, else vfs (much slower); the choice is kept in
  ``driver``. ``DCT_PODMAN_DRIVER=vfs|overlay`` forces one.
* ``containers-<driver>.conf`` (``CONTAINERS_CONF``): runtime runc (crun fails on the test
  machines' cgroups), cgroupfs, file events/logs (no systemd), ``default_ulimits`` at the
  current hard limits (root cannot raise them), and the netavark network backend with
  aardvark-dns, so that containers on a user-defined network find each other by name.
* ``registries.conf`` (``CONTAINERS_REGISTRIES_CONF``): short names resolve to docker.io, so
  ``FROM python:3.13-slim-trixie`` finds the image stored under its official name, whether
  pulled or a stand-in; builds always use ``--pull=never``.
* run root / tmp dir: short (on podman 4.3 a run root over 50 characters breaks, see
  MAX_RUN_DIR_LENGTH), under /run (or ``$XDG_RUNTIME_DIR``) so that a reboot clears stale
  container state.
* ``BUILDAH_FORMAT=docker``: the OCI format drops HEALTHCHECK.

podman 4.3 remembers a store's network backend in ``<graph>/defaultNetworkBackend`` when
the configuration names none; with ``network_backend`` set in containers.conf it follows
the configuration, and a store first used with CNI keeps its images (its CNI networks are
not carried over, the suite creates its networks per test).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.helpers import CACHE_DIR

#: podman 4.3 refuses a run root longer than 50 characters on its command line ("the specified
#: runroot is longer than 50 characters"), and conmon's exit command (`podman container cleanup`,
#: which gets the run root as a flag) then fails silently: every attached `podman run` hangs 20 s
#: ("Exceeded conmon timeout") and containers stay mounted. So the run directory is kept short.
#: The libpod database remembers the run root it was created with: changing it means a new store.
MAX_RUN_DIR_LENGTH = 40


def cache_dir() -> Path:
    """The podman cache directory: ``<cache root>/podman``."""
    return CACHE_DIR / "podman"


def write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text() == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def run_dir(root: Path) -> Path:
    """Runroot/tmp_dir parent: short, and on /run (cleared at boot) where it can be."""
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
    write_if_changed(
        path,
        "# Written by tests/containers/store.py: the template tests' isolated image store.\n"
        "[storage]\n"
        f"driver = {json.dumps(driver)}\n"
        f"graphroot = {json.dumps(str(root / driver / 'graph'))}\n"
        f"runroot = {json.dumps(str(run / driver))}\n",
    )
    return path


def _containers_conf(root: Path, driver: str, run: Path) -> Path:
    path = root / f"containers-{driver}.conf"
    write_if_changed(
        path,
        "# Written by tests/containers/store.py for the template tests' isolated podman.\n"
        "[containers]\n"
        f"default_ulimits = {_toml_list(_ulimits())}\n"
        'log_driver = "k8s-file"\n'
        "\n[engine]\n"
        'runtime = "runc"\n'
        'cgroup_manager = "cgroupfs"\n'
        'events_logger = "file"\n'
        f"tmp_dir = {json.dumps(str(run / 'tmp'))}\n"
        "\n[network]\n"
        "# netavark with aardvark-dns: containers on a user-defined network resolve each other's names.\n"
        'network_backend = "netavark"\n'
        f"network_config_dir = {json.dumps(str(_default_network(root)))}\n"
        "# User-defined networks from a range of this store's own (see _default_network).\n"
        f'default_subnet_pools = [{{base = "10.{100 + _store_byte(root) % 100}.0.0/16", size = 24}}]\n',
    )
    return path


def _store_byte(root: Path) -> int:
    return int(hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:2], 16)


def _default_network(root: Path) -> Path:
    """The network directory, with the default network ("podman") on a bridge and subnet of this
    store's own. netavark's built-in one (bridge podman0, 10.88.0.0/16) is shared by every podman
    on the host: where another podman uses CNI, its cni-podman0 holds 10.88.0.0/16 too, and with
    two routes to one subnet containers on either cannot reach past the host (DNS fails)."""
    directory = root / "networks"
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()
    third = _store_byte(root)
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
    write_if_changed(directory / "podman.json", json.dumps(network, indent=2) + "\n")
    return directory


def _registries_conf(root: Path) -> Path:
    path = root / "registries.conf"
    write_if_changed(
        path,
        "# Written by tests/containers/store.py: short names resolve to docker.io (pulled images\n"
        "# and stand-ins are stored under their docker.io names); builds pull nothing.\n"
        'unqualified-search-registries = ["docker.io"]\n'
        'short-name-mode = "permissive"\n'
        "[aliases]\n"
        '"python" = "docker.io/library/python"\n'
        '"node" = "docker.io/library/node"\n'
        '"postgres" = "docker.io/library/postgres"\n'
        '"redis" = "docker.io/library/redis"\n',
    )
    return path


def env_vars(root: Path, driver: str, run: Path) -> dict[str, str]:
    """The variables that point podman and buildah at the isolated store."""
    return {
        "CONTAINERS_STORAGE_CONF": str(_storage_conf(root, driver, run)),
        "CONTAINERS_CONF": str(_containers_conf(root, driver, run)),
        "CONTAINERS_REGISTRIES_CONF": str(_registries_conf(root)),
        "BUILDAH_FORMAT": "docker",
    }


def probe_driver(env: Mapping[str, str]) -> str | None:
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
