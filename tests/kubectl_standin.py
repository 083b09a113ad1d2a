"""A stand-in for kubectl against a cluster, for running ci/deploy where no cluster exists.

``install(directory, state_dir)`` writes an executable ``kubectl`` into directory. It
records every call (arguments, and the resources an ``apply`` was given) as a JSON line in
``<state_dir>/calls.jsonl`` and keeps the cluster's state that ci/deploy reads in
``<state_dir>/cluster.json``: each Deployment's image and annotations, and the revision
before the last apply (what ``rollout undo`` goes back to). ``kubectl kustomize`` is the real
kubectl's, so ci/deploy's rendering is real.

What the cluster does is set by variables:
  STANDIN_MIGRATION=failed       the migration Job fails (default: it succeeds)
  STANDIN_ROLLOUT_FAILS=web,...  these Deployments' rollouts time out
  STANDIN_REFUSE=Job,...         an apply that holds one of these kinds is refused
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import yaml

# `kubectl apply --output name` prints kind.group/name; the core group has no suffix.
GROUPS = {"Deployment": "apps", "Job": "batch", "Ingress": "networking.k8s.io", "NetworkPolicy": "networking.k8s.io"}
GROUPS |= {"HorizontalPodAutoscaler": "autoscaling", "PodDisruptionBudget": "policy"}
IMAGE_PATH = "jsonpath={.spec.template.spec.containers[0].image}"
ANNOTATION_PATH = "jsonpath={.metadata.annotations.%s}"


def install(directory: Path, state_dir: Path, real_kubectl: Path) -> Path:
    """Write the stand-in as directory/kubectl; return state_dir's calls log."""
    directory.mkdir(parents=True, exist_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)
    script = directory / "kubectl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
        "from tests.kubectl_standin import main\n"
        f"sys.exit(main(sys.argv[1:], {str(state_dir)!r}, {str(real_kubectl)!r}))\n"
    )
    script.chmod(0o755)
    return state_dir / "calls.jsonl"


def calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def option(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def selected(resource: dict, selector: str | None) -> bool:
    """Whether the resource's labels match one requirement of a label selector:
    `key=value`, `key!=value`, `key in (a,b)` or `key notin (a,b)`."""
    if not selector:
        return True
    match = re.fullmatch(r"\s*([\w./-]+)\s*(!=|=|\bnotin\b|\bin\b)\s*\(?([^)]*)\)?\s*", selector)
    if match is None:
        raise SystemExit(f"stand-in kubectl: cannot read the selector {selector!r}")
    key, operator, values = match[1], match[2], {value.strip() for value in match[3].split(",")}
    inside = resource["metadata"].get("labels", {}).get(key) in values
    return inside == (operator in ("=", "in"))


def resource_name(resource: dict) -> str:
    group = GROUPS.get(resource["kind"])
    kind = resource["kind"].lower()
    return f"{kind}.{group}/{resource['metadata']['name']}" if group else f"{kind}/{resource['metadata']['name']}"


class Cluster:
    def __init__(self, state_dir: Path):
        self.path = state_dir / "cluster.json"
        self.state = json.loads(self.path.read_text()) if self.path.exists() else {"deployments": {}}

    def save(self) -> None:
        self.path.write_text(json.dumps(self.state, indent=2))

    def deployment(self, name: str) -> dict | None:
        return self.state["deployments"].get(name.rpartition("/")[2])

    def apply(self, resources: list[dict]) -> None:
        for resource in resources:
            if resource["kind"] != "Deployment":
                continue
            image = resource["spec"]["template"]["spec"]["containers"][0]["image"]
            current = self.state["deployments"].setdefault(resource["metadata"]["name"], {"annotations": {}})
            if current.get("image") != image:
                current["undo"] = current.get("image")
            current["image"] = image


def get(cluster: Cluster, args: list[str]) -> int:
    kind, name, output = args[1], args[2], option(args, "--output")
    if kind == "job":
        failed = os.environ.get("STANDIN_MIGRATION") == "failed"
        print("/1" if failed else "1/", end="")
        return 0
    deployment = cluster.deployment(name)
    if deployment is None:
        if "--ignore-not-found" in args:
            return 0
        print(f'Error from server (NotFound): deployments.apps "{name}" not found', file=sys.stderr)
        return 1
    if output == IMAGE_PATH:
        print(deployment["image"], end="")
    else:
        for key, value in deployment["annotations"].items():
            if output == ANNOTATION_PATH % key:
                print(value, end="")
    return 0


def rollout(cluster: Cluster, args: list[str]) -> int:
    action, name = args[1], args[2]
    short = name.rpartition("/")[2]
    if action == "status":
        if short in os.environ.get("STANDIN_ROLLOUT_FAILS", "").split(","):
            print(f'error: deployment "{short}" exceeded its progress deadline', file=sys.stderr)
            return 1
        print(f'deployment "{short}" successfully rolled out')
        return 0
    deployment = cluster.deployment(name)
    if not deployment or not deployment.get("undo"):
        print(f'error: no rollout history found for deployment "{short}"', file=sys.stderr)
        return 1
    deployment["image"], deployment["undo"] = deployment["undo"], None
    print(f"{name} rolled back")
    return 0


def main(args: list[str], state_dir: str, real_kubectl: str) -> int:
    if args[:1] == ["kustomize"]:
        os.execv(real_kubectl, [real_kubectl, *args])
    cluster = Cluster(Path(state_dir))
    record: dict = {"args": args}
    status = 0
    if args[:1] == ["apply"]:
        documents = yaml.safe_load_all(Path(option(args, "--filename")).read_text())
        resources = [doc for doc in documents if doc and selected(doc, option(args, "--selector"))]
        record["applied"] = [
            {"name": resource_name(r), "images": [c["image"] for c in r["spec"]["template"]["spec"]["containers"]]}
            if r["kind"] in ("Deployment", "Job")
            else {"name": resource_name(r)}
            for r in resources
        ]
        refused = [r for r in resources if r["kind"] in os.environ.get("STANDIN_REFUSE", "").split(",")]
        if refused:
            print(f"Error from server (Forbidden): {resource_name(refused[0])} is forbidden", file=sys.stderr)
            status = 1
        else:
            cluster.apply(resources)
        if option(args, "--output") == "name" and not status:
            print("\n".join(resource_name(r) for r in resources))
    elif args[:1] == ["get"]:
        status = get(cluster, args)
    elif args[:1] == ["rollout"]:
        status = rollout(cluster, args)
    elif args[:1] == ["annotate"]:
        key, _, value = args[-1].partition("=")
        cluster.deployment(args[2])["annotations"][key] = value
    elif args[:1] == ["logs"]:
        print('django.db.utils.ProgrammingError: column "price" of relation "shop_product" already exists')
    cluster.save()
    with open(Path(state_dir) / "calls.jsonl", "a") as log:
        log.write(json.dumps(record) + "\n")
    return status
