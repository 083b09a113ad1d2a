"""Stand-ins for the official images, for runs where no registry can be reached.

``STANDINS`` is the one table: official name -> how its stand-in is built. Each is a
Containerfile in tests/standin/ on a Debian root filesystem (tests/standin/build-rootfs.sh),
stored under the official docker.io name so that ``FROM python:3.13-slim-trixie`` and
``podman run postgres:17`` resolve to it with ``--pull=never``. A new stand-in is one row
and one Containerfile. Every stand-in carries a ``dct.standin.note`` label saying what it is.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.containers.podman import Podman, PodmanError, format_failure
from tests.helpers import BIN, TEMPLATE_DIR, cache_lock

STANDIN_DIR = TEMPLATE_DIR / "tests" / "standin"
ROOTFS_SCRIPT = STANDIN_DIR / "build-rootfs.sh"


class StandinUnavailable(RuntimeError):
    """A stand-in cannot be built on this machine; the message says why, in one line."""


def pyenv_root() -> Path:
    """Where pyenv keeps its builds: ``pyenv root``, else $PYENV_ROOT, else ~/.pyenv."""
    if shutil.which("pyenv"):
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip():
            return Path(found.stdout.strip())
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _uv_build(version: str) -> list[Path]:
    """The installation prefix of a Python that uv installed (``uv python install``), if any."""
    command = [str(BIN / "uv"), "python", "find", "--no-python-downloads", version]
    found = subprocess.run(command, capture_output=True, text=True, check=False) if (BIN / "uv").exists() else None
    return [Path(found.stdout.strip()).resolve().parent.parent] if found and found.returncode == 0 else []


def python_build(version: str) -> Path:
    """A relocatable build of Python X.Y on this machine: the newest pyenv build
    (``versions/X.Y.*``), else one that uv installed. Never the system's own /usr."""
    pyenv = sorted(
        (
            path
            for path in (pyenv_root() / "versions").glob(f"{version}.*")
            if re.fullmatch(r"\d+\.\d+\.\d+", path.name)
        ),
        key=lambda path: tuple(map(int, path.name.split("."))),
        reverse=True,
    )
    for prefix in [*pyenv, *_uv_build(version)]:
        if (
            prefix not in (Path("/usr"), Path("/usr/local"))
            and (prefix / "lib" / f"python{version}" / "os.py").exists()
        ):
            return prefix
    raise StandinUnavailable(
        f"no Python {version} interpreter for its stand-in: no pyenv build versions/{version}.* under "
        f"{pyenv_root()} and none installed by uv (pyenv install {version}, or uv python install {version})"
    )


def python_context(version: str) -> Callable[[Path | None], str]:
    """Puts a build of Python ``version`` (python_build) in the build context as python/,
    without its test suite; called with None, returns what identifies that build (cache key)."""

    def fill(context: Path | None) -> str:
        build = python_build(version)
        if context is not None:
            shutil.copytree(
                build, context / "python", symlinks=True, ignore=shutil.ignore_patterns("test", "idle_test")
            )
        return f"{build} {(build / 'bin' / f'python{version}').stat().st_size}"

    return fill


@dataclasses.dataclass(frozen=True)
class Standin:
    """How the stand-in for one official image is built."""

    suite: str  # the Debian release whose root filesystem it starts from
    containerfile: str  # in tests/standin/
    note: str  # what it is, for its label and the run's header
    files: tuple[str, ...] = ()  # more files of tests/standin/ that it copies in
    context: Callable[[Path | None], str] | None = None  # adds files to the build context
    build_args: tuple[tuple[str, str], ...] = ()


STANDINS: dict[str, Standin] = {
    "python:3.13-slim-trixie": Standin("trixie", "python-debian.Containerfile", "Debian trixie's python3"),
    "python:3.12-slim-trixie": Standin(
        "bookworm",
        "python-build.Containerfile",
        "this machine's 3.12 build on Debian bookworm",
        context=python_context("3.12"),
        build_args=(("PYTHON_VERSION", "3.12"),),
    ),
    "node:24-trixie-slim": Standin("trixie", "node.Containerfile", "Debian trixie's nodejs and npm (Node.js 20)"),
    "postgres:17": Standin(
        "trixie",
        "postgres.Containerfile",
        "Debian trixie's PostgreSQL 17",
        files=("postgres-entrypoint.sh",),
        build_args=(("PG_MAJOR", "17"),),
    ),
    "redis:8": Standin("trixie", "redis.Containerfile", "Debian trixie's redis-server"),
}


def _lacking(spec: Standin) -> str | None:
    """Why this machine lacks what the stand-in is built from (a Python build), or None."""
    try:
        if spec.context:
            spec.context(None)
    except StandinUnavailable as exc:
        return str(exc)
    return None


def missing() -> list[str]:
    """One line per stand-in whose inputs this machine lacks (a Python version without a build)."""
    return [f"{name}: {reason}" for name, spec in STANDINS.items() if (reason := _lacking(spec))]


def official(name: str) -> str:
    """The full name an official image is stored under: ``docker.io/library/<name>``."""
    return f"docker.io/library/{name}"


def python_image(version: str) -> str:
    """The official Python image the base image builds FROM (base-image/Dockerfile)."""
    return f"python:{version}-slim-trixie"


@functools.cache
def rootfs(podman: Podman, suite: str) -> str:
    """The Debian ``suite`` root filesystem (tests/standin/build-rootfs.sh, locked and cached)."""
    cmd = ["bash", str(ROOTFS_SCRIPT), suite]
    proc = subprocess.run(cmd, env=podman.env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise PodmanError(format_failure(cmd, proc))
    return proc.stdout.strip().splitlines()[-1]


def unavailable_reason(podman: Podman, name: str) -> str | None:
    """None when the stand-in for ``name`` is cached or can be built on this machine; else why not."""
    standin = STANDINS[name]
    lacking = _lacking(standin)
    if lacking:
        return lacking
    if podman.image_exists(f"localhost/dct-debian:{standin.suite}"):
        return None
    if os.geteuid() != 0:
        return f"the {standin.suite} root filesystem for the stand-ins is not cached and debootstrap needs root"
    if not shutil.which("debootstrap"):
        return f"the {standin.suite} root filesystem for the stand-ins is not cached and debootstrap is not installed"
    return None


@functools.cache
def standin(podman: Podman, name: str) -> str:
    """Build (or reuse) the stand-in for the official image ``name``; return its full tag.

    Its ``dct.test.key`` label hashes the Containerfile, the build args, what the context
    adds and the root filesystem's ID: when it matches, nothing is built.
    """
    spec = STANDINS[name]
    tag = official(name)
    base = rootfs(podman, spec.suite)
    files = [STANDIN_DIR / file for file in (spec.containerfile, *spec.files)]
    parts = [path.read_bytes() for path in files]
    parts += [repr(spec.build_args).encode(), podman.image_id(base).encode()]
    parts += [spec.context(None).encode()] if spec.context else []
    key = hashlib.sha256(b"\0".join(parts)).hexdigest()[:32]
    with cache_lock(f"standin-{name.replace(':', '-')}"):
        if podman.image_exists(tag) and podman.labels(tag).get("dct.test.key") == key:
            return tag
        with tempfile.TemporaryDirectory(prefix="dct-standin-", dir=podman.root) as scratch:
            context = Path(scratch)
            for path in files:
                shutil.copy2(path, context / path.name)
            if spec.context:
                spec.context(context)
            podman.build(
                context,
                tag,
                file=context / spec.containerfile,
                build_args={"ROOTFS": base, **dict(spec.build_args)},
                labels={
                    "dct.test.key": key,
                    "dct.standin.note": f"stand-in for {name}: {spec.note}; not the official image",
                },
            )
    return tag
