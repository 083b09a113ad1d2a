"""The generated pipeline's deploy jobs, for each deploy target.

gitlab-ci-local lists the jobs of the tag pipelines and runs them with its shell executor:
`promote-*` against a stand-in skopeo (it records its calls and prints a fixed manifest),
then `deploy-*` and `rollback-*` of a kubernetes project against the stand-in kubectl of
tests/kubectl_standin.py, so that the digest `promote-*` hands over (promote.env) is what
reaches the cluster. The webhook target's job runs are in the pipeline's own tests
(test_project_pipeline_runs.py: the webhook call, and the loud failure until it is configured).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import stubs
from tests.answers import ALL_ON, KUBERNETES, with_answers
from tests.gitlab import GitlabCiLocal, git_repo, pipeline_config, tag
from tests.helpers import path_with, tool
from tests.kubectl_standin import calls, install
from tests.project_pipeline import DIGEST, IMAGE, SKOPEO

RC_TAG = tag("v1.2.0-rc1")
RELEASE_TAG = tag("v1.2.0")
TAGS = {"acceptance": RC_TAG, "production": RELEASE_TAG}
PROMOTED = f"{IMAGE}@{DIGEST}"
PREVIOUS = f"{IMAGE}@sha256:{'0' * 64}"
KUBERNETES_ALL_ON = {**ALL_ON, **KUBERNETES}
BOTH_TARGETS = with_answers({}, KUBERNETES_ALL_ON)


@pytest.fixture(scope="module")
def gcl(project, tmp_path_factory) -> GitlabCiLocal:
    return GitlabCiLocal(git_repo(project, tmp_path_factory.mktemp("pipeline") / "my-project"))


@pytest.fixture
def skopeo(tmp_path) -> Path:
    """The recording stand-in skopeo of the pipeline's tests: `inspect --raw` prints MANIFEST."""
    return stubs.stand_ins(tmp_path / "bin", ("skopeo",), SKOPEO)


@pytest.fixture
def cluster(tmp_path, skopeo) -> Path:
    """The stand-in kubectl next to the stand-in skopeo; returns its state directory."""
    install(skopeo, tmp_path / "cluster", tool("kubectl"))
    return tmp_path / "cluster"


# ---- the jobs of each target --------------------------------------------------------------


@BOTH_TARGETS
@pytest.mark.parametrize("environment", TAGS)
def test_each_tag_pipeline_promotes_deploys_and_offers_a_rollback_on_kubernetes(gcl, answers, environment):
    jobs = gcl.active_jobs(TAGS[environment])

    expected = dict.fromkeys([f"promote-{environment}", f"deploy-{environment}", f"sbom-{environment}"], "on_success")
    if answers["deploy_target"] == "kubernetes":
        expected[f"rollback-{environment}"] = "manual"
    assert {name: job["when"] for name, job in jobs.items()} == expected
    needs = jobs[f"deploy-{environment}"]["needs"]
    assert [(need["job"], need["artifacts"]) for need in needs] == [(f"promote-{environment}", True)]


@BOTH_TARGETS
def test_the_deploy_jobs_run_in_the_pinned_tools_image_of_their_target(project, answers):
    config = pipeline_config(project)
    image = config["variables"]["DEPLOY_TOOLS_IMAGE"]
    name, _, version = image.rpartition(":")
    assert version[:1].isdigit(), f"{image} is not pinned to a version"
    expected = "alpine/k8s" if answers["deploy_target"] == "kubernetes" else "curlimages/curl"
    assert name == expected
    assert config[".deploy"]["image"]["name"] == "$DEPLOY_TOOLS_IMAGE"


@with_answers(KUBERNETES_ALL_ON)
def test_the_rollback_jobs_are_manual_never_block_and_share_the_deploys_lock(project):
    config = pipeline_config(project)
    for environment in TAGS:
        job = config[f"rollback-{environment}"]
        assert job["script"] == [f"ci/deploy {environment} rollback"]
        assert [rule["when"] for rule in job["rules"]] == ["manual"]
        assert job["resource_group"] == config[f"deploy-{environment}"]["resource_group"] == environment
        assert config[job["extends"]]["allow_failure"] is True
        assert config[job["extends"]]["needs"] == []


# ---- the kubernetes jobs, run -----------------------------------------------------------------


@pytest.mark.slow
@with_answers(KUBERNETES_ALL_ON)
@pytest.mark.parametrize("environment", TAGS)
def test_the_tag_pipeline_deploys_the_promoted_digest_to_the_cluster(gcl, skopeo, cluster, environment):
    result = gcl.run_jobs(TAGS[environment], "--needs", f"deploy-{environment}", env=path_with(skopeo))

    assert f"PASS  deploy-{environment}" in result.stdout
    recorded = calls(cluster / "calls.jsonl")
    applied = [call["applied"] for call in recorded if "applied" in call]
    # The migration Job first, with what it reads (tests/test_project_kubernetes_deploy.py).
    assert "job.batch/migrate" in [resource["name"] for resource in applied[0]]
    assert not [resource for resource in applied[0] if resource["name"].startswith("deployment")]
    images = {image for resources in applied for resource in resources for image in resource.get("images", [])}
    assert images == {PROMOTED}
    namespaces = {
        call["args"][call["args"].index("--namespace") + 1] for call in recorded if "--namespace" in call["args"]
    }
    assert namespaces == {f"my-project-{environment}"}


@pytest.mark.slow
@with_answers(KUBERNETES_ALL_ON)
def test_the_rollback_job_redeploys_the_previous_releases_digest(gcl, skopeo, cluster):
    state = {"deployments": {"web": {"image": PROMOTED, "annotations": {"ci-deploy/previous-image": PREVIOUS}}}}
    (cluster / "cluster.json").write_text(json.dumps(state))

    result = gcl.run_jobs(RELEASE_TAG, "rollback-production", env=path_with(skopeo))

    assert "PASS  rollback-production" in result.stdout
    assert f"Rolling back to {PREVIOUS}" in result.stdout
    applied = [call["applied"] for call in calls(cluster / "calls.jsonl") if "applied" in call]
    assert {image for resources in applied for resource in resources for image in resource.get("images", [])} == {
        PREVIOUS
    }
    assert not stubs.calls(skopeo), "a rollback promotes nothing"


@pytest.mark.slow
@with_answers(KUBERNETES_ALL_ON)
def test_a_failed_rollout_fails_the_deploy_job_loudly(gcl, skopeo, cluster):
    result = gcl.run_jobs(
        RELEASE_TAG,
        "--needs",
        "deploy-production",
        env={**path_with(skopeo), "STANDIN_ROLLOUT_FAILS": "worker"},
        check=False,
    )

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "FAIL  deploy-production" in output
    assert "the rollout of deployment.apps/worker did not finish within 300s" in output
    undone = [call["args"][2] for call in calls(cluster / "calls.jsonl") if call["args"][:2] == ["rollout", "undo"]]
    assert sorted(undone) == [f"deployment.apps/{name}" for name in ("beat", "cron", "web", "worker")]
