"""What a team works with every day: pre-commit's checks, and .env.example against the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.answers import MATRIX, OPTION_SETS, with_answers
from tests.helpers import path_with, run
from tests.template_repo import Repo, git_environment

CONFIGURATION_HEADING = "## Configure it"
BACKTICKED = re.compile(r"`([A-Z][A-Z0-9_]*)`")


def configuration_table(readme: str) -> list[list[str]]:
    """The cells of the first table under the README's configuration heading, header row left out."""
    section = readme.split(CONFIGURATION_HEADING, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break  # the table has ended
    header, separator, *body = rows
    assert header[0] == "Variable", header
    assert set("".join(separator)) <= set("-: "), separator
    return body


def table_variables(project: Path) -> set[str]:
    rows = configuration_table((project / "README.md").read_text())
    return {name for row in rows for name in BACKTICKED.findall(row[0])}


def example_variables(project: Path) -> dict[str, str]:
    """NAME=value lines of .env.example (comments and blank lines left out)."""
    variables = {}
    for number, line in enumerate((project / ".env.example").read_text().splitlines(), start=1):
        if line.strip() and not line.startswith("#"):
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*=.*", line), f".env.example:{number}: not NAME=value: {line!r}"
            name, _, value = line.partition("=")
            assert name not in variables, f".env.example:{number}: {name} is there twice"
            variables[name] = value
    return variables


@with_answers(*OPTION_SETS)
def test_env_example_lists_exactly_the_variables_of_the_readme(project):
    in_table = table_variables(project)
    in_example = set(example_variables(project))

    assert "SECRET_KEY" in in_table
    assert sorted(in_table - in_example) == [], "in the README's table but not in .env.example"
    assert sorted(in_example - in_table) == [], "in .env.example but not in the README's table"


@with_answers(*OPTION_SETS)
def test_env_example_gives_no_secret(project):
    example = example_variables(project)

    assert example["SECRET_KEY"] == ""  # production refuses to start with an empty one
    assert example["SENTRY_DSN"] == ""
    for name, value in example.items():
        assert re.search(r":[^/@]+@", value) is None or "change-me" in value, f"{name} holds a password"


@pytest.mark.slow
@with_answers(*MATRIX)
def test_pre_commit_passes_on_a_fresh_project(answers, project, venv_for, tmp_path):
    venv = venv_for(project, answers["python_version"])
    repo = Repo(tmp_path / project.name, git_environment(tmp_path / "home"))
    run(["cp", "-a", project, repo.path], cwd=tmp_path)
    repo.init().commit("Generated")
    env = {**repo.env, **path_with(venv / "bin"), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")}

    result = run([venv / "bin" / "pre-commit", "run", "--all-files"], cwd=repo.path, env=env)

    assert re.search(r"ci/lint.*Passed", result.stdout), result.stdout
