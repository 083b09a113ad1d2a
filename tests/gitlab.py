"""Helpers for the pipeline tests: gitlab-ci-local, a git repo to run it in, the pipeline
cases, and a small evaluator of the `rules:if` expressions the pipeline uses.

gitlab-ci-local is installed once with npm into the cache directory, keyed by its version,
under a file lock (pytest-xdist workers share it). It is the only network access of these
tests; everything else runs on local files.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from pathlib import Path

from tests.helpers import CACHE_DIR, build_once, run
from tests.require import unavailable
from tests.template_repo import Repo

# The newest gitlab-ci-local that runs on Node 20 (Debian 12's node).
GITLAB_CI_LOCAL_VERSION = "4.73.0"
REMOTE = "https://gitlab.example.com/agency/my-project.git"
DEFAULT_BRANCH = "main"
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

    name: str
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
        "merge-request",
        {
            "CI_PIPELINE_SOURCE": "merge_request_event",
            "CI_MERGE_REQUEST_IID": "7",
            "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME": source_branch,
            "CI_MERGE_REQUEST_TARGET_BRANCH_NAME": DEFAULT_BRANCH,
            "CI_COMMIT_REF_NAME": source_branch,
            "CI_DEFAULT_BRANCH": DEFAULT_BRANCH,
        },
    )


def branch(name: str, **extra: str) -> Pipeline:
    return Pipeline(
        "default-branch" if name == DEFAULT_BRANCH else "other-branch",
        {
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_BRANCH": name,
            "CI_COMMIT_REF_NAME": name,
            "CI_DEFAULT_BRANCH": DEFAULT_BRANCH,
            **extra,
        },
    )


def tag(name: str, kind: str = "tag") -> Pipeline:
    return Pipeline(
        kind,
        {
            "CI_PIPELINE_SOURCE": "push",
            "CI_COMMIT_TAG": name,
            "CI_COMMIT_REF_NAME": name,
            "CI_DEFAULT_BRANCH": DEFAULT_BRANCH,
        },
    )


class GitlabCiLocal:
    """gitlab-ci-local in one repository."""

    def __init__(self, repo: Path):
        self.repo = repo
        self.executable = gitlab_ci_local()

    def __call__(self, *args: str, env: dict | None = None, check: bool = True, timeout: int = 600):
        return run([self.executable, "--no-color", *args], cwd=self.repo, env=env, check=check, timeout=timeout)

    def jobs(self, pipeline: Pipeline, extra: dict[str, str] | None = None) -> dict[str, dict]:
        """The jobs of the pipeline by name, as `--list-json` gives them (when:never included)."""
        # The schema is checked by the dependency chain tests (and check-jsonschema): not again here.
        result = self("--list-json", "--no-json-schema-validation", *pipeline.gitlab_ci_local_args(extra))
        return {job["name"]: job for job in json.loads(result.stdout)}

    def active_jobs(self, pipeline: Pipeline, extra: dict[str, str] | None = None) -> dict[str, dict]:
        return {name: job for name, job in self.jobs(pipeline, extra).items() if job["when"] != "never"}

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


# ---------------------------------------------------------------------------------------
# `rules:if` evaluation, for workflow:rules (gitlab-ci-local reads them for variables only,
# it never stops a pipeline with them). Only what the pipeline uses, strictly: an
# expression it cannot read is an error, so the rules stay simple enough to check here.
#   $VAR   "string"   'string'   /regex/flags   null
#   ==  !=  =~  !~   (a variable on the right of =~ holds /regex/flags)
#   &&  ||   (&& binds tighter; no parentheses)
# ---------------------------------------------------------------------------------------
TOKEN = re.compile(
    r"""\s*(?:
        (?P<variable>\$[A-Za-z_][A-Za-z0-9_]*)
      | "(?P<dq>[^"]*)"
      | '(?P<sq>[^']*)'
      | /(?P<regex>(?:[^/\\]|\\.)*)/(?P<flags>[a-z]*)
      | (?P<operator>==|!=|=~|!~|&&|\|\|)
      | (?P<null>null)\b
    )""",
    re.VERBOSE,
)


class Regex(str):
    """A /regex/flags literal."""


def tokens(expression: str) -> list[tuple[str, object]]:
    found, position = [], 0
    while position < len(expression.rstrip()):
        match = TOKEN.match(expression, position)
        if match is None:
            raise ValueError(f"cannot read {expression[position:]!r} in rules:if {expression!r}")
        kind = match.lastgroup
        if kind in ("dq", "sq"):
            found.append(("value", match.group(kind)))
        elif kind in ("regex", "flags"):
            found.append(("value", Regex(f"/{match.group('regex')}/{match.group('flags')}")))
        elif kind == "null":
            found.append(("value", None))
        else:
            found.append((kind, match.group(kind)))
        position = match.end()
    return found


def compile_pattern(value: str) -> re.Pattern:
    match = re.fullmatch(r"/(.*)/([a-z]*)", value or "", re.DOTALL)
    if match is None:
        raise ValueError(f"{value!r} is not a /regex/ (GitLab wants the slashes)")
    flags = re.IGNORECASE if "i" in match.group(2) else 0
    return re.compile(match.group(1), flags)


def comparison(part: list[tuple[str, object]], variables: dict[str, str]) -> bool:
    def value(token):
        kind, text = token
        return variables.get(text[1:]) if kind == "variable" else text

    if len(part) == 1:
        single = value(part[0])
        return bool(single)
    if len(part) != 3 or part[1][0] != "operator":
        raise ValueError(f"cannot read the comparison {part!r}")
    left, operator, right = value(part[0]), part[1][1], value(part[2])
    if operator in ("==", "!="):
        return (left == right) == (operator == "==")
    if operator in ("=~", "!~"):
        matched = left is not None and compile_pattern(right).search(left) is not None
        return matched == (operator == "=~")
    raise ValueError(f"{operator} is not a comparison")


def evaluate_if(expression: str, variables: dict[str, str]) -> bool:
    """True when the `rules:if` expression holds for these variables (unset = absent)."""
    alternatives, conjunction, part = [], [], []
    for token in tokens(expression):
        if token == ("operator", "||"):
            conjunction.append(part)
            alternatives.append(conjunction)
            conjunction, part = [], []
        elif token == ("operator", "&&"):
            conjunction.append(part)
            part = []
        else:
            part.append(token)
    conjunction.append(part)
    alternatives.append(conjunction)
    return any(all(comparison(p, variables) for p in conj) for conj in alternatives)


def workflow_runs(rules: list[dict], variables: dict[str, str]) -> bool:
    """Whether GitLab creates the pipeline: the first rule that matches decides; none, no pipeline."""
    for rule in rules:
        unknown = set(rule) - {"if", "when"}
        if unknown:
            raise ValueError(f"workflow rule keys this evaluator does not know: {unknown}")
        if "if" not in rule or evaluate_if(rule["if"], variables):
            return rule.get("when", "always") != "never"
    return False


def global_variables(config: dict) -> dict[str, str]:
    """The pipeline's top-level variables, as plain values."""
    return {
        name: str(value["value"] if isinstance(value, dict) else value)
        for name, value in config.get("variables", {}).items()
    }
