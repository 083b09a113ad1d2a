"""The generated project's pipeline file, read statically: GitLab's schema, the ci/ scripts
its jobs run (shellcheck), each job's image, services and reports, the `interruptible`
rules, and docs/release-process.md. Which jobs each pipeline gets is in
tests/test_project_pipeline_jobs.py; the jobs running, in tests/test_project_pipeline_runs.py.
"""

from __future__ import annotations

import itertools
import os
import re

import pytest
import yaml

from tests.answers import DEFAULTS, KUBERNETES_SETS, PYTHON_VERSIONS, VARIANTS, with_answers
from tests.gitlab import GitlabCiLocal, check_against_gitlab_schema, git_repo, global_variables, pipeline_config
from tests.helpers import run, tool
from tests.project_pipeline import (
    PIPELINE_ANSWER_SETS,
    SCHEDULE_JOBS,
    VERIFY_JOBS,
)


@pytest.fixture(scope="module")
def config(project) -> dict:
    return pipeline_config(project)


@pytest.fixture(scope="module")
def expanded(project, tmp_path_factory) -> dict:
    """The pipeline with `extends` and `default` resolved, as gitlab-ci-local reads it."""
    repo = git_repo(project, tmp_path_factory.mktemp("preview") / "my-project")
    return yaml.safe_load(GitlabCiLocal(repo)("--preview").stdout)


@with_answers(*VARIANTS, *KUBERNETES_SETS)
def test_pipeline_matches_gitlab_schema(project):
    check_against_gitlab_schema(project)


@with_answers(*VARIANTS)
def test_ci_scripts_pass_shellcheck(project):
    scripts = sorted((project / "ci").iterdir())
    assert scripts
    for script in scripts:
        text = script.read_text()
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        assert text.startswith("#!/bin/sh\n"), f"{script.name}: POSIX sh, so it runs in every job image"
        assert "\nset -eu\n" in text, f"{script.name} lacks set -eu"
    run([tool("shellcheck"), "--shell=sh", *scripts], cwd=project)


@with_answers(*VARIANTS)
def test_every_job_runs_one_script_of_ci_and_every_script_is_used(config, project):
    jobs = {name: job for name, job in config.items() if isinstance(job, dict) and "script" in job}
    used = set()
    for name, job in jobs.items():
        assert len(job["script"]) == 1, f"{name}: keep the work in a script under ci/"
        command = job["script"][0].split()
        assert command[0].startswith("ci/"), name
        assert (project / command[0]).is_file(), f"{name} runs {command[0]}, which does not exist"
        used.add(command[0].removeprefix("ci/"))
    assert used == {path.name for path in (project / "ci").iterdir()}


@with_answers(*PIPELINE_ANSWER_SETS)
def test_tag_patterns_are_variables_without_backslashes(config):
    """Which tags each pattern takes, through gitlab-ci-local, is in tests/test_project_pipeline_jobs.py."""
    variables = global_variables(config)
    # gitlab-ci-local misreads backslash escapes in a pattern held in a variable.
    assert "\\" not in variables["RC_TAG_PATTERN"] + variables["RELEASE_TAG_PATTERN"]
    assert config[".on-rc-tag"]["rules"][0]["if"].startswith("$CI_COMMIT_TAG =~ $RC_TAG_PATTERN")
    assert config[".on-release-tag"]["rules"][0]["if"].startswith("$CI_COMMIT_TAG =~ $RELEASE_TAG_PATTERN")


@with_answers(*PIPELINE_ANSWER_SETS)
def test_test_job_runs_in_the_development_image_with_its_services_and_reports(expanded, answers):
    job = expanded["test"]
    assert job["image"] == {"name": "$CI_REGISTRY_IMAGE/development:$CI_COMMIT_SHA", "entrypoint": [""]}
    services = {service["alias"]: service["name"] for service in job["services"]}
    expected_services = {"postgres": "postgres:17", **({"redis": "redis:8"} if answers["use_celery"] else {})}
    assert services == expected_services
    variables = job["variables"]
    assert variables["DATABASE_URL"].startswith("postgres://postgres@postgres:5432/")
    assert variables["REQUIRE_SERVICES"] == "1"
    celery_variables = {"CACHE_URL", "CELERY_BROKER_URL"}
    assert celery_variables & set(variables) == (celery_variables if answers["use_celery"] else set())
    assert all(variables[name].startswith("redis://redis:6379/") for name in celery_variables & set(variables))
    reports = job["artifacts"]["reports"]
    assert reports["junit"] == "junit.xml"
    assert reports["coverage_report"] == {"coverage_format": "cobertura", "path": "coverage.xml"}
    assert job["artifacts"]["when"] == "always"
    # The coverage regex finds pytest-cov's TOTAL line (with branch columns), nothing else.
    coverage = re.compile(job["coverage"].strip("/"), re.MULTILINE)
    output = "config/urls.py        4   4   0   0     0%   1-6\nTOTAL     157     47      8      2    69.5%\n"
    assert [m.group(1) for m in coverage.finditer(output)] == ["69.5"]


@with_answers(*PIPELINE_ANSWER_SETS)
def test_each_job_runs_in_the_right_image(expanded):
    development = {"name": "$CI_REGISTRY_IMAGE/development:$CI_COMMIT_SHA", "entrypoint": [""]}
    production = {"name": "$CI_REGISTRY_IMAGE:$CI_COMMIT_SHA", "entrypoint": [""]}
    assert expanded["lint"]["image"] == development
    assert expanded["audit"]["image"] == development
    assert expanded["check-deploy"]["image"] == production
    assert expanded["build"]["image"]["name"] == "$BUILDAH_IMAGE"
    assert expanded["variables"]["BUILDAH_IMAGE"].startswith("quay.io/buildah/stable:v")
    assert expanded["template-drift"]["image"]["name"].startswith("python:3.")
    for environment in ("acceptance", "production"):
        assert expanded[f"promote-{environment}"]["image"]["name"] == "$SKOPEO_IMAGE"
        assert expanded[f"promote-{environment}"]["artifacts"]["reports"]["dotenv"] == "promote.env"
        deploy = expanded[f"deploy-{environment}"]
        assert deploy["environment"]["name"] == environment
        assert deploy["resource_group"] == environment
        assert deploy["interruptible"] is False


def test_template_drift_job_uses_the_projects_python(bake):
    for version in PYTHON_VERSIONS:
        config = pipeline_config(bake(**{**DEFAULTS, "python_version": version}))
        assert config["template-drift"]["image"] == f"python:{version}"
        assert config["template-drift"]["allow_failure"] is True
        assert all(rule["exists"] == [".cruft.json"] for rule in config["template-drift"]["rules"])


@with_answers(*PIPELINE_ANSWER_SETS)
def test_only_merge_request_pipelines_are_interruptible(expanded):
    """A newer push cancels an older merge request pipeline; on the default branch nothing
    is cancelled, so that every merged commit gets its verified image."""
    assert "interruptible" not in expanded.get("default", {})
    for name in VERIFY_JOBS:
        job = expanded[name]
        assert "interruptible" not in job, name
        by_rule = {rule["if"]: rule["interruptible"] for rule in job["rules"]}
        assert by_rule == {
            '$CI_PIPELINE_SOURCE == "merge_request_event"': True,
            '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"': False,
        }, name
    for name in ("promote-acceptance", "deploy-acceptance", "promote-production", "deploy-production"):
        assert expanded[name]["interruptible"] is False, name


@with_answers(*PIPELINE_ANSWER_SETS)
def test_release_process_names_the_variables_and_the_default_patterns(project, config):
    text = (project / "docs" / "release-process.md").read_text()
    variables = global_variables(config)
    assert f"`{variables['RC_TAG_PATTERN']}`" in text
    assert f"`{variables['RELEASE_TAG_PATTERN']}`" in text
    required = re.search(r'^REQUIRED="([^"]*)"', (project / "ci" / "deploy").read_text(), re.M).group(1).split()
    for name in [*required, "RC_TAG_PATTERN", "RELEASE_TAG_PATTERN", "DEPLOY_TOOLS_IMAGE"]:
        assert f"`{name}`" in text, name
    for job in [*VERIFY_JOBS, "template-drift", "promote-acceptance", "deploy-production"]:
        assert job in text, job
    # The events table (the first one): Run pipeline runs template-drift only, the weekly
    # schedule its own jobs (tests/test_project_pipeline_jobs.py).
    lines = text.splitlines()
    start = lines.index("| Event | Pipeline | Jobs |")
    table = itertools.takewhile(lambda line: line.startswith("| "), lines[start + 2 :])
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
    jobs_by_event = {row[0]: row[2] for row in rows}
    assert jobs_by_event["Run pipeline on the default branch"] == "`template-drift`"
    scheduled = set(re.findall(r"`([a-z-]+)`", jobs_by_event["The weekly pipeline schedule of the default branch"]))
    assert scheduled == {*SCHEDULE_JOBS, "template-drift"}
