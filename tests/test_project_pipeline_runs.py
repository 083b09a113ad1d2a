"""The generated project's pipeline jobs, run by gitlab-ci-local's shell executor, each in a
fresh git repo of the baked project: build, verified, promote and deploy with stand-ins for
buildah, skopeo and curl (tests/project_pipeline.py, tests/stubs.py) where a job would talk
to a registry or a host; lint, check-deploy and test in the project's venv, the test job
against this machine's PostgreSQL and Redis; template-drift against a template repository.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.answers import answer_id, with_answers
from tests.gitlab import (
    DEFAULT_BRANCH,
    GitlabCiLocal,
    branch,
    commit_all,
    git,
    git_repo,
    merge_request,
    pipeline_config,
    tag,
)
from tests.helpers import BIN, REDIS, database_url, path_with, run
from tests.project_pipeline import DIGEST, IMAGE, PIPELINE_ANSWER_SETS, registry_stand_ins
from tests.require import require_postgres, require_redis
from tests.stubs import calls
from tests.template_repo import TemplateRepo, cruft_create, git_environment

PASSWORD = {"CI_REGISTRY_USER": "gitlab-ci-token", "CI_REGISTRY_PASSWORD": "made-up-job-token"}


@pytest.fixture
def job_runner(default_project, tmp_path) -> GitlabCiLocal:
    """gitlab-ci-local in a fresh git repo of the default project, to run jobs in."""
    return GitlabCiLocal(git_repo(default_project, tmp_path / "my-project"))


@pytest.fixture
def stubs(tmp_path) -> Path:
    return registry_stand_ins(tmp_path / "stubs")


@pytest.mark.slow
def test_build_job_builds_both_targets_and_pushes_them_by_commit(job_runner, stubs):
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()

    job_runner.run_jobs(branch(DEFAULT_BRANCH), "build", variables=PASSWORD, env=path_with(stubs))

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
        assert args[args.index("--cache-from") + 1] == args[args.index("--cache-to") + 1] == f"{IMAGE}/cache"
        assert args[-1] == "."
    assert [args[args.index("--tag") + 1] for args in (call["args"] for call in builds)] == [
        f"{IMAGE}:{sha}",
        f"{IMAGE}/development:{sha}",
    ]
    assert pushes == [
        ["--storage-driver", "vfs", "push", f"{IMAGE}:{sha}"],
        ["--storage-driver", "vfs", "push", f"{IMAGE}/development:{sha}"],
    ]


@pytest.mark.slow
def test_the_weekly_schedule_builds_on_the_newest_base_under_its_own_tags(job_runner, stubs):
    """Never under the commit's tags: :<sha> and :verified-<sha> stay what the push verified."""
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    schedule = branch(DEFAULT_BRANCH, "schedule")
    config = pipeline_config(job_runner.repo)

    job_runner.run_jobs(
        schedule, "scheduled-build", variables={**PASSWORD, "CI_PIPELINE_ID": "4242"}, env=path_with(stubs)
    )

    builds = [call["args"] for call in calls(stubs) if "build" in call["args"]]
    pushes = [call["args"][-1] for call in calls(stubs) if "push" in call["args"]]
    scheduled = f"{IMAGE}/scheduled"
    assert pushes == [f"{scheduled}:pipeline-4242", f"{scheduled}/development:pipeline-4242"]
    for args in builds:
        assert f"BASE_IMAGE={config['variables']['NEWEST_BASE_IMAGE']}" in args
        assert args[args.index("--cache-from") + 1] == f"{scheduled}/cache"
        assert f"COMMIT_HASH={sha}" in args
    assert config["variables"]["NEWEST_BASE_IMAGE"].endswith(
        ":" + config["variables"]["NEWEST_BASE_IMAGE"].rsplit(":")[-1]
    )
    assert not [ref for ref in pushes if sha in ref or "verified" in ref]


@pytest.mark.slow
@pytest.mark.parametrize(("git_tag", "environment"), [("v1.2.0-rc1", "acceptance"), ("v1.2.0", "production")])
def test_tag_pipeline_promotes_the_verified_image_and_deploys_it_by_digest(job_runner, stubs, git_tag, environment):
    pipeline = tag(git_tag)
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    webhook = {"DEPLOY_WEBHOOK_URL": "https://hooks.example.com/deploy/made-up"}

    result = job_runner.run_jobs(pipeline, "--needs", f"deploy-{environment}", variables=webhook, env=path_with(stubs))

    recorded = [call["args"] for call in calls(stubs)]
    assert not any(call["tool"] == "buildah" for call in calls(stubs)), "tag pipelines never build"
    verified = f"docker://{IMAGE}:verified-{sha}"
    assert recorded[:3] == [
        ["inspect", "--raw", verified],
        ["copy", "--all", "--preserve-digests", verified, f"docker://{IMAGE}:{git_tag}"],
        ["copy", "--all", "--preserve-digests", verified, f"docker://{IMAGE}:{environment}"],
    ]
    curl = recorded[3]
    assert curl[-1] == webhook["DEPLOY_WEBHOOK_URL"]
    body = json.loads(curl[curl.index("--data") + 1])
    assert body == {"environment": environment, "image": f"{IMAGE}@{DIGEST}", "tag": git_tag, "commit": sha}
    assert f"PASS  deploy-{environment}" in result.stdout


@pytest.mark.slow
def test_verified_job_marks_the_image_of_the_commit(job_runner, stubs):
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()

    result = job_runner.run_jobs(branch(DEFAULT_BRANCH), "verified", variables=PASSWORD, env=path_with(stubs))

    recorded = calls(stubs)
    assert [call["tool"] for call in recorded] == ["skopeo", "skopeo"]
    assert recorded[0]["args"][:3] == ["login", "--username", "gitlab-ci-token"]
    assert recorded[0]["stdin"] == "made-up-job-token"
    assert recorded[1]["args"] == [
        "copy",
        "--all",
        "--preserve-digests",
        f"docker://{IMAGE}:{sha}",
        f"docker://{IMAGE}:verified-{sha}",
    ]
    assert "PASS  verified" in result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("case", ["no-image", "unverified-image", "release-tag-of-another-commit"])
def test_promote_fails_clearly_when_the_commit_has_no_verified_image(job_runner, stubs, case):
    """No image at all, an image whose checks did not pass (no verified- tag), or a leftover
    image under the git tag's name that was built from another commit: nothing is copied."""
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    stub_env = {
        "no-image": {"STUB_NO_IMAGE": "1"},
        "unverified-image": {"STUB_MISSING": f"docker://{IMAGE}:verified-{sha} docker://{IMAGE}:v1.2.0-rc1"},
        "release-tag-of-another-commit": {
            "STUB_MISSING": f"docker://{IMAGE}:verified-{sha}",
            "STUB_REVISION": "0" * 40,
        },
    }[case]

    result = job_runner.run_jobs(
        tag("v1.2.0-rc1"), "promote-acceptance", env={**path_with(stubs), **stub_env}, check=False
    )

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"no verified image for {sha}: did its pipeline pass?" in output
    assert "tag pipelines never build" in output
    assert [call["args"][0] for call in calls(stubs)] == ["inspect", "inspect"]  # nothing copied
    assert calls(stubs)[0]["args"] == ["inspect", "--raw", f"docker://{IMAGE}:verified-{sha}"]


@pytest.mark.slow
def test_promote_rolls_back_to_a_release_whose_verified_tag_was_cleaned_up(job_runner, stubs):
    """The registry cleanup removed :verified-<sha>; the release's own tag, made by an earlier
    run of promote from the verified image, is promoted again, after its revision is checked."""
    sha = git(job_runner.repo, "rev-parse", "HEAD").strip()
    env = {**path_with(stubs), "STUB_MISSING": f"docker://{IMAGE}:verified-{sha}", "STUB_REVISION": sha}

    job_runner.run_jobs(tag("v1.2.0"), "promote-production", env=env)

    release = f"docker://{IMAGE}:v1.2.0"
    assert [call["args"] for call in calls(stubs)] == [
        ["inspect", "--raw", f"docker://{IMAGE}:verified-{sha}"],
        ["inspect", release],
        ["inspect", "--raw", release],
        ["copy", "--all", "--preserve-digests", release, f"docker://{IMAGE}:production"],
    ]
    promoted = job_runner.repo / ".gitlab-ci-local" / "builds" / "promote-production" / "promote.env"
    assert promoted.read_text() == f"DEPLOY_IMAGE={IMAGE}@{DIGEST}\n"


@pytest.mark.slow
def test_deploy_fails_loudly_until_it_is_configured(job_runner, stubs):
    release = tag("v1.2.0")

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

    passed = gcl.run_jobs(merge_request(), "lint", env=path_with(venv / "bin"))
    assert "PASS  lint" in passed.stdout

    (repo / "config" / "urls.py").write_text((repo / "config" / "urls.py").read_text() + "import os\n")
    commit_all(repo, "An unused import")
    failed = gcl.run_jobs(merge_request(), "lint", env=path_with(venv / "bin"), check=False)
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
    require_postgres()
    if answers["use_celery"]:
        require_redis()
    venv = venv_for(project, answers["python_version"])
    repo = git_repo(project, tmp_path / "my-project")
    # gitlab-ci-local runs services only in containers: this machine's PostgreSQL and Redis
    # stand in for them, with the job's variables pointed at them.
    (repo / ".gitlab-ci-local.yml").write_text("test:\n  services: []\n")
    variables = {"APP_DIR": str(project), "DATABASE_URL": database_url("pipeline-test-job", answer_id(answers))}
    if answers["use_celery"]:
        variables |= {"CACHE_URL": f"{REDIS}/1", "CELERY_BROKER_URL": f"{REDIS}/0"}

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
    pipeline = merge_request()

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
