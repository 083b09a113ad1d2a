"""Venvs for generated projects, cached by the hash of their requirements.

Projects baked with the same Python version and the same pinned requirements share one
venv under the cache directory, so the suite installs each set once, not once per test.
Installs use uv (fast); a file lock keeps parallel xdist workers from racing.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.helpers import BIN, CACHE_DIR, REDIS, build_once, path_with, tool
from tests.require import REQUIRE_ALL, unavailable

REQUIREMENTS = ("requirements.txt", "requirements-test.txt")
# The tools run on a developer's machine, in a venv of their own (bin/setup-gitlab: python-gitlab).
TOOLS_REQUIREMENTS = ("requirements-tools.txt",)


def find_python(version: str) -> str | None:
    """An interpreter for version X.Y: this one, one installed by pyenv, or one on PATH."""
    candidates = [sys.executable] if sys.version_info[:2] == tuple(map(int, version.split("."))) else []
    candidates += sorted(glob.glob(str(Path.home() / f".pyenv/versions/{version}.*/bin/python{version}")), reverse=True)
    on_path = shutil.which(f"python{version}")
    if on_path and "/shims/" not in on_path:  # a pyenv shim fails unless that version is selected
        candidates.append(on_path)
    if not candidates:  # one that uv installed (`uv python install`, as .ci/run does where it can)
        command = [str(BIN / "uv"), "python", "find", "--no-python-downloads", version]
        found = subprocess.run(command, capture_output=True, text=True, check=False)
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(found.stdout.strip())
    return next(iter(candidates), None)


def requirements_key(project: Path, python_version: str, names: tuple[str, ...] = REQUIREMENTS) -> str:
    digest = hashlib.sha256(python_version.encode())
    for name in names:
        digest.update((project / name).read_bytes())
    return digest.hexdigest()[:16]


def install(venv: Path, python: str, project: Path, names: tuple[str, ...] = REQUIREMENTS) -> None:
    env = {**os.environ, "VIRTUAL_ENV": str(venv), "UV_PYTHON_DOWNLOADS": "never"}
    uv = tool("uv")
    subprocess.run([uv, "venv", "--quiet", "--allow-existing", "--python", python, str(venv)], check=True, env=env)
    requirements = [arg for name in names for arg in ("-r", str(project / name))]
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--compile-bytecode", "--require-hashes", *requirements],
        check=True,
        env=env,
    )


def project_venv(project: Path, python_version: str, names: tuple[str, ...] = REQUIREMENTS) -> Path:
    """A venv with these requirement files of the project (by default production and test)."""
    python = find_python(python_version)
    if python is None:
        unavailable(f"Python {python_version} is not installed (looked on PATH and in ~/.pyenv)")
    venv = CACHE_DIR / "venvs" / f"py{python_version}-{requirements_key(project, python_version, names)}"
    return build_once(venv, lambda directory: install(directory, python, project, names))


def project_environment(venv: Path, **extra: str | None) -> dict[str, str | None]:
    """What a generated project's commands run with (helpers.run; None unsets): its venv first on
    PATH, and the suite's own servers whatever a developer's shell exports, SQLite unless extra
    gives DATABASE_URL, and the broker (which a project without Celery ignores). In CI
    (DCT_REQUIRE_ALL=1) the project's service tests must not skip either."""
    services = {"REQUIRE_SERVICES": "1"} if REQUIRE_ALL else {}
    servers = {"DATABASE_URL": None, "CELERY_BROKER_URL": f"{REDIS}/0"}
    return {**path_with(venv / "bin"), "VIRTUAL_ENV": str(venv), **services, **servers, **extra}
