"""Shared fixtures: baking the template, cached venvs for the generated projects, the built frontend."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.answers import DEFAULTS, answer_id
from tests.containers import registry, standins
from tests.helpers import CACHE_DIR, build_once, run, tree_digest
from tests.require import unavailable
from tests.venvs import project_venv

# Data of the scenarios (a team's app with its own tests, for one): files to copy, not to collect.
collect_ignore = ["scenarios"]


def pytest_configure(config):
    """The run's images (official or stand-ins) are decided once, by the controller, and handed
    to the pytest-xdist workers; with DCT_OFFLINE=0 and no registry the run stops with one line."""
    if hasattr(config, "workerinput"):
        return
    try:
        registry.hand_over(registry.image_source())
    except registry.OfflineError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config) -> list[str]:
    """Which images the run uses, and each stand-in that cannot be built on this machine (its tests skip,
    or fail under DCT_REQUIRE_ALL=1)."""
    source = registry.image_source()
    return [source.describe(), *([] if source.real else standins.missing())]


def pytest_collection_modifyitems(config, items):
    """Tests that talk to a service or build images are slow: mark them so."""
    for item in items:
        if item.get_closest_marker("container") or item.get_closest_marker("services"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def bake(cookies_session):
    """Bake the template once per answer set (per xdist worker) and return the project path."""
    baked: dict[str, Path] = {}

    def bake_once(**answers) -> Path:
        key = answer_id({**DEFAULTS, **answers})
        if key not in baked:
            result = cookies_session.bake(extra_context=answers)
            assert result.exception is None, f"baking {key} failed: {result.exception!r}"
            baked[key] = result.project_path
        return baked[key]

    return bake_once


@pytest.fixture(scope="module")
def answers(request) -> dict:
    """The answers of the test's project: the defaults, with the answer set that `with_answers()`
    (tests/answers.py) gives the test or its module filled in."""
    return {**DEFAULTS, **getattr(request, "param", {})}


@pytest.fixture(scope="module")
def project(answers, bake) -> Path:
    """The project baked from `answers`."""
    return bake(**answers)


@pytest.fixture(scope="session")
def default_project(bake) -> Path:
    return bake()


@pytest.fixture(scope="session")
def venv_for(bake):
    """A venv with the project's pinned requirements, cached by their hash (see tests/venvs.py)."""

    def venv(project: Path, python_version: str = DEFAULTS["python_version"]) -> Path:
        return project_venv(project, python_version)

    return venv


@pytest.fixture(scope="session")
def frontend_build(bake) -> Path:
    """The default project's frontend/, after `npm ci && npm run build`: once per session
    (per xdist worker, and cached by the frontend's hash across them), with npm's cache
    under the template's cache directory."""
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm is not installed (Debian: apt-get install nodejs npm)")
    source = bake() / "frontend"
    env = {"npm_config_cache": str(CACHE_DIR / "npm"), "npm_config_update_notifier": "false"}

    def npm_build(build: Path) -> None:
        shutil.copytree(source, build, dirs_exist_ok=True)
        run([npm, "ci", "--no-audit", "--no-fund"], cwd=build, env=env)
        run([npm, "run", "build"], cwd=build, env=env)

    sources = tree_digest(source, keep=lambda relative: "dist" not in relative.parts)  # not a build's output
    return build_once(CACHE_DIR / "frontend-builds" / sources[:16], npm_build)
