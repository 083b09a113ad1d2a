"""Real linters on every generated variant: hadolint, shellcheck and the compose schema."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.answers import OPTION_SETS, with_answers
from tests.helpers import run, tool

pytestmark = with_answers(*OPTION_SETS)


def shell_scripts(project: Path) -> list[Path]:
    scripts = []
    for path in sorted(project.rglob("*")):
        if path.is_file() and "node_modules" not in path.parts:
            with path.open("rb") as file:
                first_line = file.readline()
            if first_line.startswith(b"#!") and (b"sh" in first_line.split(b"/")[-1]):
                scripts.append(path)
    return scripts


def test_dockerfile_passes_hadolint(project):
    run([tool("hadolint"), "--failure-threshold", "warning", "Dockerfile"], cwd=project)


def test_shell_scripts_pass_shellcheck(project):
    scripts = shell_scripts(project)
    assert project / "bin" / "run-tests" in scripts
    run([tool("shellcheck"), *scripts], cwd=project)


def test_compose_file_matches_the_compose_spec(project):
    run([tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "compose.yaml"], cwd=project)


def test_compose_secrets_exist_and_the_app_reads_them_as_files(project, answers):
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    for secret in compose["secrets"].values():
        assert (project / secret["file"]).is_file()
    web = compose["services"]["web"]
    assert web["environment"]["SECRET_KEY_FILE"] == "/run/secrets/secret_key"
    assert web["environment"]["DATABASE_URL_FILE"] == "/run/secrets/database_url"
    assert web["depends_on"]["db"] == {"condition": "service_healthy"}
    assert web["user"] == "${APP_UID:-1000}:${APP_GID:-1000}"
    assert web["build"]["target"] == "development"
    assert ".:/app" in web["volumes"]
    assert "healthcheck" in compose["services"]["db"]


def test_dockerfile_stages_each_have_a_comment(project):
    lines = (project / "Dockerfile").read_text().splitlines()
    for index, line in enumerate(lines):
        if line.startswith("FROM "):
            assert lines[index - 1].startswith("# "), f"stage without a one-line comment: {line}"
    assert not any(line.startswith("ADD ") for line in lines), "COPY, never ADD"
