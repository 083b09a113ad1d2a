"""What the test modules share: running commands, the tools, the cache and its locks, PostgreSQL.

One definition of each, imported everywhere:

- ``run()``: a command with its output captured, failing the test with that output;
- ``tool()``: a command-line tool installed next to the suite's Python (requirements-dev.txt);
- ``CACHE_DIR``, ``cache_lock()`` and ``build_once()``: the one cache root (``$DCT_CACHE_DIR``,
  default ``~/.cache/django-container-template``), its flock(2) locks (pytest-xdist workers and
  the shell scripts under tests/ share them), and directories built once under a lock;
- ``POSTGRES`` and ``database_url()``: the PostgreSQL server and a database name per test and
  xdist worker, so that parallel runs never share Django's test database;
- ``REDIS``: the Redis server of the generated projects' broker (database 0) and cache (1).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import pytest
from filelock import FileLock
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CACHE_DIR = Path(os.environ.get("DCT_CACHE_DIR") or Path.home() / ".cache" / "django-container-template")
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
POSTGRES = os.environ.get("DCT_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("DCT_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/")  # without a database number


def environment(env: dict[str, str | None] | None = None) -> dict[str, str]:
    """This process's environment with env over it; a name given None is unset."""
    return {name: value for name, value in {**os.environ, **(env or {})}.items() if value is not None}


def run(
    command: Sequence[object],
    *,
    cwd: Path | str,
    env: dict[str, str | None] | None = None,
    timeout: float = 600,
    check: bool = True,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    """Run a command with text output captured, in environment(env); on failure (check) fail the
    test showing that output."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        input=input,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}",
            pytrace=False,
        )
    return result


def tool(name: str) -> Path:
    """A tool that requirements-dev.txt installs next to this Python (ruff, hadolint, cruft, ...)."""
    path = BIN / name
    if not path.exists():
        from tests.require import unavailable

        unavailable(f"{name} is not installed next to {sys.executable} (it is in requirements-dev.txt)")
    return path


def path_with(*directories: Path) -> dict[str, str]:
    """An environment whose PATH starts with these directories."""
    return {"PATH": os.pathsep.join([*map(str, directories), os.environ["PATH"]])}


def short_hash(*parts: object, length: int = 12) -> str:
    return hashlib.sha256("\0".join(map(str, parts)).encode()).hexdigest()[:length]


def database_url(*parts: object) -> str:
    """A PostgreSQL database of its own for this xdist worker and these parts (a test, an answer set)."""
    return f"{POSTGRES}/dct_{short_hash(WORKER, *parts)}"


@contextmanager
def cache_lock(name: str, timeout: float = 1800) -> Iterator[None]:
    """The exclusive lock ``<cache>/locks/<name>.lock``; flock(1) in tests/standin/*.sh takes the same."""
    path = CACHE_DIR / "locks" / f"{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path, timeout=timeout):
        yield


def build_once(directory: Path, build: Callable[[Path], None]) -> Path:
    """``directory``, made by ``build(directory)`` once: under a lock, and marked complete only when it
    succeeded, so that a build cut short is started again rather than used."""
    complete = directory / ".complete"
    if complete.exists():
        return directory
    with cache_lock(f"{directory.parent.name}-{directory.name}"):
        if not complete.exists():
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            build(directory)
            complete.touch()
    return directory


def tree_digest(root: Path, keep: Callable[[PurePosixPath], bool] = lambda relative: True) -> str:
    """SHA-256 of a tree: the name of every kept path below root, and each file's mode and bytes."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        relative = PurePosixPath(path.relative_to(root).as_posix())
        if keep(relative):
            digest.update(f"{relative}\0".encode())
            if path.is_file():
                digest.update(f"{path.stat().st_mode & 0o777:o}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def dockerfile_list_arg(project: Path, name: str) -> list[str]:
    """The words of the default of ``ARG NAME="..."`` in a project's Dockerfile (e.g. APP_FILES),
    alone or among the definitions of one ARG instruction."""
    import dockerfile  # the tests that read Dockerfiles need it; the others load nothing

    for command in dockerfile.parse_file(str(project / "Dockerfile")):
        for definition in command.value if command.cmd.upper() == "ARG" else ():
            if definition.startswith(f"{name}="):
                return definition.split("=", 1)[1].strip('"').split()
    raise AssertionError(f"the Dockerfile has no ARG {name}")


def dockerfile_stages(project: Path) -> list[dict]:
    """The Dockerfile's stages: image (ARG defaults from before the first FROM filled in),
    name, and the stage's instructions, each a continuation-joined line."""
    text = (project / "Dockerfile").read_text().replace("\\\n", " ")
    global_args: dict[str, str] = {}
    stages: list[dict] = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        instruction = words[0].upper()
        if instruction == "FROM":
            image, *rest = [word for word in words[1:] if not word.startswith("--")]
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: global_args.get(m[1] or m[2], ""), image)
            name = rest[1] if len(rest) == 2 and rest[0].upper() == "AS" else None
            stages.append({"image": image, "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append(line.strip())
        elif instruction == "ARG":
            key, _, default = words[1].partition("=")
            global_args[key] = default
    return stages


def requirement_entries(text: str) -> list[tuple[Requirement, list[str]]]:
    """(requirement, hashes) for each entry of a requirements file, in order: a universal lock
    lists a package once per set of markers. -c/-r lines and comments are left out."""
    entries = []
    for line in text.replace("\\\n", " ").splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        requirement, *options = line.split(" --")
        hashes = [option.removeprefix("hash=") for option in options if option.startswith("hash=")]
        entries.append((Requirement(requirement), hashes))
    return entries


def parse_requirements(text: str) -> dict[str, tuple[Requirement, list[str]]]:
    """name -> (requirement, hashes) for a requirements file, the last entry of each name."""
    entries = requirement_entries(text)
    return {canonicalize_name(requirement.name): (requirement, hashes) for requirement, hashes in entries}


def requirement_names(text: str) -> set[str]:
    """The canonical names a requirements file (.in or .txt) asks for."""
    return set(parse_requirements(text))


def dockerignore_patterns(project: Path) -> list[str]:
    """A project's .dockerignore lines, without blanks and comments, in order."""
    lines = (project / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
