"""docs/onboarding.md: every step is a command the tests check.

The commands are taken from the doc's `sh` code blocks (shlex, one command a line) and each
is checked against the real thing: make targets against make's own database of the
project's Makefile, git and cruft subcommands and their options against the tools' usage,
the project's scripts (they exist, and take the options) and the files they read, and the
environment variables against what the project reads. The release-candidate tag it shows
must be one the pipeline deploys to acceptance and bin/setup-gitlab protects.
"""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.answers import DEFAULTS
from tests.fake_gitlab import wildcard_matches
from tests.gitlab import gitlab_settings, tag_patterns
from tests.helpers import run, tool
from tests.require import unavailable
from tests.venvs import TOOLS_REQUIREMENTS, project_venv

FENCE = re.compile(r"^```sh\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
SECTION = re.compile(r"^## (?P<title>.+)$", re.MULTILINE)
OPERATORS = {"&&", "||", "|", ";", ">", ">>", "<"}
ASSIGNMENT = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)=")
# Read by Django's `createsuperuser --noinput`, which `make superuser` runs.
DJANGO_SUPERUSER = {"DJANGO_SUPERUSER_USERNAME", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"}
# Placeholders the reader fills in, explained next to them in the doc.
PLACEHOLDERS = {"$CLONE_URL"}
# Tools a step installs, and where their commands are checked.
INSTALLS = {("pipx", "install", "cruft")}
VENV = ".venv-tools"


@dataclasses.dataclass
class Command:
    section: str
    words: list[str]
    environment: list[str]  # the names it assigns (NAME=value prefixes, or export)

    @property
    def program(self) -> str:
        return self.words[0] if self.words else ""

    def options(self) -> list[str]:
        return [word.split("=")[0] for word in self.words[1:] if word.startswith("--")]


def doc_commands(project: Path) -> list[Command]:
    text = (project / "docs" / "onboarding.md").read_text()
    sections = [(match.start(), match["title"]) for match in SECTION.finditer(text)]
    commands = []
    for block in FENCE.finditer(text):
        section = [title for start, title in sections if start < block.start()][-1]
        for line in block["body"].replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if not words:
                continue
            assert not OPERATORS & set(words), f"one command a line, please: {line}"
            environment = []
            if words[0] == "export":
                environment, words = [ASSIGNMENT.match(word)["name"] for word in words[1:]], []
            while words and ASSIGNMENT.match(words[0]):
                environment.append(ASSIGNMENT.match(words.pop(0))["name"])
            commands.append(Command(section, words, environment))
    return commands


def of(commands: list[Command], program: str) -> list[Command]:
    return [command for command in commands if command.program == program]


def make_targets(project: Path) -> set[str]:
    """The Makefile's targets, from make's own database (-p), running nothing (-q)."""
    result = subprocess.run(
        ["make", "--print-data-base", "--question", "--no-builtin-rules", "--no-builtin-variables"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    targets, previous = set(), ""
    for line in result.stdout.splitlines():
        match = re.match(r"^([A-Za-z0-9][\w.-]*):(?!=)", line)
        if match and previous != "# Not a target:":
            targets.add(match[1])
        previous = line
    return targets


def script_help(project: Path, script: str) -> str:
    python = project_venv(project, DEFAULTS["python_version"], TOOLS_REQUIREMENTS) / "bin" / "python"
    return run([python, script, "--help"], cwd=project).stdout


@pytest.fixture(scope="module")
def commands(project) -> list[Command]:
    return doc_commands(project)


# ---- the doc's two first hours ---------------------------------------------------------


def test_the_two_first_hours_have_their_steps_in_order(commands):
    def steps(section: str) -> list[str]:
        return [" ".join(c.words[:2]) for c in commands if c.section == section and c.words]

    developer = steps("A developer's first hour")
    assert [step for step in developer if step in {"git clone", "make up", "make superuser", "make test"}] == [
        "git clone",
        "make up",
        "make superuser",
        "make test",
    ]
    new_project = steps("A new project's first hour")
    key_steps = ["cruft create", "git push", ".venv-tools/bin/python bin/setup-gitlab", "git tag"]
    assert [step for step in new_project if step in key_steps] == [
        "cruft create",
        "git push",
        ".venv-tools/bin/python bin/setup-gitlab",
        ".venv-tools/bin/python bin/setup-gitlab",
        "git tag",
        "git push",
    ]


def known(command: Command, project: Path) -> bool:
    """Is it a kind of command the tests below check?"""
    program = command.program
    return (
        not command.words  # an export, checked by its names
        or program in {"make", "git", "cruft", "cd"}
        or tuple(command.words) in INSTALLS
        or command.words[:3] == ["python3", "-m", "venv"]
        or program.startswith(f"{VENV}/bin/")
        or (project / program).is_file()
    )


def test_every_command_is_of_a_kind_the_tests_check(commands, project):
    assert [" ".join(c.words) for c in commands if not known(c, project)] == []


def test_make_targets_exist_in_the_makefile(commands, project):
    if not (project / "Makefile").is_file():
        unavailable("the generated project has no Makefile yet (issue 10's Makefile is on its own branch)")
    targets = make_targets(project)
    wanted = {word for command in of(commands, "make") for word in command.words[1:]}
    assert wanted, "the doc runs no make target"
    assert wanted - targets == set(), f"the Makefile has {sorted(targets)}"


@pytest.mark.parametrize("program", ["git", "cruft"])
def test_git_and_cruft_subcommands_and_options_are_real(commands, project, program):
    executable = tool("cruft") if program == "cruft" else "git"
    used = of(commands, program)
    assert used
    for command in used:
        help_flag = "--help" if program == "cruft" else "-h"
        usage = subprocess.run([executable, command.words[1], help_flag], capture_output=True, text=True, check=False)
        assert usage.returncode in (0, 129), f"{program} {command.words[1]}: {usage.stderr}"
        text = usage.stdout + usage.stderr
        assert re.search(rf"\b{program} {command.words[1]}\b", text, re.IGNORECASE), text
        for option in command.options():
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text), f"{program} {command.words[1]} {option}"


def test_the_project_scripts_exist_and_take_the_options(commands, project):
    venvs = {c.words[3] for c in commands if c.words[:3] == ["python3", "-m", "venv"]}
    assert venvs == {VENV}
    for command in commands:
        if command.program == f"{VENV}/bin/pip":
            assert command.words[1] == "install"
            assert "--require-hashes" in command.words
            files = [command.words[i + 1] for i, word in enumerate(command.words) if word == "-r"]
            assert files
            assert all((project / name).is_file() for name in files), files
        elif command.program == f"{VENV}/bin/python":
            script = command.words[1]
            assert (project / script).is_file()
            usage = script_help(project, script)
            assert all(option in usage for option in command.options()), (command.words, usage)
        elif (project / command.program).is_file():
            assert (project / command.program).stat().st_mode & 0o111, f"{command.program} is not executable"


def test_cd_goes_into_the_project(commands, project):
    assert {tuple(c.words) for c in of(commands, "cd")} == {("cd", project.name)}


def test_the_environment_it_sets_is_read_by_the_project(commands, project):
    settings = gitlab_settings(project)
    values = {
        (v["name"] if v["environment_scope"] == "*" else f"{v['environment_scope'].upper()}_{v['name']}") + suffix
        for v in settings["variables"]
        for suffix in ("", "_FILE")
    }
    token_names = set(re.findall(r"\bGITLAB_TOKEN\w*", script_help(project, "bin/setup-gitlab")))
    names = {name for command in commands for name in command.environment}
    assert names, "the doc sets no environment"
    assert names - values - token_names - DJANGO_SUPERUSER == set()
    placeholders = {word for command in commands for word in command.words if word.startswith("$")}
    assert placeholders <= PLACEHOLDERS


def test_the_rc_tag_deploys_to_acceptance_and_only_maintainers_create_it(commands, project):
    [tag_command] = [c for c in of(commands, "git") if c.words[1] == "tag"]
    tag = tag_command.words[3]
    assert tag_command.words[2] == "--annotate"
    [push] = [c for c in of(commands, "git") if c.words[1:4] == ["push", "origin", tag]]
    assert push
    patterns = tag_patterns(project)
    assert patterns["RC_TAG_PATTERN"].search(tag)
    assert not patterns["RELEASE_TAG_PATTERN"].search(tag)
    protected = gitlab_settings(project)["protected_tags"]
    assert any(wildcard_matches(entry["name"], tag) and entry["create_access_level"] == 40 for entry in protected)
