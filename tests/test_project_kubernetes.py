"""The Kubernetes manifests of a project whose deploy_target is kubernetes.

Both overlays are rendered by the real kubectl (Kustomize), validated strictly against the
Kubernetes API schema by kubernetes-validate, and the parsed output is held to the policy:
every pod hardened, probes, images by digest, no secret values, exactly one beat and cron.
ci/deploy and a real run with podman are in test_project_kubernetes_deploy.py and
test_project_kubernetes_podman.py.
"""

from __future__ import annotations

import re

import pytest
import yaml

from tests.answers import KUBERNETES_SETS, with_answers
from tests.kubernetes import (
    OVERLAYS,
    PLACEHOLDER_IMAGE,
    by_kind,
    config_map,
    kustomize,
    pod_specs,
    render,
    validate,
)

pytestmark = with_answers(*KUBERNETES_SETS)

HARDENED_POD = {
    "runAsNonRoot": True,
    "runAsUser": 1000,
    "runAsGroup": 1000,
    "seccompProfile": {"type": "RuntimeDefault"},
}
HARDENED_CONTAINER = {
    **HARDENED_POD,
    "readOnlyRootFilesystem": True,
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
}
DIGEST = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
# A URL with a password in it (scheme://user:password@host).
CREDENTIALS_IN_URL = re.compile(r"://[^/\s:@]+:[^/\s@]+@")
PLURALS = {"Ingress": "ingresses", "NetworkPolicy": "networkpolicies"}


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def resources(project, overlay) -> list[dict]:
    return render(project, overlay)


def containers(spec: dict) -> list[dict]:
    return [*spec.get("initContainers", []), *spec["containers"]]


# ---- rendered and valid ---------------------------------------------------------------


def test_the_overlay_and_the_deploy_role_validate_strictly(project, overlay, tmp_path):
    rendered = tmp_path / f"{overlay}.yaml"
    rendered.write_text(kustomize(project / "deploy" / "overlays" / overlay))

    validate(rendered, project / "deploy" / "rbac" / "deployer.yaml")


def test_strict_validation_rejects_an_unknown_field(resources, tmp_path):
    """The check above can fail: a field the API does not know is an error."""
    web = by_kind(resources, "Deployment")["web"]
    web["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"tcpSocket": {"port": 8000}}
    rendered = tmp_path / "typo.yaml"
    rendered.write_text(yaml.safe_dump(web))

    result = validate(rendered, check=False)

    assert result.returncode != 0
    assert "readinesProbe" in result.stdout + result.stderr


def test_the_workloads_follow_the_answers(resources, answers):
    deployments = set(by_kind(resources, "Deployment"))
    expected = (
        {"web"}
        | ({"worker", "beat"} if answers["use_celery"] else set())
        | ({"cron"} if answers["use_cron"] else set())
    )
    assert deployments == expected
    assert set(by_kind(resources, "Job")) == {"migrate"}
    assert by_kind(resources, "Job")["migrate"]["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "python",
        "manage.py",
        "migrate",
        "--noinput",
    ]


# ---- every pod and container hardened --------------------------------------------------


def test_every_pod_and_container_is_hardened(resources):
    specs = pod_specs(resources)
    assert specs
    for name, spec in specs.items():
        assert spec["securityContext"].items() >= HARDENED_POD.items(), name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["imagePullSecrets"] == [{"name": "registry-credentials"}], name
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert "emptyDir" in volumes["tmp"], name
        for container in containers(spec):
            assert container["securityContext"] == HARDENED_CONTAINER, f"{name}: {container['name']}"
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            assert mounts["/tmp"] == "tmp", name


def test_every_image_is_the_release_image_by_digest(resources):
    images = {container["image"] for spec in pod_specs(resources).values() for container in containers(spec)}
    assert len(images) == 1, images
    (image,) = images
    assert DIGEST.match(image), image
    assert image.startswith(PLACEHOLDER_IMAGE + "@"), "ci/deploy replaces this placeholder: keep them in step"


# ---- probes, stopping, scaling ----------------------------------------------------------


def test_web_is_ready_on_health_and_alive_without_the_database(resources):
    (web,) = by_kind(resources, "Deployment")["web"]["spec"]["template"]["spec"]["containers"]
    assert web["readinessProbe"]["httpGet"] == {"path": "/health/", "port": "http"}
    # Liveness must not follow the database: /health/ would restart every pod in an outage.
    assert "httpGet" not in web["livenessProbe"]
    assert web["livenessProbe"]["tcpSocket"] == {"port": "http"}
    assert {"name": "http", "containerPort": 8000} in web["ports"]


def test_web_stops_within_its_grace_period(resources):
    spec = by_kind(resources, "Deployment")["web"]["spec"]["template"]["spec"]
    (web,) = spec["containers"]
    pause = web["lifecycle"]["preStop"]["sleep"]["seconds"]
    graceful = int(config_map(resources)["GUNICORN_GRACEFUL_TIMEOUT"])
    assert pause > 0
    assert spec["terminationGracePeriodSeconds"] > pause + graceful


def test_web_scales_with_an_autoscaler_and_never_blocks_a_drain(resources, overlay):
    web = by_kind(resources, "Deployment")["web"]
    assert "replicas" not in web["spec"], "the autoscaler sets web's replicas"
    hpa = by_kind(resources, "HorizontalPodAutoscaler")["web"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert 1 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    pdb = by_kind(resources, "PodDisruptionBudget")["web"]
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": web["spec"]["selector"]}
    spread = web["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread[0]["topologyKey"] == "kubernetes.io/hostname"
    assert spread[0]["whenUnsatisfiable"] == "ScheduleAnyway"


def test_the_overlays_set_no_replicas(project):
    for overlay in OVERLAYS:
        kustomization = yaml.safe_load((project / "deploy" / "overlays" / overlay / "kustomization.yaml").read_text())
        operations = [op for patch in kustomization.get("patches", []) for op in yaml.safe_load(patch["patch"])]
        assert operations
        assert not [op for op in operations if op["path"].endswith("/replicas")], overlay
        assert "replicas" not in kustomization, overlay


def test_beat_and_cron_run_exactly_one_replica_with_recreate(resources, answers):
    deployments = by_kind(resources, "Deployment")
    singletons = [name for name in ("beat", "cron") if name in deployments]
    assert len(singletons) == answers["use_celery"] + answers["use_cron"]
    for name in singletons:
        assert deployments[name]["spec"]["replicas"] == 1, name
        assert deployments[name]["spec"]["strategy"] == {"type": "Recreate"}, name


def test_the_worker_is_alive_while_it_answers_celerys_ping(resources, answers):
    if not answers["use_celery"]:
        assert "worker" not in by_kind(resources, "Deployment")
        return
    (worker,) = by_kind(resources, "Deployment")["worker"]["spec"]["template"]["spec"]["containers"]
    assert worker["args"][:2] == ["celery", "worker"]
    command = worker["livenessProbe"]["exec"]["command"]
    assert command[-1] == "celery inspect ping --destination celery@$HOSTNAME"
    assert "httpGet" not in worker["livenessProbe"]


# ---- the environment: namespace, host, settings ----------------------------------------


def test_each_overlay_sets_its_namespace_host_and_environment(resources, overlay, answers, project):
    namespaces = {resource["metadata"].get("namespace") for resource in resources}
    assert namespaces == {f"{project.name.replace('_', '-')}-{overlay}"}
    settings = config_map(resources)
    assert settings["SITE_ENVIRONMENT"] == overlay
    domain = "example.com"
    host = domain if overlay == "production" else f"acceptance.{domain}"
    assert settings["ALLOWED_HOSTS"] == host
    ingress = by_kind(resources, "Ingress")["web"]["spec"]
    assert [rule["host"] for rule in ingress["rules"]] == [host]
    assert ingress["tls"] == [{"hosts": [host], "secretName": "web-tls"}]
    assert settings["FORWARDED_ALLOW_IPS"] == "*"


def test_only_the_ingress_controller_reaches_web(resources):
    web = by_kind(resources, "Deployment")["web"]
    policy = by_kind(resources, "NetworkPolicy")["web"]["spec"]
    assert policy["podSelector"] == web["spec"]["selector"]
    assert policy["policyTypes"] == ["Ingress"]
    [rule] = policy["ingress"]
    assert rule["ports"] == [{"port": "http"}]
    assert [set(peer) for peer in rule["from"]] == [{"namespaceSelector"}]


def test_media_is_a_shared_volume(resources):
    claim = by_kind(resources, "PersistentVolumeClaim")["media"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name, spec in pod_specs(resources).items():
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert volumes["media"]["persistentVolumeClaim"] == {"claimName": "media"}, name
        assert {"name": "media", "mountPath": "/app/media"} in spec["containers"][0]["volumeMounts"], name


# ---- secrets: files only, no values -----------------------------------------------------


def secret_files(resources: list[dict]) -> dict[str, str]:
    return {name: path for name, path in config_map(resources).items() if name.endswith("_FILE")}


def test_secrets_are_files_under_run_secrets_and_never_values(resources, answers):
    assert not by_kind(resources, "Secret"), "no Secret is part of the manifests"
    files = secret_files(resources)
    expected = {"SECRET_KEY_FILE", "DATABASE_URL_FILE"} | (
        {"CACHE_URL_FILE", "CELERY_BROKER_URL_FILE"} if answers["use_celery"] else set()
    )
    assert set(files) == expected
    assert all(path.startswith("/run/secrets/") for path in files.values())
    for name, spec in pod_specs(resources).items():
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        assert volumes["secrets"]["secret"]["secretName"] == "app-secrets", name
        (container,) = spec["containers"]
        mount = next(m for m in container["volumeMounts"] if m["mountPath"] == "/run/secrets")
        assert mount == {"name": "secrets", "mountPath": "/run/secrets", "readOnly": True}
        assert container["envFrom"] == [{"configMapRef": {"name": next(iter(by_kind(resources, "ConfigMap")))}}]
        assert "env" not in container, f"{name}: settings come from app-config, secrets from files"
    values = [str(value) for value in config_map(resources).values()]
    secret_names = {name.removesuffix("_FILE") for name in files}
    assert not secret_names & set(config_map(resources)), "a secret given as a value"
    assert not [value for value in values if CREDENTIALS_IN_URL.search(value)]


def test_the_docs_create_exactly_the_secret_files_the_pods_read(project, resources):
    docs = (project / "docs" / "kubernetes.md").read_text()
    created = set(re.findall(r"--from-file=([a-z_]+)=", docs))
    assert created == {path.removeprefix("/run/secrets/") for path in secret_files(resources).values()}
    assert "kubectl create secret generic app-secrets" in docs
    assert "kind: ExternalSecret" in docs


# ---- the deploy role: least privilege ---------------------------------------------------


def test_the_deploy_role_cannot_read_secrets_or_act_cluster_wide(project):
    documents = list(yaml.safe_load_all((project / "deploy" / "rbac" / "deployer.yaml").read_text()))
    assert {doc["kind"] for doc in documents} == {"ServiceAccount", "Role", "RoleBinding"}
    (role,) = [doc for doc in documents if doc["kind"] == "Role"]
    for rule in role["rules"]:
        assert "secrets" not in rule["resources"], rule
        assert "*" not in rule["resources"] + rule["verbs"] + rule["apiGroups"], rule


def test_the_deploy_role_covers_every_kind_ci_deploy_applies(project, resources):
    documents = yaml.safe_load_all((project / "deploy" / "rbac" / "deployer.yaml").read_text())
    (role,) = [doc for doc in documents if doc["kind"] == "Role"]
    allowed = {
        (group, resource)
        for rule in role["rules"]
        if {"get", "create", "patch"} <= set(rule["verbs"])
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    applied = {(r["apiVersion"].rpartition("/")[0], PLURALS.get(r["kind"], r["kind"].lower() + "s")) for r in resources}
    assert applied - allowed == set()
