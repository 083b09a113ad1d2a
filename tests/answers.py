"""The template's answers, and the answer sets the tests bake."""

from __future__ import annotations

import itertools
import json

import pytest

from tests.helpers import TEMPLATE_DIR

COOKIECUTTER_JSON = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())

PYTHON_VERSIONS: list[str] = COOKIECUTTER_JSON["python_version"]
OPTIONS = ("use_celery", "use_cron", "use_frontend")
DEFAULTS = {
    "python_version": PYTHON_VERSIONS[0],
    **{option: COOKIECUTTER_JSON[option] for option in OPTIONS},
    "deploy_target": COOKIECUTTER_JSON["deploy_target"][0],
}

# Every combination of the optional parts.
OPTION_SETS = [dict(zip(OPTIONS, values, strict=True)) for values in itertools.product([True, False], repeat=3)]
ALL_ON = dict.fromkeys(OPTIONS, True)
ALL_OFF = dict.fromkeys(OPTIONS, False)
# Every option set on the default Python, and the defaults on each other Python version.
VARIANTS = [*OPTION_SETS, *({"python_version": version} for version in PYTHON_VERSIONS[1:])]
# The deploy target changes only the deploy files: its sets are the default parts, every part on
# (worker, beat and cron manifests) and every part off (none of them).
KUBERNETES = {"deploy_target": "kubernetes"}
KUBERNETES_SETS = [KUBERNETES, {**ALL_ON, **KUBERNETES}, {**ALL_OFF, **KUBERNETES}]


def answer_id(answers: dict) -> str:
    """A short readable id: 'default', or e.g. 'celery-nocron-frontend-py3.12'."""
    if not answers:
        return "default"
    parts = []
    for key, value in sorted(answers.items()):
        if key.startswith("use_"):
            parts.append(("" if value else "no") + key.removeprefix("use_"))
        elif key == "python_version":
            parts.append(f"py{value}")
        elif key == "deploy_target":
            # Only the other target shows: the ids (and image tags) of webhook projects stay as they were.
            if value != DEFAULTS["deploy_target"]:
                parts.append(value)
        else:
            parts.append(f"{key}={value}")
    return "-".join(parts)


# Every combination of the optional parts on every supported Python version.
MATRIX = [{**options, "python_version": version} for version in PYTHON_VERSIONS for options in OPTION_SETS]


def with_answers(*answer_sets: dict) -> pytest.MarkDecorator:
    """Run a test once per answer set, each with its id: its `answers` and `project` fixtures
    (tests/conftest.py) follow. Decorate a test, or a whole module with `pytestmark`."""
    return pytest.mark.parametrize("answers", answer_sets, ids=answer_id, indirect=True)
