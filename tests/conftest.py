"""Shared fixtures: baking the template, and cached venvs for the generated projects."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.answers import DEFAULTS, answer_id
from tests.venvs import project_venv

TEMPLATE_DIR = Path(__file__).resolve().parent.parent


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
        key = answer_id(answers)
        if key not in baked:
            result = cookies_session.bake(extra_context=answers)
            assert result.exception is None, f"baking {key} failed: {result.exception!r}"
            baked[key] = result.project_path
        return baked[key]

    return bake_once


def answers_fixture(answer_sets: list[dict]):
    """A module-scoped `answers` fixture over these answer sets (the defaults filled in).

    A test module assigns it to `answers`; the `project` fixture below then bakes each set.
    """

    @pytest.fixture(params=answer_sets, ids=answer_id, scope="module")
    def answers(request) -> dict:
        return {**DEFAULTS, **request.param}

    return answers


@pytest.fixture(scope="module")
def project(answers, bake) -> Path:
    """The project baked from the module's `answers` (see answers_fixture)."""
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


def run(command, *, cwd, env=None, timeout=600, check=True) -> subprocess.CompletedProcess:
    """Run a command, capturing text output; on failure show what it printed."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}",
            pytrace=False,
        )
    return result
