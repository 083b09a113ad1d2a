"""The template repository's own pipeline: the top-level .gitlab-ci.yml.

Checked against GitLab's schema (check-jsonschema), for consistency with cookiecutter.json
and base-image/Dockerfile, with shellcheck, by running the base-image job's smoke test
(.ci/smoke-test-base-image, with buildah) on the test suite's base image, and with
gitlab-ci-local (tests/gitlab.py) listing the jobs of a push to main, a feature branch,
the weekly schedule, a merge request and a tag: job rules, `changes` against origin/main
included, and the workflow rules through the probe job.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid

import pytest
import yaml

from tests.answers import COOKIECUTTER_JSON, PYTHON_VERSIONS, TEMPLATE_DIR
from tests.containers import images
from tests.containers.standins import python_image
from tests.gitlab import DEFAULT_BRANCH, PROBE, GitlabCiLocal, branch, check_against_gitlab_schema, merge_request, tag
from tests.helpers import path_with, run, tool
from tests.require import unavailable
from tests.stubs import LOG, calls, stand_ins
from tests.template_repo import TemplateRepo, git_environment

PIPELINE_FILE = TEMPLATE_DIR / ".gitlab-ci.yml"
DOCKERFILE = TEMPLATE_DIR / "base-image" / "Dockerfile"
SMOKE_TEST = TEMPLATE_DIR / ".ci" / "smoke-test-base-image"
LABEL_ARGS = {"PYTHON_VERSION", "IMAGE_SOURCE", "IMAGE_REVISION", "IMAGE_CREATED", "IMAGE_VERSION"}
BASE_IMAGE_JOBS = {f"base-image: [{version}]" for version in COOKIECUTTER_JSON["python_version"]}
BUILD_SCRIPT = TEMPLATE_DIR / ".ci" / "build-base-image"
REPOSITORY = yaml.safe_load(PIPELINE_FILE.read_text())["variables"]["BASE_IMAGE_REPOSITORY"]
PROJECT_URL = "https://gitlab.example.com/agency/django-container-template"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
PASSWORD = "made-up-job-token"
TODAY, CREATED = "20260105", "2026-01-05T04:00:00Z"
DATED, MOVING = f"{REPOSITORY}:3.13-{TODAY}", f"{REPOSITORY}:3.13"
BUILDAH_ENV = ("BUILDAH_FORMAT", "BUILDAH_ISOLATION", "STORAGE_DRIVER")
# `date -u +FORMAT` at a fixed moment.
FIXED_DATE = f"""
if tool == "date":
    print({{"+%Y%m%d": {TODAY!r}, "+%Y-%m-%dT%H:%M:%SZ": {CREATED!r}}}[args[-1]])
"""
SMOKE_TEST_FAILS = """
if os.environ.get("STUB_SMOKE_TEST_FAILS") == "1":
    sys.exit("smoke test FAILED")
"""


@pytest.fixture(scope="module")
def pipeline() -> dict:
    return yaml.safe_load(PIPELINE_FILE.read_text())


@pytest.fixture
def build_base_image(tmp_path, pipeline):
    """Run .ci/build-base-image with the base-image job's variables (PUSH as given), in a copy
    of the repository's .ci/ with stand-ins (tests/stubs.py) for buildah, date and the smoke
    test, which all record into one log. Returns the result and the recorded calls."""
    stubs = stand_ins(tmp_path / "stubs", ("buildah", "date"), FIXED_DATE, env=BUILDAH_ENV)
    root = tmp_path / "repo"
    stand_ins(root / ".ci", ("smoke-test-base-image",), SMOKE_TEST_FAILS, log=stubs / LOG)
    shutil.copy2(BUILD_SCRIPT, root / ".ci")

    def build(**variables: str):
        env = {
            **path_with(stubs),
            **pipeline["variables"],
            **pipeline["base-image"]["variables"],
            "PYTHON_VERSION": "3.13",
            "CI_PROJECT_URL": PROJECT_URL,
            "CI_COMMIT_SHA": COMMIT,
            "CI_REGISTRY_USER": "gitlab-ci-token",
            "CI_REGISTRY_PASSWORD": PASSWORD,
            **variables,
        }
        result = run([root / ".ci" / BUILD_SCRIPT.name], cwd=root, env=env, check=False)
        return result, calls(stubs)

    return build


def test_pipeline_passes_gitlabs_schema():
    check_against_gitlab_schema(TEMPLATE_DIR, PIPELINE_FILE)


def test_every_job_runs_one_script_of_ci(pipeline):
    """No inline shell: each job's work is one executable script under .ci/."""
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "script" in job}
    for name, job in jobs.items():
        assert not {"before_script", "after_script"} & set(job), name
        (command,) = job["script"]
        assert command.startswith(".ci/"), f"{name}: keep the work in a script under .ci/"
        assert os.access(TEMPLATE_DIR / command, os.X_OK), f"{name} runs {command}, which is not an executable file"
    assert {name: job["script"] for name, job in jobs.items()} == {
        "test": [".ci/run"],
        "base-image": [".ci/build-base-image"],
    }


def test_the_test_job_runs_the_template_suite():
    assert "make test" in (TEMPLATE_DIR / ".ci" / "run").read_text()


@pytest.mark.parametrize("script", sorted(path.name for path in (TEMPLATE_DIR / ".ci").iterdir()))
def test_ci_scripts_pass_shellcheck(script):
    path = TEMPLATE_DIR / ".ci" / script
    text = path.read_text()
    assert os.access(path, os.X_OK), "not executable"
    shell = {"#!/bin/sh": "sh", "#!/usr/bin/env bash": "bash"}[text.splitlines()[0]]
    assert {"sh": "\nset -eu\n", "bash": "\nset -euo pipefail\n"}[shell] in text
    run([tool("shellcheck"), f"--shell={shell}", path], cwd=TEMPLATE_DIR)


def test_base_image_is_built_for_every_supported_python(pipeline):
    assert pipeline["base-image"]["parallel"]["matrix"] == [{"PYTHON_VERSION": COOKIECUTTER_JSON["python_version"]}]


def test_base_image_is_pushed_where_generated_projects_pull_it_from(pipeline):
    assert pipeline["variables"]["BASE_IMAGE_REPOSITORY"] == COOKIECUTTER_JSON["base_image"]


def test_only_the_schedule_and_the_default_branch_push(pipeline):
    job = pipeline["base-image"]
    assert job["variables"]["PUSH"] == "false"
    pushing = [rule["if"] for rule in job["rules"] if rule.get("variables", {}).get("PUSH") == "true"]
    assert pushing == [
        '$CI_PIPELINE_SOURCE == "schedule"',
        '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"',
    ]


def test_images_are_built_by_buildah_without_privileges(pipeline, build_base_image):
    job = pipeline["base-image"]
    assert job["image"] == "$BUILDAH_IMAGE"
    assert pipeline["variables"]["BUILDAH_IMAGE"].startswith("quay.io/buildah/stable:v")
    assert "services" not in job
    assert "dind" not in PIPELINE_FILE.read_text()

    _, recorded = build_base_image(PUSH="true")

    assert {call["tool"] for call in recorded} == {"date", "buildah", "smoke-test-base-image"}  # no docker
    for call in recorded:
        if call["tool"] == "buildah":
            assert call["env"] == {"BUILDAH_FORMAT": "docker", "BUILDAH_ISOLATION": "chroot", "STORAGE_DRIVER": "vfs"}


def test_build_args_are_the_ones_the_base_image_dockerfile_declares(build_base_image):
    result, recorded = build_base_image()

    assert result.returncode == 0, result.stderr
    (args,) = [call["args"] for call in recorded if call["tool"] == "buildah" and call["args"][0] == "build"]
    passed = dict(args[i + 1].split("=", 1) for i, arg in enumerate(args) if arg == "--build-arg")
    declared = set(re.findall(r"^ARG (\w+)", DOCKERFILE.read_text(), flags=re.MULTILINE))
    assert set(passed) == LABEL_ARGS
    assert declared >= LABEL_ARGS
    assert passed == {
        "PYTHON_VERSION": "3.13",
        "IMAGE_SOURCE": PROJECT_URL,
        "IMAGE_REVISION": COMMIT,
        "IMAGE_CREATED": CREATED,
        "IMAGE_VERSION": f"3.13-{TODAY}",
    }
    assert [args[i + 1] for i, arg in enumerate(args) if arg == "--tag"] == [DATED, MOVING]
    # Every build starts from the newest upstream image (the weekly rebuild's point).
    assert {"--pull=always", "--no-cache"} <= set(args)
    assert args[-1] == "base-image"
    assert all(call["args"][0] == "-u" for call in recorded if call["tool"] == "date"), "the date in UTC"


@pytest.mark.parametrize("credentials", ["job-token", "deploy-token"])
def test_base_image_is_checked_then_pushed_dated_tag_first(build_base_image, credentials):
    deploy_token = {"BASE_IMAGE_REGISTRY_USER": "deploy-token-user", "BASE_IMAGE_REGISTRY_PASSWORD": "made-up-deploy"}

    result, recorded = build_base_image(PUSH="true", **(deploy_token if credentials == "deploy-token" else {}))

    assert result.returncode == 0, result.stderr
    steps = [(call["tool"], call["args"][0]) for call in recorded if call["tool"] != "date"]
    assert steps == [
        ("buildah", "build"),
        ("buildah", "inspect"),
        ("smoke-test-base-image", DATED),
        ("buildah", "login"),
        ("buildah", "push"),
        ("buildah", "push"),
    ]
    smoke, login, *pushes = recorded[-4:]
    assert smoke["args"] == [DATED, "3.13"]
    if credentials == "job-token":
        user, password = "gitlab-ci-token", PASSWORD
    else:
        user, password = deploy_token["BASE_IMAGE_REGISTRY_USER"], deploy_token["BASE_IMAGE_REGISTRY_PASSWORD"]
    assert login["args"] == ["login", "--username", user, "--password-stdin", REPOSITORY.split("/")[0]]
    assert login["stdin"] == password  # on stdin, never on the command line
    # The dated tag first: the moving <python> tag only ever names a pushed, dated image.
    assert [push["args"] for push in pushes] == [["push", DATED], ["push", MOVING]]


def test_a_failing_image_check_stops_the_job_before_any_push(pipeline, build_base_image):
    assert "allow_failure" not in pipeline["base-image"]

    result, recorded = build_base_image(PUSH="true", STUB_SMOKE_TEST_FAILS="1")

    assert result.returncode != 0
    assert "smoke test FAILED" in result.stderr
    assert not [call for call in recorded if call["tool"] == "buildah" and call["args"][0] in ("login", "push")]


def test_without_push_the_image_is_only_built_and_checked(build_base_image):
    result, recorded = build_base_image()

    assert result.returncode == 0, result.stderr
    assert [call["tool"] for call in recorded if call["tool"] != "date"][-1] == "smoke-test-base-image"
    assert f"Built {DATED}; not pushed (PUSH=false)." in result.stdout


@pytest.fixture(scope="module", params=PYTHON_VERSIONS)
def built_base_image(request) -> tuple[str, str, dict[str, str]]:
    """The base image of every supported Python version as tests/containers builds it, its
    version, and the environment that points buildah at the same image store."""
    if shutil.which("buildah") is None:
        unavailable("buildah is not installed")
    version = request.param
    podman = images.podman_for(python_image(version))
    image = images.base_image(podman, version)
    env = {**podman.env, "BUILDAH_ISOLATION": "chroot", **images.cron_runner_choice().build_args}
    return image, version, env


def smoke_test(image: str, python_version: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SMOKE_TEST, image, python_version], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.container
def test_smoke_test_passes_on_the_base_image(built_base_image):
    image, version, env = built_base_image

    result = smoke_test(image, version, env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Python {version}." in result.stdout
    assert "SMOKE_TEST_SECRET_FILE -> SMOKE_TEST_SECRET" in result.stdout
    assert "healthcheck: unhealthy: no answer from http://127.0.0.1:1/health/" in result.stdout
    assert f"smoke test of {image} passed" in result.stdout


@pytest.mark.container
def test_smoke_test_fails_on_a_broken_image(built_base_image):
    """The wrong Python, or an image whose entrypoint no longer maps *_FILE variables."""
    image, version, env = built_base_image
    wrong = next(other for other in PYTHON_VERSIONS if other != version)
    assert smoke_test(image, wrong, env).returncode != 0

    broken = f"localhost/dct-smoke-broken-{uuid.uuid4().hex[:8]}"
    container = run(["buildah", "from", "--pull=never", "--quiet", image], cwd=TEMPLATE_DIR, env=env).stdout.strip()
    try:
        run(
            [
                "buildah",
                "run",
                "--user",
                "0:0",
                container,
                "--",
                "sh",
                "-c",
                "printf '#!/bin/sh\\nexec \"$@\"\\n' >/usr/local/bin/entrypoint",
            ],
            cwd=TEMPLATE_DIR,
            env=env,
        )
        run(["buildah", "commit", "--quiet", "--format", "docker", container, broken], cwd=TEMPLATE_DIR, env=env)
        result = smoke_test(broken, version, env)
    finally:
        subprocess.run(["buildah", "rm", container], env=env, capture_output=True, check=False)
        subprocess.run(["buildah", "rmi", broken], env=env, capture_output=True, check=False)

    assert result.returncode != 0
    assert "the entrypoint mapped SMOKE_TEST_SECRET_FILE" in result.stderr


# ---- which jobs each kind of pipeline gets ---------------------------------------------------

# Each kind of pipeline: the file its commit changes (None: nothing), and the jobs it runs
# (None: the workflow rules create no pipeline).
DOCKERFILE_CHANGE = "base-image/Dockerfile"
SCRIPT_CHANGE = ".ci/build-base-image"
CASES = {
    "merge-request": (merge_request(), None, {"test"}),
    "merge-request-changing-the-base-image": (merge_request(), DOCKERFILE_CHANGE, {"test", *BASE_IMAGE_JOBS}),
    "merge-request-changing-its-build-script": (merge_request(), SCRIPT_CHANGE, {"test", *BASE_IMAGE_JOBS}),
    "push-to-main": (branch(DEFAULT_BRANCH), None, {"test"}),
    "push-to-main-changing-the-base-image": (branch(DEFAULT_BRANCH), DOCKERFILE_CHANGE, {"test", *BASE_IMAGE_JOBS}),
    "push-to-a-branch": (branch("feature"), None, {"test"}),
    "push-to-a-branch-changing-the-base-image": (branch("feature"), DOCKERFILE_CHANGE, {"test"}),
    "push-to-a-branch-with-an-open-merge-request": (
        branch("feature", CI_OPEN_MERGE_REQUESTS="agency/t!7"),
        DOCKERFILE_CHANGE,
        None,
    ),
    "weekly-schedule": (branch(DEFAULT_BRANCH, "schedule"), None, BASE_IMAGE_JOBS),
    "tag": (tag("v1.0.0"), None, {"test"}),
}


@pytest.fixture(scope="module")
def template_repos(tmp_path_factory):
    """gitlab-ci-local with the workflow probe in a copy of the template (a git repo whose
    origin/main is its commit), as it is or with a commit that changes one file: made once
    per module and change, each listing shared. `changes` compares the working tree with
    origin/main."""
    repos: dict[str | None, GitlabCiLocal] = {}

    def repo_for(changed: str | None) -> GitlabCiLocal:
        if changed not in repos:
            path = tmp_path_factory.mktemp("template") / "template"
            repo = TemplateRepo.copy_of_working_tree(path, git_environment(path.parent / "home"))
            repo.commit("The template")
            repo.add_gitlab_remote("https://gitlab.example.com/agency/django-container-template.git", DEFAULT_BRANCH)
            if changed:
                repo.append_line(changed, "# A change.")
                repo.commit(f"Change {changed}")
            repos[changed] = GitlabCiLocal(repo.path, workflow_probe=True)
        return repos[changed]

    return repo_for


@pytest.mark.parametrize(("kind", "changed", "expected"), CASES.values(), ids=CASES)
def test_pipeline_jobs(template_repos, kind, changed, expected):
    gcl = template_repos(changed)

    assert set(gcl.jobs(kind)) - {PROBE} == {"test", *BASE_IMAGE_JOBS}
    created = gcl.created_jobs(kind)
    assert (None if created is None else set(created)) == expected


@pytest.mark.parametrize(
    ("kind", "pushes"),
    [(branch(DEFAULT_BRANCH, "schedule"), True), (branch(DEFAULT_BRANCH), True), (merge_request(), False)],
    ids=["weekly-schedule", "push-to-main", "merge-request"],
)
def test_the_base_image_job_pushes_where_its_rules_say(tmp_path, kind, pushes):
    """The job run by gitlab-ci-local (shell executor) on a change to base-image/: the PUSH
    its rules set reaches the script. A stand-in replaces the smoke test in the copy."""
    repo = TemplateRepo.copy_of_working_tree(tmp_path / "template", git_environment(tmp_path / "home"))
    stubs = stand_ins(tmp_path / "stubs", ("buildah", "date"), FIXED_DATE, env=BUILDAH_ENV)
    stand_ins(repo.path / ".ci", ("smoke-test-base-image",), SMOKE_TEST_FAILS, log=stubs / LOG)
    repo.commit("The template, with a stand-in smoke test")
    repo.add_gitlab_remote("https://gitlab.example.com/agency/django-container-template.git", DEFAULT_BRANCH)
    repo.append_line("base-image/Dockerfile", "# A change to the base image.")
    repo.commit("Change the base image")
    registry = {"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": PASSWORD}

    result = GitlabCiLocal(repo.path).run_jobs(kind, "base-image: [3.13]", variables=registry, env=path_with(stubs))

    recorded = calls(stubs)
    assert [call["args"] for call in recorded if call["tool"] == "smoke-test-base-image"] == [[DATED, "3.13"]]
    pushed = [call["args"][1] for call in recorded if call["tool"] == "buildah" and call["args"][0] == "push"]
    assert pushed == ([DATED, MOVING] if pushes else [])
    assert "PASS  base-image: [3.13]" in result.stdout
