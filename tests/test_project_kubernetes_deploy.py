"""ci/deploy of a kubernetes project, against a stand-in kubectl (tests/kubectl_standin.py).

No cluster can run on this machine, so kubectl's calls to one are recorded by the stand-in,
which keeps the little state ci/deploy reads (each Deployment's image and annotations);
`kubectl kustomize` is the real one. The tests prove the order (migrations before anything
else rolls out), the undo of every Deployment when a rollout fails, the loud failures, and
the rollback to the image the last deploy replaced.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.answers import ALL_ON, KUBERNETES, with_answers
from tests.helpers import path_with, run, tool
from tests.kubectl_standin import calls, install

pytestmark = with_answers({**ALL_ON, **KUBERNETES})

REGISTRY_IMAGE = "registry.example.com/agency/my-project"
RELEASE = f"{REGISTRY_IMAGE}@sha256:{'1' * 64}"
PREVIOUS = f"{REGISTRY_IMAGE}@sha256:{'0' * 64}"
NAMESPACE = "my-project-production"
DEPLOYMENTS = ["deployment.apps/beat", "deployment.apps/cron", "deployment.apps/web", "deployment.apps/worker"]


@pytest.fixture
def deployer(project, tmp_path):
    """Run ci/deploy in a copy of the project, with the stand-in kubectl first on PATH."""
    copy = Path(shutil.copytree(project, tmp_path / project.name, symlinks=True))
    log = install(tmp_path / "bin", tmp_path / "cluster", tool("kubectl"))

    def deploy(*args: str, check: bool = True, **env: str):
        result = run(["ci/deploy", *args], cwd=copy, env={**path_with(tmp_path / "bin"), **env}, check=check)
        assert not list((copy / "deploy").glob(".release-*")), "ci/deploy left its release directory behind"
        return result

    deploy.log = log
    deploy.project = copy
    deploy.calls = lambda: [call["args"] for call in calls(log)]
    deploy.applied = lambda: [call["applied"] for call in calls(log) if "applied" in call]
    deploy.cluster = lambda: json.loads((log.parent / "cluster.json").read_text())
    return deploy


def commands(recorded: list[list[str]]) -> list[str]:
    """Each call as 'verb object', e.g. 'apply migrations', 'rollout status deployment.apps/web'."""
    named = []
    for args in recorded:
        if args[0] == "apply":
            selector = args[args.index("--selector") + 1]
            named.append("apply the rest" if "notin" in selector else "apply migrations")
        elif args[0] in ("rollout", "get"):
            named.append(" ".join(args[:3]))
        else:
            named.append(" ".join(args[:2]))
    return named


def test_migrations_run_before_anything_else_is_applied_then_every_rollout_is_awaited(deployer):
    result = deployer("production", DEPLOY_IMAGE=RELEASE)

    assert commands(deployer.calls()) == [
        "delete job",
        "apply migrations",
        "get job migrate",
        "get deployment web",
        "apply the rest",
        *(f"rollout status {deployment}" for deployment in DEPLOYMENTS),
    ]
    migrations, rest = deployer.applied()
    # With the Job, what it reads: its settings (a ConfigMap whose name follows its content)
    # and the media volume, both new on a first deploy.
    config_map, job, volume = sorted(resource["name"] for resource in migrations)
    assert config_map.startswith("configmap/app-config-")
    assert (job, volume) == ("job.batch/migrate", "persistentvolumeclaim/media")
    assert [r for r in migrations if r["name"] == job] == [{"name": job, "images": [RELEASE]}]
    assert not {resource["name"] for resource in migrations} & {resource["name"] for resource in rest}
    images = {image for resource in rest for image in resource.get("images", [])}
    assert images == {RELEASE}
    assert sorted(r["name"] for r in rest if r["name"].startswith("deployment")) == DEPLOYMENTS
    assert all("--namespace" in args and NAMESPACE in args for args in deployer.calls() if args[0] != "apply")
    assert f"Deployed {RELEASE} to production." in result.stdout


def test_a_failed_migration_rolls_nothing_out_and_says_so(deployer):
    result = deployer("production", DEPLOY_IMAGE=RELEASE, STANDIN_MIGRATION="failed", check=False)

    assert result.returncode == 1
    assert commands(deployer.calls()) == ["delete job", "apply migrations", "get job migrate", "logs job/migrate"]
    assert 'column "price" of relation "shop_product" already exists' in result.stderr
    assert (
        "ci/deploy: FAILED to deploy to production: the migration Job failed (its log is above). "
        "Nothing was rolled out: production still runs the previous release."
    ) in result.stderr


def test_a_failed_rollout_undoes_every_deployment_and_fails_loudly(deployer):
    deployer("production", DEPLOY_IMAGE=PREVIOUS)
    first = len(deployer.calls())

    result = deployer("production", DEPLOY_IMAGE=RELEASE, STANDIN_ROLLOUT_FAILS="web", check=False)

    assert result.returncode == 1
    recorded = commands(deployer.calls()[first:])
    assert recorded[recorded.index("apply the rest") + 1 :] == [
        "annotate deployment",
        *(f"rollout status {deployment}" for deployment in DEPLOYMENTS),
        *(f"rollout undo {deployment}" for deployment in DEPLOYMENTS),
    ]
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith(
        "ci/deploy: FAILED to deploy to production: the rollout of deployment.apps/web did not finish within 300s."
    )
    assert (
        f"Rolled back with kubectl rollout undo: {' '.join(DEPLOYMENTS)} (the previous release runs again)." in message
    )
    assert "The migrations of this release stay applied: an undo does not undo them" in message
    # The stand-in's cluster is back on the previous release.
    assert {
        name: deployment["image"] for name, deployment in deployer.cluster()["deployments"].items()
    } == dict.fromkeys(["beat", "cron", "web", "worker"], PREVIOUS)


def test_the_rollback_job_deploys_the_image_the_last_deploy_replaced(deployer):
    deployer("production", DEPLOY_IMAGE=PREVIOUS)
    deployer("production", DEPLOY_IMAGE=RELEASE)
    first = len(deployer.applied())

    result = deployer("production", "rollback")

    assert f"Rolling back to {PREVIOUS}" in result.stdout
    migrations, rest = deployer.applied()[first:]
    assert {image for resource in migrations + rest for image in resource.get("images", [])} == {PREVIOUS}
    assert f"Deployed {PREVIOUS} to production." in result.stdout


def test_a_rollback_with_nothing_to_go_back_to_fails_clearly(deployer):
    deployer("production", DEPLOY_IMAGE=RELEASE)

    result = deployer("production", "rollback", check=False)

    assert result.returncode == 1
    assert "deployment/web has no ci-deploy/previous-image annotation" in result.stderr
    assert not [args for args in deployer.calls()[-3:] if args[0] == "apply"]


@pytest.mark.parametrize("image", ["", f"{REGISTRY_IMAGE}:v1.2.0", f"{REGISTRY_IMAGE}:production"])
def test_an_image_not_given_by_digest_is_refused(deployer, image):
    result = deployer("production", DEPLOY_IMAGE=image, check=False)

    assert result.returncode == 1
    assert f"DEPLOY_IMAGE='{image}' is not an image by digest (name@sha256:...)" in result.stderr
    assert not [args for args in deployer.calls() if args[0] == "apply"]


def test_an_unknown_environment_is_refused(deployer):
    result = deployer("staging", DEPLOY_IMAGE=RELEASE, check=False)

    assert result.returncode == 1
    assert "FAILED to deploy to staging: there is no overlay deploy/overlays/staging." in result.stderr
    assert deployer.calls() == []


def test_a_refused_migration_job_stops_the_deploy_loudly(deployer):
    result = deployer("production", DEPLOY_IMAGE=RELEASE, STANDIN_REFUSE="Job", check=False)

    assert result.returncode == 1
    assert "job.batch/migrate is forbidden" in result.stderr
    refused = "FAILED to deploy to production: the cluster refused the migration Job or what it needs (above)."
    assert refused in result.stderr
    assert commands(deployer.calls()) == ["delete job", "apply migrations"]


def test_an_overlay_that_does_not_render_stops_the_deploy_before_any_change(deployer):
    overlay = deployer.project / "deploy" / "overlays" / "production" / "kustomization.yaml"
    overlay.write_text(overlay.read_text().replace("../../base", "../../missing-base"))

    result = deployer("production", DEPLOY_IMAGE=RELEASE, check=False)

    assert result.returncode != 0
    assert "missing-base" in result.stderr
    assert deployer.calls() == []


def test_the_gitlab_agents_context_is_used_when_given(deployer):
    deployer("acceptance", DEPLOY_IMAGE=RELEASE, KUBE_CONTEXT="agency/cluster-agents:production")

    assert deployer.calls()[0] == ["config", "use-context", "agency/cluster-agents:production"]
    assert all("my-project-acceptance" in args for args in deployer.calls()[1:] if args[0] != "apply")
