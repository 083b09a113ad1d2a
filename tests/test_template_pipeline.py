"""The template repository's own pipeline: the top-level .gitlab-ci.yml.

Checked against GitLab's schema (check-jsonschema), for consistency with cookiecutter.json
and base-image/Dockerfile, with shellcheck, by running the base-image job's smoke test
(.ci/smoke-test-base-image, with buildah) on the test suite's base image, and with
gitlab-ci-local (tests/gitlab.py) listing the jobs of a push to main, a feature branch,
the weekly schedule, a merge request and a tag: job rules, `changes` against origin/main
included, and the workflow rules through the probe job.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid

import pytest
import yaml

from tests import podman as podman_module
from tests.answers import COOKIECUTTER_JSON, TEMPLATE_DIR
from tests.gitlab import DEFAULT_BRANCH, PROBE, GitlabCiLocal, branch, merge_request, tag
from tests.helpers import run, tool
from tests.require import unavailable
from tests.template_repo import TemplateRepo, git_environment

PIPELINE_FILE = TEMPLATE_DIR / ".gitlab-ci.yml"
DOCKERFILE = TEMPLATE_DIR / "base-image" / "Dockerfile"
SMOKE_TEST = TEMPLATE_DIR / ".ci" / "smoke-test-base-image"
LABEL_ARGS = {"PYTHON_VERSION", "IMAGE_SOURCE", "IMAGE_REVISION", "IMAGE_CREATED", "IMAGE_VERSION"}
BASE_IMAGE_JOBS = {f"base-image: [{version}]" for version in COOKIECUTTER_JSON["python_version"]}


@pytest.fixture(scope="module")
def pipeline() -> dict:
    return yaml.safe_load(PIPELINE_FILE.read_text())


def script_of(job: dict) -> str:
    return "\n".join(job.get("before_script", []) + job["script"])


def test_pipeline_passes_gitlabs_schema():
    run(
        [
            tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.gitlab-ci",
            "--data-transform",
            "gitlab-ci",
            PIPELINE_FILE,
        ],
        cwd=TEMPLATE_DIR,
    )


def test_the_test_job_runs_the_template_suite(pipeline):
    assert "bash .ci/run" in pipeline["test"]["script"]
    assert "make test" in (TEMPLATE_DIR / ".ci" / "run").read_text()


def test_base_image_is_built_for_every_supported_python(pipeline):
    assert pipeline["base-image"]["parallel"]["matrix"] == [{"PYTHON_VERSION": COOKIECUTTER_JSON["python_version"]}]


def test_base_image_is_pushed_where_generated_projects_pull_it_from(pipeline):
    assert pipeline["variables"]["BASE_IMAGE_REPOSITORY"] == COOKIECUTTER_JSON["base_image"]


def test_build_args_are_the_ones_the_base_image_dockerfile_declares(pipeline):
    script = script_of(pipeline["base-image"])
    passed = set(re.findall(r"--build-arg (\w+)=", script))
    declared = set(re.findall(r"^ARG (\w+)", DOCKERFILE.read_text(), flags=re.MULTILINE))

    assert passed == LABEL_ARGS
    assert passed <= declared
    assert '--tag "$BASE_IMAGE_REPOSITORY:$PYTHON_VERSION-$today"' in script
    assert '--tag "$BASE_IMAGE_REPOSITORY:$PYTHON_VERSION"' in script
    assert re.search(r"today=\$\(date -u \+%Y%m%d\)", script)


def test_images_are_built_by_buildah_without_privileges(pipeline):
    job = pipeline["base-image"]
    assert job["image"] == "$BUILDAH_IMAGE"
    assert pipeline["variables"]["BUILDAH_IMAGE"].startswith("quay.io/buildah/stable:v")
    assert job["variables"]["BUILDAH_FORMAT"] == "docker"
    assert job["variables"]["BUILDAH_ISOLATION"] == "chroot"
    assert "services" not in job
    assert "docker " not in script_of(job)
    assert "dind" not in PIPELINE_FILE.read_text()


def test_only_the_schedule_and_the_default_branch_push(pipeline):
    job = pipeline["base-image"]
    assert job["variables"]["PUSH"] == "false"
    pushing = [rule["if"] for rule in job["rules"] if rule.get("variables", {}).get("PUSH") == "true"]
    assert pushing == [
        '$CI_PIPELINE_SOURCE == "schedule"',
        '$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE == "push"',
    ]


def test_base_image_is_smoke_tested_before_anything_is_pushed(pipeline):
    script = pipeline["base-image"]["script"]
    smoke = '.ci/smoke-test-base-image "$BASE_IMAGE_REPOSITORY:$PYTHON_VERSION-$today" "$PYTHON_VERSION"'
    position = {
        "build": next(i for i, line in enumerate(script) if line.startswith("buildah build")),
        "smoke": script.index(smoke),
        "push": next(i for i, line in enumerate(script) if "buildah push" in line),
    }
    assert position["build"] < position["smoke"] < position["push"]
    # Every pipeline that builds runs it (merge requests too), and a failure stops the job.
    assert not any("exit 0" in line for line in script[: position["smoke"]])
    assert "allow_failure" not in pipeline["base-image"]


def test_smoke_test_script_passes_shellcheck():
    text = SMOKE_TEST.read_text()
    assert SMOKE_TEST.stat().st_mode & 0o111, "not executable"
    assert text.startswith("#!/bin/sh\n")
    assert "\nset -eu\n" in text
    run([tool("shellcheck"), "--shell=sh", SMOKE_TEST], cwd=TEMPLATE_DIR)


@pytest.fixture(scope="module")
def built_base_image() -> tuple[str, dict[str, str]]:
    """The base image as tests/podman.py builds it (stand-in python, no network), and the
    environment that points buildah at the same image store."""
    if shutil.which("buildah") is None:
        unavailable("buildah is not installed")
    reason = podman_module.unavailable_reason()
    if reason:
        unavailable(reason)
    podman = podman_module.Podman()
    image = podman_module.base_image(podman, "3.13")
    cron = podman_module.cron_runner_choice()
    env = {**podman.env, "BUILDAH_ISOLATION": "chroot", **cron.build_args}
    return image, env


def smoke_test(image: str, python_version: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SMOKE_TEST, image, python_version], env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.mark.container
def test_smoke_test_passes_on_the_base_image(built_base_image):
    image, env = built_base_image

    result = smoke_test(image, "3.13", env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Python 3.13." in result.stdout
    assert "SMOKE_TEST_SECRET_FILE -> SMOKE_TEST_SECRET" in result.stdout
    assert "healthcheck: unhealthy: no answer from http://127.0.0.1:1/health/" in result.stdout
    assert f"smoke test of {image} passed" in result.stdout


@pytest.mark.container
def test_smoke_test_fails_on_a_broken_image(built_base_image):
    """The wrong Python, or an image whose entrypoint no longer maps *_FILE variables."""
    image, env = built_base_image
    assert smoke_test(image, "3.12", env).returncode != 0

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
        result = smoke_test(broken, "3.13", env)
    finally:
        subprocess.run(["buildah", "rm", container], env=env, capture_output=True, check=False)
        subprocess.run(["buildah", "rmi", broken], env=env, capture_output=True, check=False)

    assert result.returncode != 0
    assert "the entrypoint mapped SMOKE_TEST_SECRET_FILE" in result.stderr


@pytest.mark.parametrize("name", ["test", "base-image"])
def test_job_scripts_pass_shellcheck(pipeline, tmp_path, name):
    script = tmp_path / f"{name}.sh"
    script.write_text("#!/bin/bash\nset -e\n" + script_of(pipeline[name]) + "\n")

    run([tool("shellcheck"), "--shell=bash", script], cwd=tmp_path)


# ---- which jobs each kind of pipeline gets ---------------------------------------------------

# Each kind of pipeline: whether it changes base-image/, and the jobs it runs (None: the
# workflow rules create no pipeline).
CASES = {
    "merge-request": (merge_request(), False, {"test"}),
    "merge-request-changing-the-base-image": (merge_request(), True, {"test", *BASE_IMAGE_JOBS}),
    "push-to-main": (branch(DEFAULT_BRANCH), False, {"test"}),
    "push-to-main-changing-the-base-image": (branch(DEFAULT_BRANCH), True, {"test", *BASE_IMAGE_JOBS}),
    "push-to-a-branch": (branch("feature"), False, {"test"}),
    "push-to-a-branch-changing-the-base-image": (branch("feature"), True, {"test"}),
    "push-to-a-branch-with-an-open-merge-request": (
        branch("feature", CI_OPEN_MERGE_REQUESTS="agency/t!7"),
        True,
        None,
    ),
    "weekly-schedule": (branch(DEFAULT_BRANCH, "schedule"), False, BASE_IMAGE_JOBS),
    "tag": (tag("v1.0.0"), False, {"test"}),
}


@pytest.fixture(scope="module")
def template_repos(tmp_path_factory):
    """gitlab-ci-local with the workflow probe in a copy of the template (a git repo whose
    origin/main is its commit), as it is or with a commit that changes base-image/: made once
    per module, each listing shared. `changes` compares the working tree with origin/main."""
    repos: dict[bool, GitlabCiLocal] = {}

    def repo_for(changes_base_image: bool) -> GitlabCiLocal:
        if changes_base_image not in repos:
            path = tmp_path_factory.mktemp("template") / "template"
            repo = TemplateRepo.copy_of_working_tree(path, git_environment(path.parent / "home"))
            repo.commit("The template")
            repo.add_gitlab_remote("https://gitlab.example.com/agency/django-container-template.git", DEFAULT_BRANCH)
            if changes_base_image:
                repo.append_line("base-image/Dockerfile", "# A change to the base image.")
                repo.commit("Change the base image")
            repos[changes_base_image] = GitlabCiLocal(repo.path, workflow_probe=True)
        return repos[changes_base_image]

    return repo_for


@pytest.mark.parametrize(("kind", "changes_base_image", "expected"), CASES.values(), ids=CASES)
def test_pipeline_jobs(template_repos, kind, changes_base_image, expected):
    gcl = template_repos(changes_base_image)

    assert set(gcl.jobs(kind)) - {PROBE} == {"test", *BASE_IMAGE_JOBS}
    created = gcl.created_jobs(kind)
    assert (None if created is None else set(created)) == expected
