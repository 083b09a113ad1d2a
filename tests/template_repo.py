"""Throw-away git repositories for the cruft and pipeline tests.

A copy of the template as it is in the working tree (only what `git ls-files --cached
--others --exclude-standard` lists, so .venv/ and build/ stay out), committed into a
temporary git repository that the tests then advance commit by commit; generated
projects in git repositories of their own; and the cruft commands.
Everything is local: no network.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.answers import TEMPLATE_DIR
from tests.helpers import run, tool

PROJECT_DIR_NAME = "{{cookiecutter.project_slug}}"
CONFLICT_MARKER = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)


def git_environment(home: Path) -> dict[str, str]:
    """A git and cookiecutter that read no user or system configuration."""
    home.mkdir(parents=True, exist_ok=True)
    cookiecutter_config = home / "cookiecutterrc.yaml"
    cookiecutter_config.write_text(
        f"cookiecutters_dir: {home / 'cookiecutters'}\nreplay_dir: {home / 'replay'}\ndefault_context: {{}}\n"
    )
    return {
        "GIT_AUTHOR_NAME": "Template Tests",
        "GIT_AUTHOR_EMAIL": "template-tests@example.com",
        "GIT_COMMITTER_NAME": "Template Tests",
        "GIT_COMMITTER_EMAIL": "template-tests@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        "COOKIECUTTER_CONFIG": str(cookiecutter_config),
    }


class Repo:
    """A git working tree in a temporary directory."""

    def __init__(self, path: Path, env: dict[str, str]):
        self.path = path
        self.env = env

    def git(self, *args, check: bool = True) -> subprocess.CompletedProcess:
        return run(["git", *args], cwd=self.path, env=self.env, check=check)

    def init(self) -> Repo:
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--initial-branch=main")
        return self

    def commit(self, message: str, *, force: bool = False) -> str:
        """Commit everything (force: ignored files too) and return the commit hash."""
        self.git("add", "--all", *(["--force"] if force else []))
        self.git("commit", "--quiet", "--allow-empty", "--message", message)
        return self.head()

    def add_gitlab_remote(self, url: str, branch: str = "main") -> None:
        """What a GitLab checkout has and gitlab-ci-local reads: an origin remote (it derives
        CI_PROJECT_* and CI_REGISTRY_IMAGE from its URL), origin/<branch> at HEAD, and
        origin/HEAD naming the default branch."""
        self.git("remote", "add", "origin", url)
        self.git("update-ref", f"refs/remotes/origin/{branch}", "HEAD")
        self.git("symbolic-ref", "refs/remotes/origin/HEAD", f"refs/remotes/origin/{branch}")

    def head(self) -> str:
        return self.git("rev-parse", "HEAD").stdout.strip()

    def status(self) -> list[str]:
        """`git status --porcelain` lines, e.g. 'UU config/settings/base.py'."""
        return self.git("status", "--porcelain", "--untracked-files=all").stdout.splitlines()

    def edit(self, relative: str, change: Callable[[str], str]) -> None:
        path = self.path / relative
        before = path.read_text()
        after = change(before)
        assert after != before, f"the edit of {relative} changed nothing"
        path.write_text(after)

    def append_line(self, relative: str, line: str) -> None:
        self.edit(relative, lambda text: text + ("" if text.endswith("\n") else "\n") + line + "\n")

    def write(self, relative: str, text: str, mode: int = 0o644) -> None:
        path = self.path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(mode)


def copy_working_tree(path: Path) -> None:
    """The template's files as they are in the working tree, into path."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for relative in sorted(set(filter(None, listed.split("\0")))):
        source = TEMPLATE_DIR / relative
        if not (source.is_file() or source.is_symlink()):
            continue  # deleted in the working tree, or a directory (submodule)
        target = path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)


def copy_commit(path: Path, commit: str) -> None:
    """The template's files as they were at an earlier commit of this repository, into path."""
    archive = subprocess.run(["git", "archive", "--format=tar", commit], cwd=TEMPLATE_DIR, capture_output=True)
    if archive.returncode != 0:  # a shallow clone, say
        pytest.fail(f"git archive {commit} failed: {archive.stderr.decode().strip()}", pytrace=False)
    path.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(path, filter="tar")


class TemplateRepo(Repo):
    """The template's working tree, or an earlier commit of it, committed into a throw-away repository."""

    @classmethod
    def copy_of_working_tree(cls, path: Path, env: dict[str, str]) -> TemplateRepo:
        copy_working_tree(path)
        return cls(path, env).init()

    @classmethod
    def copy_of_commit(cls, path: Path, env: dict[str, str], commit: str) -> TemplateRepo:
        copy_commit(path, commit)
        return cls(path, env).init()

    def advance_to_working_tree(self, message: str) -> str:
        """Replace every file with the working tree's, as the template's later commits did; commit."""
        for child in self.path.iterdir():
            if child.name == ".git":
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        copy_working_tree(self.path)
        return self.commit(message)

    def commit(self, message: str, *, force: bool = True) -> str:
        # Force: the generated project's .gitignore (inside the template directory)
        # must not hide template files, as it does not in the real repository.
        return super().commit(message, force=force)

    def project_file(self, relative: str) -> str:
        """The path of a generated project's file inside the template."""
        return f"{PROJECT_DIR_NAME}/{relative}"

    def has_project_file(self, relative: str) -> bool:
        return (self.path / self.project_file(relative)).exists()


def cruft(*args, cwd: Path, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return run([tool("cruft"), *args], cwd=cwd, env=env, check=check)


def cruft_create(template: TemplateRepo, output_dir: Path, answers: dict | None = None, extra_args=()) -> Path:
    """`cruft create --no-input` from the template repository; returns the project directory."""
    output_dir.mkdir(parents=True, exist_ok=True)
    before = set(output_dir.iterdir())
    cruft(
        "create",
        "--no-input",
        "--output-dir",
        output_dir,
        "--extra-context",
        json.dumps(answers or {}),
        *extra_args,
        template.path,
        cwd=output_dir,
        env=template.env,
    )
    (project,) = set(output_dir.iterdir()) - before
    return project


def generate_project(template: TemplateRepo, output_dir: Path, **answers) -> Repo:
    """cruft create, then commit the project in a git repository of its own."""
    project = Repo(cruft_create(template, output_dir, answers), template.env).init()
    project.commit("Generated from the template")
    return project


def cruft_update(project: Repo, *options: str) -> tuple[int, str]:
    """`cruft update` without asking (and with these options): its exit code and output, which
    never holds a traceback."""
    result = cruft("update", "--skip-apply-ask", *options, cwd=project.path, env=project.env, check=False)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.returncode, output


def conflicts(project: Path) -> list[str]:
    """What an update left unresolved: *.rej files and files with conflict markers."""
    found = []
    for path in sorted(project.rglob("*")):
        if ".git" in path.relative_to(project).parts or not path.is_file():
            continue
        relative = path.relative_to(project).as_posix()
        if path.suffix == ".rej":
            found.append(relative)
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        if CONFLICT_MARKER.search(text):
            found.append(relative)
    return found
