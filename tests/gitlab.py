"""Helpers for the pipeline tests: gitlab-ci-local, a git repo to run it in, and the
predefined variables of each kind of pipeline.

gitlab-ci-local is installed once with npm into the cache directory, keyed by its version,
under a file lock (pytest-xdist workers share it). It is the only network access of these
tests; everything else runs on local files.

gitlab-ci-local evaluates job rules, `needs` and variables like GitLab, and reads
`workflow:rules` for their variables, but it never stops a pipeline on their `when: never`.
So the workflow rules are checked by gitlab-ci-local's own rules engine on a probe job that
carries them as its job rules (in `.gitlab-ci-local.yml`, which gitlab-ci-local merges over
the pipeline): where the probe job does not run, GitLab creates no pipeline.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import yaml

from tests.helpers import CACHE_DIR, build_once, run, tool
from tests.require import unavailable
from tests.template_repo import Repo

# The newest gitlab-ci-local that runs on Node 20 (Debian 12's node).
GITLAB_CI_LOCAL_VERSION = "4.73.0"
REMOTE = "https://gitlab.example.com/agency/my-project.git"
DEFAULT_BRANCH = "main"
# The job that carries the workflow rules (module docstring).
PROBE = "workflow-rules-probe"
# Fixed commit dates, so that the test repositories get the same commit hashes every run.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Pipeline Tests",
    "GIT_AUTHOR_EMAIL": "pipeline-tests@example.com",
    "GIT_AUTHOR_DATE": "2025-01-01T12:00:00+00:00",
    "GIT_COMMITTER_NAME": "Pipeline Tests",
    "GIT_COMMITTER_EMAIL": "pipeline-tests@example.com",
    "GIT_COMMITTER_DATE": "2025-01-01T12:00:00+00:00",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def gitlab_ci_local() -> Path:
    """The gitlab-ci-local executable, installed into the cache on first use."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        unavailable("npm and node are not installed: gitlab-ci-local comes from the npm registry")
    package = f"gitlab-ci-local@{GITLAB_CI_LOCAL_VERSION}"

    def install(prefix: Path) -> None:
        command = [npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", package]
        result = run(command, cwd=prefix, timeout=600, check=False)
        if result.returncode != 0:
            unavailable(f"npm could not install {package}: {result.stderr[-2000:]}")

    prefix = build_once(CACHE_DIR / f"gitlab-ci-local-{GITLAB_CI_LOCAL_VERSION}", install)
    return prefix / "node_modules" / ".bin" / "gitlab-ci-local"


def pipeline_config(project: Path) -> dict:
    """The project's .gitlab-ci.yml, parsed."""
    return yaml.safe_load((project / ".gitlab-ci.yml").read_text())


def gitlab_settings(project: Path) -> dict:
    """The project's .gitlab/settings.toml, which bin/setup-gitlab applies."""
    return tomllib.loads((project / ".gitlab" / "settings.toml").read_text())


def tag_patterns(project: Path) -> dict[str, re.Pattern]:
    """The pipeline's RC_TAG_PATTERN and RELEASE_TAG_PATTERN, as Python regular expressions."""
    variables = pipeline_config(project)["variables"]
    return {name: re.compile(variables[name]["value"].strip("/")) for name in ("RC_TAG_PATTERN", "RELEASE_TAG_PATTERN")}


def check_against_gitlab_schema(directory: Path, pipeline_file: str | Path = ".gitlab-ci.yml") -> None:
    """check-jsonschema with GitLab's CI schema, after its gitlab-ci transform (`!reference` tags)."""
    schema = ["--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci"]
    run([tool("check-jsonschema"), *schema, pipeline_file], cwd=directory)


def git(repo: Path, *args: str) -> str:
    return Repo(repo, GIT_ENV).git(*args).stdout


def git_repo(project: Path, destination: Path) -> Path:
    """A copy of a baked project as gitlab-ci-local wants it: a git repo with one commit on
    the default branch and a GitLab remote."""
    shutil.copytree(project, destination, symlinks=True)
    repo = Repo(destination, GIT_ENV).init()
    # gitlab-ci-local reads the user from the repository's config.
    repo.git("config", "user.name", GIT_ENV["GIT_AUTHOR_NAME"])
    repo.git("config", "user.email", GIT_ENV["GIT_AUTHOR_EMAIL"])
    repo.commit("The baked project")
    repo.add_gitlab_remote(REMOTE, DEFAULT_BRANCH)
    return destination


def commit_all(repo: Path, message: str) -> None:
    Repo(repo, GIT_ENV).commit(message)


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """The predefined variables GitLab sets for one kind of pipeline (and the ones it leaves unset)."""

    variables: dict[str, str]

    @property
    def unset(self) -> list[str]:
        # gitlab-ci-local always sets CI_COMMIT_BRANCH (to the checked-out branch);
        # GitLab leaves it out of merge request and tag pipelines.
        return [] if "CI_COMMIT_BRANCH" in self.variables else ["CI_COMMIT_BRANCH"]

    def gitlab_ci_local_args(self, extra: dict[str, str] | None = None) -> list[str]:
        variables = {**self.variables, **(extra or {})}
        args = ["--ignore-predefined-vars", ",".join(sorted(variables))]
        for name, value in variables.items():
            args += ["--variable", f"{name}={value}"]
        for name in self.unset:
            args += ["--unset-variable", name]
        return args


def merge_request(source_branch: str = "feature") -> Pipeline:
    return Pipeline(
        {
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": "7",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": source_branch,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": DEFAULT_BRANCH,
            "CI_COMMIT_REF_NAME": source_branch,
            "CI_DEFAULT_BRANCH": DEFAULT_BRANCH,
        },
    )


def branch(name: str, source: str = "push", **extra: str) -> Pipeline:
    """A pipeline of a branch: a push to it, or a `schedule`, a `web` (Run pipeline) or an `api` one."""
    return Pipeline(
        {
            "CI_PIPELINE_SOURCE": source,
            "CI_COMMIT_BRANCH": name,
            "CI_COMMIT_REF_NAME": name,
            "CI_DEFAULT_BRANCH": DEFAULT_BRANCH,
            **extra,
        },
    )


def tag(name: str, source: str = "push") -> Pipeline:
    """A pipeline of a tag: the push of the tag, or a `schedule` or a `web` one run for it."""
    return Pipeline(
        {
            "CI_PIPELINE_SOURCE": source,
            "CI_COMMIT_TAG": name,
            "CI_COMMIT_REF_NAME": name,
            "CI_DEFAULT_BRANCH": DEFAULT_BRANCH,
        },
    )


def key(pipeline: Pipeline, extra: dict[str, str] | None) -> tuple:
    return tuple(sorted({**pipeline.variables, **(extra or {})}.items()))


class GitlabCiLocal:
    """gitlab-ci-local in one repository.

    With ``workflow_probe``, the repository gets the probe job (module docstring) and
    ``created_jobs`` tells which jobs GitLab runs, the workflow rules included. Listings are
    kept per pipeline kind and variables: list a repository whose pipeline file no longer
    changes."""

    def __init__(self, repo: Path, *, workflow_probe: bool = False):
        self.repo = repo
        self.executable = gitlab_ci_local()
        self.listings: dict[tuple, dict[str, dict]] = {}
        self.workflow_probe = workflow_probe
        if workflow_probe:
            rules = pipeline_config(repo)["workflow"]["rules"]
            probe = {PROBE: {"stage": ".pre", "script": ["true"], "rules": rules}}
            (repo / ".gitlab-ci-local.yml").write_text(yaml.safe_dump(probe))

    def __call__(self, *args: str, env: dict | None = None, check: bool = True, timeout: int = 600):
        return run([self.executable, "--no-color", *args], cwd=self.repo, env=env, check=check, timeout=timeout)

    def jobs(self, pipeline: Pipeline, extra: dict[str, str] | None = None) -> dict[str, dict]:
        """The jobs of the pipeline by name, as `--list-json` gives them (when:never included)."""
        if key(pipeline, extra) not in self.listings:
            # The dependency chain tests (and check-jsonschema) check the schema: a listing does not.
            listed = self("--list-json", "--no-json-schema-validation", *pipeline.gitlab_ci_local_args(extra)).stdout
            # Warnings may come first on stdout: the JSON starts at the first "[".
            jobs = json.loads(listed[listed.index("[") :])
            self.listings[key(pipeline, extra)] = {job["name"]: job for job in jobs}
        return self.listings[key(pipeline, extra)]

    def active_jobs(self, pipeline: Pipeline, extra: dict[str, str] | None = None) -> dict[str, dict]:
        """The jobs whose rules let them run (the probe job left out), workflow rules aside."""
        jobs = self.jobs(pipeline, extra)
        return {name: job for name, job in jobs.items() if job["when"] != "never" and name != PROBE}

    def created_jobs(self, pipeline: Pipeline, extra: dict[str, str] | None = None) -> dict[str, dict] | None:
        """The jobs GitLab runs in this pipeline, or None where the workflow rules create no pipeline."""
        assert self.workflow_probe, "created_jobs() needs the workflow probe"
        if self.jobs(pipeline, extra)[PROBE]["when"] == "never":
            return None
        return self.active_jobs(pipeline, extra)

    def run_jobs(self, pipeline: Pipeline, *jobs: str, variables=None, env=None, check=True):
        """Run jobs with the shell executor, each in a clean copy of the tracked files."""
        return self(
            "--force-shell-executor",
            "--shell-isolation",
            "--no-json-schema-validation",
            *pipeline.gitlab_ci_local_args(variables),
            *jobs,
            env=env,
            check=check,
        )


def global_variables(config: dict) -> dict[str, str]:
    """The pipeline's top-level variables, as plain values."""
    return {
        name: str(value["value"] if isinstance(value, dict) else value)
        for name, value in config.get("variables", {}).items()
    }
