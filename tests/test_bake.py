"""What every bake must produce, checked by parsing the output and by real tools."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

from tests.answers import ALL_OFF, ALL_ON, KUBERNETES, KUBERNETES_SETS, MATRIX, TEMPLATE_DIR, with_answers
from tests.helpers import BIN, parse_requirements, path_with, requirement_names, run, tool, tree_digest
from tests.require import unavailable

ANSWER_SETS = [
    {},
    *MATRIX,
    *KUBERNETES_SETS,
    {"project_name": "Acme Web-Shop 2", "timezone": "UTC", "domain_name": "shop.acme.example"},
]
TEMPLATE_SYNTAX = re.compile(r"\{\{-?\s*cookiecutter|\{%-?\s*(if|endif|for|raw)\b|cookiecutter\.")


def text_files(project: Path):
    for path in sorted(project.rglob("*")):
        if path.is_file():
            try:
                yield path, path.read_text()
            except UnicodeDecodeError:
                continue


@with_answers(*ANSWER_SETS)
def test_no_template_syntax_is_left(project):
    leftovers = [str(p.relative_to(project)) for p in project.rglob("*") if "cookiecutter" in p.name]
    leftovers += [str(p.relative_to(project)) for p, text in text_files(project) if TEMPLATE_SYNTAX.search(text)]
    assert leftovers == []


@with_answers(*ANSWER_SETS)
def test_python_is_ruff_clean(project):
    run([tool("ruff"), "check", "--no-cache", "."], cwd=project)
    run([tool("ruff"), "format", "--check", "--no-cache", "."], cwd=project)


@with_answers(*ANSWER_SETS)
def test_pyproject_pins_the_ruff_version_of_the_test_requirements(project):
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    ruff, _ = parse_requirements((project / "requirements-test.txt").read_text())["ruff"]
    assert pyproject["tool"]["ruff"]["required-version"] == str(ruff.specifier)


@with_answers(*ANSWER_SETS)
@pytest.mark.parametrize("name", ["requirements", "requirements-test", "requirements-tools"])
def test_requirements_are_compiled_from_their_in_file_and_pinned_with_hashes(project, name):
    wanted = requirement_names((project / f"{name}.in").read_text())
    compiled = parse_requirements((project / f"{name}.txt").read_text())
    assert wanted <= set(compiled)
    for requirement, hashes in compiled.values():
        assert [spec.operator for spec in requirement.specifier] == ["=="], requirement
        assert hashes, f"{requirement} has no hashes"
        assert all(h.startswith("sha256:") for h in hashes)


@with_answers(*ANSWER_SETS)
def test_optional_packages_come_only_with_their_option(project, answers):
    production = requirement_names((project / "requirements.txt").read_text())
    test = requirement_names((project / "requirements-test.txt").read_text())
    assert ("celery" in production) == answers["use_celery"]
    assert ("redis" in production) == answers["use_celery"]
    assert ("croniter" in test) == answers["use_cron"]


@with_answers(*ANSWER_SETS)
def test_python_version_is_used(project, answers):
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["requires-python"] == f"=={answers['python_version']}.*"
    assert pyproject["tool"]["ruff"]["target-version"] == "py" + answers["python_version"].replace(".", "")


@with_answers(*ANSWER_SETS)
def test_frontend_package_files_parse(project, answers):
    package_json = project / "frontend" / "package.json"
    assert package_json.exists() == answers["use_frontend"]
    if not answers["use_frontend"]:
        return
    package = json.loads(package_json.read_text())
    lock = json.loads((project / "frontend" / "package-lock.json").read_text())
    assert lock["name"] == package["name"]
    assert lock["packages"][""]["devDependencies"] == package["devDependencies"]
    assert "build" in package["scripts"]


@with_answers(ALL_ON, ALL_OFF, {**ALL_ON, **KUBERNETES})
def test_the_same_answers_bake_the_same_bytes(tmp_path, answers):
    first = cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path / "a"), extra_context=answers)
    second = cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path / "b"), extra_context=answers)
    assert tree_digest(Path(first)) == tree_digest(Path(second))


@pytest.mark.slow
@with_answers(ALL_ON, ALL_OFF)
def test_the_projects_own_relock_reproduces_the_shipped_lock_files(tmp_path, answers):
    """bin/lock-requirements gives the same files as the template ships, so relocks and cruft agree.

    Against PyPI: uv keeps the pins of the existing lock files (it reads them as preferences),
    so a relock that changes no .in file changes nothing even after new releases.
    """
    project = Path(cookiecutter(str(TEMPLATE_DIR), no_input=True, output_dir=str(tmp_path), extra_context=answers))
    shipped = {
        name: (project / name).read_bytes()
        for name in ("requirements.txt", "requirements-test.txt", "requirements-tools.txt")
    }
    env = {**path_with(BIN), "UV_PYTHON_DOWNLOADS": "never"}

    result = run(["bin/lock-requirements"], cwd=project, env=env, check=False)

    if result.returncode != 0 and "Failed to fetch" in result.stderr:
        unavailable(f"PyPI cannot be reached to relock: {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, result.stderr
    assert {name: (project / name).read_bytes() for name in shipped} == shipped
