"""The generated project's GitLab pipeline: valid, the right jobs in each pipeline, and its
jobs really run (gitlab-ci-local's shell executor, with stand-ins for buildah, skopeo and
curl where a job would talk to a registry or a host).

gitlab-ci-local evaluates job rules, needs and variables like GitLab, but not the
`when: never` of workflow:rules; the workflow rules are checked twice: by the evaluator
in tests/gitlab.py, and by gitlab-ci-local itself on a probe job that carries them
(`.gitlab-ci-local.yml`, the file gitlab-ci-local merges over the pipeline).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.answers import DEFAULTS, OPTION_SETS, PYTHON_VERSIONS, answer_id, with_answers
from tests.gitlab import (
    DEFAULT_BRANCH,
    GitlabCiLocal,
    Pipeline,
    branch,
    commit_all,
    evaluate_if,
    git,
    git_repo,
    global_variables,
    merge_request,
    tag,
    workflow_runs,
)
from tests.helpers import BIN, database_url, path_with, run, tool
from tests.require import port_open, unavailable
from tests.template_repo import TemplateRepo, cruft_create, git_environment

# Everything the pipeline's template depends on: Celery (services and variables of the
# test job) and the Python version (the template-drift job's image). The static checks
# run on every answer set.
ALL_ANSWER_SETS = [*OPTION_SETS, *({"python_version": version} for version in PYTHON_VERSIONS[1:])]
PIPELINE_ANSWER_SETS = [{"use_celery": True}, {"use_celery": False}]

CHECK_JOBS = {"test", "lint", "check-deploy", "audit"}
VERIFY_JOBS = {"build", *CHECK_JOBS, "verified"}
PIPELINES: dict[str, tuple[Pipeline, set[str]]] = {
    "merge-request": (merge_request(), VERIFY_JOBS),
    "default-branch": (branch(DEFAULT_BRANCH), VERIFY_JOBS),
    "other-branch": (branch("feature"), set()),
    "rc-tag": (tag("v1.2.0-rc1", "rc-tag"), {"promote-acceptance", "deploy-acceptance"}),
    "release-tag": (tag("v1.2.0", "release-tag"), {"promote-production", "deploy-production"}),
    "other-tag": (tag("v1.2", "other-tag"), set()),
}
NO_PIPELINE = {"other-branch", "other-tag"}
PROBE = "workflow-rules-probe"
CI_FILE = [".gitlab-ci.yml"]


# ---- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def config(project) -> dict:
    return yaml.safe_load((project / ".gitlab-ci.yml").read_text())


def with_workflow_probe(repo: Path, config: dict) -> Path:
    """A job that carries the workflow rules, so that gitlab-ci-local evaluates them too."""
    probe = {PROBE: {"stage": ".pre", "script": ["true"], "rules": config["workflow"]["rules"]}}
    (repo / ".gitlab-ci-local.yml").write_text(yaml.safe_dump(probe))
    return repo


@pytest.fixture(scope="module")
def gcl(project, config, tmp_path_factory) -> GitlabCiLocal:
    """gitlab-ci-local in a git repo of the baked project, with the workflow probe."""
    repo = git_repo(project, tmp_path_factory.mktemp("pipeline") / "my-project")
    return GitlabCiLocal(with_workflow_probe(repo, config))


@pytest.fixture(scope="module")
def default_gcl(default_project, tmp_path_factory) -> GitlabCiLocal:
    """The same for the default answers, for the checks that do not depend on the answers."""
    config = yaml.safe_load((default_project / ".gitlab-ci.yml").read_text())
    repo = git_repo(default_project, tmp_path_factory.mktemp("default-pipeline") / "my-project")
    return GitlabCiLocal(with_workflow_probe(repo, config))


@pytest.fixture
def job_runner(default_project, tmp_path) -> GitlabCiLocal:
    """gitlab-ci-local in a fresh git repo of the default project, to run jobs in."""
    return GitlabCiLocal(git_repo(default_project, tmp_path / "my-project"))


@pytest.fixture(scope="module")
def expanded(gcl) -> dict:
    """The pipeline with `extends` and `default` resolved, as gitlab-ci-local reads it."""
    jobs = yaml.safe_load(gcl("--preview").stdout)
    jobs.pop(PROBE)
    return jobs


@pytest.fixture
def stubs(tmp_path) -> Path:
    """Stand-ins for buildah, skopeo and curl: each records its arguments (and stdin when it
    is a login) as one JSON line in calls.jsonl. `skopeo inspect --raw` prints a fixed
    manifest, `skopeo inspect` the image's labels (org.opencontainers.image.revision is
    STUB_REVISION); both fail as for a missing image when STUB_NO_IMAGE=1, or when the
    reference is one of the space-separated STUB_MISSING."""
    directory = tmp_path / "stubs"
    directory.mkdir()
    log = tmp_path / "calls.jsonl"
    script = f"""#!{sys.executable}
import json, os, sys
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
stdin = sys.stdin.read() if "--password-stdin" in args else None
env = {{name: os.environ.get(name) for name in ("BUILDAH_FORMAT", "STORAGE_DRIVER")}}
with open({str(log)!r}, "a") as log:
    log.write(json.dumps({{"tool": tool, "args": args, "stdin": stdin, "env": env}}) + "\\n")
if tool == "skopeo" and args[:1] == ["inspect"]:
    if os.environ.get("STUB_NO_IMAGE") == "1" or args[-1] in os.environ.get("STUB_MISSING", "").split():
        sys.exit("FATA[0000] Error parsing image name: manifest unknown")
    if "--raw" in args:
        sys.stdout.write({MANIFEST!r})
    else:
        labels = {{"org.opencontainers.image.revision": os.environ.get("STUB_REVISION", "")}}
        sys.stdout.write(json.dumps({{"Name": args[-1], "Labels": labels}}, indent=4))
"""
    for name in ("buildah", "skopeo", "curl"):
        (directory / name).write_text(script)
        (directory / name).chmod(0o755)
    return directory


MANIFEST = '{"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json"}'


def calls(stubs: Path) -> list[dict]:
    log = stubs.parent / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


# ---- the file itself ------------------------------------------------------------------


@with_answers(*ALL_ANSWER_SETS)
def test_pipeline_matches_gitlab_schema(project):
    run(
        [tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", "--data-transform", "gitlab-ci", *CI_FILE],
        cwd=project,
    )


@with_answers(*ALL_ANSWER_SETS)
def test_ci_scripts_pass_shellcheck(project):
    scripts = sorted((project / "ci").iterdir())
    assert scripts
    for script in scripts:
        text = script.read_text()
        assert os.access(script, os.X_OK), f"{script.name} is not executable"
        assert text.startswith("#!/bin/sh\n"), f"{script.name}: POSIX sh, so it runs in every job image"
        assert "\nset -eu\n" in text, f"{script.name} lacks set -eu"
    run([tool("shellcheck"), "--shell=sh", *scripts], cwd=project)


@with_answers(*ALL_ANSWER_SETS)
def test_every_job_runs_one_script_of_ci_and_every_script_is_used(project):
    config = yaml.safe_load((project / ".gitlab-ci.yml").read_text())
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
def test_tag_patterns_are_variables_with_the_documented_defaults(config):
    variables = global_variables(config)
    rc, release = variables["RC_TAG_PATTERN"], variables["RELEASE_TAG_PATTERN"]
    # No backslash escapes: gitlab-ci-local misreads them in a pattern held in a variable.
    assert "\\" not in rc + release
    cases = {
        "v1.2.0-rc1": "rc",
        "1.2.0-rc1": "rc",
        "v10.20.30-rc12": "rc",
        "v1.2.0": "release",
        "1.2.0": "release",
        "10.20.30": "release",
        "v1.2": None,
        "v1.2.0-beta1": None,
        "v1.2.0-rc": None,
        "v1.2.0-rc1-fix": None,
        "v1.2.0.1": None,
        "release-1.2.0": None,
        "V1.2.0": None,
        "v1x2x0": None,
    }
    for name, kind in cases.items():
        matches = {
            pattern
            for pattern in ("rc", "release")
            if evaluate_if(f"$CI_COMMIT_TAG =~ ${pattern.upper()}_TAG_PATTERN", {**variables, "CI_COMMIT_TAG": name})
        }
        assert matches == ({kind} if kind else set()), name


@with_answers(*PIPELINE_ANSWER_SETS)
def test_workflow_rules_create_one_pipeline_per_push(config):
    """Evaluated from the parsed YAML: MR, default branch and matching tags only, and never a
    branch pipeline next to the merge request pipeline of the same push."""
    rules, variables = config["workflow"]["rules"], global_variables(config)
    for name, (pipeline, _) in PIPELINES.items():
        assert workflow_runs(rules, {**variables, **pipeline.variables}) is (name not in NO_PIPELINE), name
    # One push to a branch with an open merge request: GitLab considers a branch pipeline
    # and a merge request pipeline; exactly one may run.
    branch_push = branch("feature", CI_OPEN_MERGE_REQUESTS="agency/my-project!7").variables
    assert not workflow_runs(rules, {**variables, **branch_push})
    assert workflow_runs(rules, {**variables, **merge_request("feature").variables})
    # Scheduled and web pipelines of the default branch run (a nightly audit, say).
    for source in ("schedule", "web"):
        assert workflow_runs(rules, {**variables, **branch(DEFAULT_BRANCH, CI_PIPELINE_SOURCE=source).variables})


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
        config = yaml.safe_load((bake(**{**DEFAULTS, "python_version": version}) / ".gitlab-ci.yml").read_text())
        assert config["template-drift"]["image"] == f"python:{version}"
        assert config["template-drift"]["allow_failure"] is True
        assert all(rule["exists"] == [".cruft.json"] for rule in config["template-drift"]["rules"])


# ---- which jobs run in which pipeline (gitlab-ci-local) -------------------------------


@with_answers(*PIPELINE_ANSWER_SETS)
@pytest.mark.parametrize("case", PIPELINES)
def test_jobs_of_each_pipeline(gcl, config, case):
    pipeline, expected = PIPELINES[case]

    active = gcl.active_jobs(pipeline)

    assert set(active) - {PROBE} == expected
    # The workflow rules, by gitlab-ci-local's own rules engine and by the evaluator here.
    assert (PROBE in active) is (case not in NO_PIPELINE)
    variables = {**global_variables(config), **pipeline.variables}
    assert workflow_runs(config["workflow"]["rules"], variables) is (case not in NO_PIPELINE)


@with_answers(*PIPELINE_ANSWER_SETS)
@pytest.mark.parametrize("case", PIPELINES)
def test_dependency_chain_is_valid(gcl, case):
    pipeline, _ = PIPELINES[case]
    result = gcl("--validate-dependency-chain", *pipeline.gitlab_ci_local_args())
    assert "All job dependencies are valid" in result.stdout
    assert "json schema validated" in result.stderr  # gitlab-ci-local's own schema check passed too


def test_jobs_fail_fast_and_wait_only_for_what_they_need(default_gcl):
    verify = default_gcl.active_jobs(PIPELINES["merge-request"][0])
    rc = default_gcl.active_jobs(PIPELINES["rc-tag"][0])
    release = default_gcl.active_jobs(PIPELINES["release-tag"][0])
    needs = {
        name: sorted(need["job"] for need in job["needs"])
        for name, job in {**verify, **rc, **release}.items()
        if name != PROBE
    }
    assert needs == {
        "build": [],
        "test": ["build"],
        "lint": ["build"],
        "check-deploy": ["build"],
        "audit": ["build"],
        "verified": sorted(CHECK_JOBS),
        "promote-acceptance": [],
        "deploy-acceptance": ["promote-acceptance"],
        "promote-production": [],
        "deploy-production": ["promote-production"],
    }
    assert not any(job["allow_failure"] for name, job in verify.items() if name != PROBE)


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
            "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH": False,
        }, name
    for name in ("promote-acceptance", "deploy-acceptance", "promote-production", "deploy-production"):
        assert expanded[name]["interruptible"] is False, name


@pytest.mark.parametrize(
    ("tag_name", "expected"),
    [
        ("1.2.0-rc12", {"promote-acceptance", "deploy-acceptance"}),
        ("10.20.30", {"promote-production", "deploy-production"}),
        ("v1.2.0-beta1", set()),
        ("v1.2.0-rc1-fix", set()),
        ("release-1.2.0", set()),
    ],
)
def test_tags_of_other_shapes(default_gcl, tag_name, expected):
    active = default_gcl.active_jobs(tag(tag_name))
    assert set(active) - {PROBE} == expected
    assert (PROBE in active) is bool(expected)


def test_a_project_can_change_the_tag_patterns(default_gcl):
    custom = {"RELEASE_TAG_PATTERN": "/^release-[0-9]+$/"}
    assert set(default_gcl.active_jobs(tag("release-42"), custom)) == {PROBE, "promote-production", "deploy-production"}
    assert set(default_gcl.active_jobs(tag("v1.2.0"), custom)) == set()


def test_template_drift_runs_when_the_project_has_cruft_json(job_runner):
    repo = job_runner.repo
    (repo / ".cruft.json").write_text('{"template": "https://example.com/template.git"}\n')
    commit_all(repo, "Link to the template")

    for case in ("merge-request", "default-branch", "release-tag"):
        pipeline, expected = PIPELINES[case]
        active = job_runner.active_jobs(pipeline)
        drift = {"template-drift"} if case in ("merge-request", "default-branch") else set()
        assert set(active) - {PROBE} == expected | drift, case
        if drift:
            assert active["template-drift"]["allow_failure"] is True
            assert active["template-drift"]["needs"] == []


# ---- the jobs run (gitlab-ci-local, shell executor) -----------------------------------


@pytest.mark.slow
def test_build_job_builds_both_targets_and_pushes_them_by_commit(job_runner, stubs):
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    password = {"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "made-up-job-token"}

    job_runner.run_jobs(branch(DEFAULT_BRANCH), "build", variables=password, env=path_with(stubs))

    image = "local-registry.gitlab.example.com/agency/my-project"
    recorded = calls(stubs)
    assert recorded[0]["args"][:3] == ["login", "--username", "gitlab-ci-token"]
    assert recorded[0]["stdin"] == "made-up-job-token"  # on stdin, never on the command line
    assert "made-up-job-token" not in json.dumps([call["args"] for call in recorded])
    builds = [call for call in recorded if "build" in call["args"]]
    pushes = [call["args"] for call in recorded if "push" in call["args"]]
    assert [call["args"][call["args"].index("--target") + 1] for call in builds] == ["production", "development"]
    for call in builds:
        args = call["args"]
        assert args[:3] == ["--storage-driver", "vfs", "build"]
        assert call["env"]["BUILDAH_FORMAT"] == "docker"  # keeps the HEALTHCHECK
        assert {"--layers", f"COMMIT_HASH={sha}"} <= set(args)
        assert args[args.index("--cache-from") + 1] == args[args.index("--cache-to") + 1] == f"{image}/cache"
        assert args[-1] == "."
    assert [args[args.index("--tag") + 1] for args in (call["args"] for call in builds)] == [
        f"{image}:{sha}",
        f"{image}/development:{sha}",
    ]
    assert pushes == [
        ["--storage-driver", "vfs", "push", f"{image}:{sha}"],
        ["--storage-driver", "vfs", "push", f"{image}/development:{sha}"],
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("case", "environment"), [("rc-tag", "acceptance"), ("release-tag", "production")])
def test_tag_pipeline_promotes_the_verified_image_and_deploys_it_by_digest(job_runner, stubs, case, environment):
    pipeline, _ = PIPELINES[case]
    git_tag = pipeline.variables["CI_COMMIT_TAG"]
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    webhook = {"DEPLOY_WEBHOOK_URL": "https://hooks.example.com/deploy/made-up"}

    result = job_runner.run_jobs(pipeline, "--needs", f"deploy-{environment}", variables=webhook, env=path_with(stubs))

    image = "local-registry.gitlab.example.com/agency/my-project"
    digest = "sha256:" + hashlib.sha256(MANIFEST.encode()).hexdigest()
    recorded = [call["args"] for call in calls(stubs)]
    assert not any(call["tool"] == "buildah" for call in calls(stubs)), "tag pipelines never build"
    verified = f"docker://{image}:verified-{sha}"
    assert recorded[:3] == [
        ["inspect", "--raw", verified],
        ["copy", "--all", "--preserve-digests", verified, f"docker://{image}:{git_tag}"],
        ["copy", "--all", "--preserve-digests", verified, f"docker://{image}:{environment}"],
    ]
    curl = recorded[3]
    assert curl[-1] == webhook["DEPLOY_WEBHOOK_URL"]
    body = json.loads(curl[curl.index("--data") + 1])
    assert body == {"environment": environment, "image": f"{image}@{digest}", "tag": git_tag, "commit": sha}
    assert f"PASS  deploy-{environment}" in result.stdout


@pytest.mark.slow
def test_verified_job_marks_the_image_of_the_commit(job_runner, stubs):
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    password = {"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "made-up-job-token"}

    result = job_runner.run_jobs(branch(DEFAULT_BRANCH), "verified", variables=password, env=path_with(stubs))

    image = "local-registry.gitlab.example.com/agency/my-project"
    recorded = calls(stubs)
    assert [call["tool"] for call in recorded] == ["skopeo", "skopeo"]
    assert recorded[0]["args"][:3] == ["login", "--username", "gitlab-ci-token"]
    assert recorded[0]["stdin"] == "made-up-job-token"
    assert recorded[1]["args"] == [
        "copy",
        "--all",
        "--preserve-digests",
        f"docker://{image}:{sha}",
        f"docker://{image}:verified-{sha}",
    ]
    assert "PASS  verified" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("case", ["no-image", "unverified-image", "release-tag-of-another-commit"])
def test_promote_fails_clearly_when_the_commit_has_no_verified_image(job_runner, stubs, case):
    """No image at all, an image whose checks did not pass (no verified- tag), or a leftover
    image under the git tag's name that was built from another commit: nothing is copied."""
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    image = "local-registry.gitlab.example.com/agency/my-project"
    stub_env = {
        "no-image": {"STUB_NO_IMAGE": "1"},
        "unverified-image": {"STUB_MISSING": f"docker://{image}:verified-{sha} docker://{image}:v1.2.0-rc1"},
        "release-tag-of-another-commit": {
            "STUB_MISSING": f"docker://{image}:verified-{sha}",
            "STUB_REVISION": "0" * 40,
        },
    }[case]

    result = job_runner.run_jobs(
        PIPELINES["rc-tag"][0], "promote-acceptance", env={**path_with(stubs), **stub_env}, check=False
    )

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"no verified image for {sha}: did its pipeline pass?" in output
    assert "tag pipelines never build" in output
    assert [call["args"][0] for call in calls(stubs)] == ["inspect", "inspect"]  # nothing copied
    assert calls(stubs)[0]["args"] == ["inspect", "--raw", f"docker://{image}:verified-{sha}"]


@pytest.mark.slow
def test_promote_rolls_back_to_a_release_whose_verified_tag_was_cleaned_up(job_runner, stubs):
    """The registry cleanup removed :verified-<sha>; the release's own tag, made by an earlier
    run of promote from the verified image, is promoted again, after its revision is checked."""
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    image = "local-registry.gitlab.example.com/agency/my-project"
    env = {**path_with(stubs), "STUB_MISSING": f"docker://{image}:verified-{sha}", "STUB_REVISION": sha}

    job_runner.run_jobs(PIPELINES["release-tag"][0], "promote-production", env=env)

    release = f"docker://{image}:v1.2.0"
    assert [call["args"] for call in calls(stubs)] == [
        ["inspect", "--raw", f"docker://{image}:verified-{sha}"],
        ["inspect", release],
        ["inspect", "--raw", release],
        ["copy", "--all", "--preserve-digests", release, f"docker://{image}:production"],
    ]
    digest = "sha256:" + hashlib.sha256(MANIFEST.encode()).hexdigest()
    promoted = job_runner.repo / ".gitlab-ci-local" / "builds" / "promote-production" / "promote.env"
    assert promoted.read_text() == f"DEPLOY_IMAGE={image}@{digest}\n"


@pytest.mark.slow
def test_deploy_fails_loudly_until_it_is_configured(job_runner, stubs):
    release = PIPELINES["release-tag"][0]

    result = job_runner.run_jobs(release, "--needs", "deploy-production", env=path_with(stubs), check=False)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "FAIL  deploy-production" in output
    assert "the deploy step is not configured" in output
    assert "Missing CI/CD variable(s): DEPLOY_WEBHOOK_URL" in output
    assert not any(call["tool"] == "curl" for call in calls(stubs))


@pytest.mark.slow
def test_lint_job_passes_and_fails_on_a_finding(default_project, venv_for, job_runner):
    venv = venv_for(default_project)
    repo, gcl = job_runner.repo, job_runner

    passed = gcl.run_jobs(PIPELINES["merge-request"][0], "lint", env=path_with(venv / "bin"))
    assert "PASS  lint" in passed.stdout

    (repo / "config" / "urls.py").write_text((repo / "config" / "urls.py").read_text() + "import os\n")
    commit_all(repo, "An unused import")
    failed = gcl.run_jobs(PIPELINES["merge-request"][0], "lint", env=path_with(venv / "bin"), check=False)
    assert failed.returncode != 0
    assert "F401" in failed.stdout


@pytest.mark.slow
def test_check_deploy_job_passes_on_the_production_settings(default_project, venv_for, job_runner):
    venv = venv_for(default_project)

    # APP_DIR: the job's checkout stands in for the image's /app.
    app_dir = {"APP_DIR": "."}
    result = job_runner.run_jobs(branch(DEFAULT_BRANCH), "check-deploy", variables=app_dir, env=path_with(venv / "bin"))

    assert "System check identified no issues" in result.stdout
    assert "PASS  check-deploy" in result.stdout


@with_answers(*PIPELINE_ANSWER_SETS)
@pytest.mark.services
def test_test_job_runs_the_suite_with_reports_and_coverage(project, venv_for, answers, tmp_path):
    if not port_open("127.0.0.1", 5432):
        unavailable("no PostgreSQL answers on 127.0.0.1:5432")
    if answers["use_celery"] and not port_open("127.0.0.1", 6379):
        unavailable("no Redis answers on 127.0.0.1:6379")
    venv = venv_for(project, answers["python_version"])
    repo = git_repo(project, tmp_path / "my-project")
    # gitlab-ci-local runs services only in containers: this machine's PostgreSQL and Redis
    # stand in for them, with the job's variables pointed at them.
    (repo / ".gitlab-ci-local.yml").write_text("test:\n  services: []\n")
    variables = {"APP_DIR": str(project), "DATABASE_URL": database_url("pipeline-test-job", answer_id(answers))}
    if answers["use_celery"]:
        variables |= {"CACHE_URL": "redis://127.0.0.1:6379/1", "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0"}

    result = GitlabCiLocal(repo).run_jobs(
        branch(DEFAULT_BRANCH), "test", variables=variables, env=path_with(venv / "bin")
    )

    assert re.search(r"PASS  test +\d+(\.\d+)?% coverage", result.stdout), result.stdout[-3000:]
    assert " passed" in result.stdout
    build = repo / ".gitlab-ci-local" / "builds" / "test"
    assert "<testsuite" in (build / "junit.xml").read_text()
    sources = re.findall(r"<source>(.*)</source>", (build / "coverage.xml").read_text())
    # Coverage of the code in APP_DIR (the image's /app), mapped to the checkout for GitLab.
    assert sources
    assert all(source.startswith(f"{build}/") for source in sources), sources


@pytest.mark.slow
def test_template_drift_job_reports_drift_without_failing_the_pipeline(tmp_path):
    # A template repository (this working tree), and a project that cruft created from it.
    env = git_environment(tmp_path / "home")
    template = TemplateRepo.copy_of_working_tree(tmp_path / "template", env)
    template.commit("The template")
    project = cruft_create(template, tmp_path / "out")
    assert (project / ".cruft.json").exists()
    gcl = GitlabCiLocal(git_repo(project, tmp_path / "my-project"))
    pipeline = PIPELINES["merge-request"][0]

    current = gcl.run_jobs(pipeline, "template-drift", env=path_with(BIN))
    assert "PASS  template-drift" in current.stdout

    template.append_line("README.md", "A template change.")
    template.commit("A template change")
    drifted = gcl.run_jobs(pipeline, "template-drift", env=path_with(BIN))
    assert drifted.returncode == 0  # allowed to fail: a warning, not a block
    assert "WARN  template-drift" in drifted.stdout
    assert "out of date" in drifted.stdout


@pytest.mark.slow
def test_audit_script_reads_both_pinned_files(default_project, venv_for):
    """Only that pip-audit accepts the flags and the hashed files (--dry-run: no audit is done;
    this machine cannot reach the vulnerability data)."""
    venv = venv_for(default_project)

    result = run(["ci/audit", "--dry-run"], cwd=default_project, env=path_with(venv / "bin"))

    pinned = (default_project / "requirements-test.txt").read_text()
    pins = len(re.findall(r"^[a-z0-9][a-z0-9._-]*==", pinned, re.MULTILINE | re.IGNORECASE))
    audited = int(re.search(r"would have audited (\d+) packages", result.stderr + result.stdout).group(1))
    assert audited >= pins


# ---- the documentation ----------------------------------------------------------------


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


def test_rules_evaluator_reads_only_what_it_knows():
    variables = {"A": "x", "B": "x", "EMPTY": "", "PATTERN": "/^v[0-9]+$/"}
    assert evaluate_if("$A == $B && $A == 'x'", variables)
    assert evaluate_if('$MISSING || $A == "x" && $B != "y"', variables)  # && binds tighter
    assert not evaluate_if("$EMPTY", variables)
    assert not evaluate_if("$MISSING =~ $PATTERN", variables)
    assert evaluate_if("$A !~ /^y/", variables)
    assert evaluate_if("$MISSING == null", variables)
    with pytest.raises(ValueError, match="cannot read"):
        evaluate_if("($A == $B)", variables)
    with pytest.raises(ValueError, match="not a /regex/"):
        evaluate_if("$A =~ $B", variables)
    with pytest.raises(ValueError, match="does not know"):
        workflow_runs([{"if": "$A", "changes": ["x"]}], variables)
