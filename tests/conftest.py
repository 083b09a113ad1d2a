"""Shared fixtures: baking the template, and cached venvs for the generated projects."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.answers import DEFAULTS, answer_id
from tests.venvs import project_venv

# Data of the scenarios (a team's app with its own tests, for one): files to copy, not to collect.
collect_ignore = ["scenarios"]


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
