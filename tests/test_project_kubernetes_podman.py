"""The production overlay's web Deployment (and the Celery worker) really run: `podman kube play`.

No cluster runs on this machine; podman 4.3 plays Deployments as pods. The production image
comes from the suite's image store (tests/containers/images.py). A small test-only Kustomize overlay on
top of deploy/overlays/production adapts what a pod on this machine needs:

- the local image, by its digest, instead of the registry's placeholder;
- hostNetwork, so that the pods reach the suite's PostgreSQL and Redis on 127.0.0.1, and
  PORT, a free port, since the host's network is shared (podman 4.3 refuses container
  ports with the host's network: web's port list goes);
- one namespace, so that the test Secret's references follow it, and a name prefix per
  test, with a prefixed name for the /tmp volume: podman 4.3 makes every
  volume (an emptyDir too) a named volume in its store, shared by every pod using the name.

The Secret app-secrets (test values, in the test overlay so that it gets the prefix too) is
made with `podman secret create` from its rendered JSON, whose `data` holds the plain values:
podman 4.3 writes a secret volume's `data` values into the files as they are stored (a
Secret given to `kube play` is stored base64-encoded, and the files would hold base64), and
ignores `stringData`.

What podman 4.3 ignores, so that only a cluster checks it: readinessProbe and startupProbe;
livenessProbe becomes a health check, but a tcpSocket probe on a named port becomes
`nc -z "" 0` (and the image has no nc), so web's is not run (the worker's exec probe is);
runAsNonRoot (runAsUser is applied, and checked below); seccompProfile (podman applies its
default profile either way); fsGroup and defaultMode; imagePullSecrets (the image is
local); automountServiceAccountToken (no API server); terminationGracePeriodSeconds and the
preStop pause; resources; topologySpreadConstraints, strategy and replicas (one pod each).

What it honours, and the tests prove: the container runs as 1000:1000, with a read-only
root filesystem, no capabilities and no privilege escalation; /tmp is writable; the secrets
arrive as files under /run/secrets and the settings read them; /health/ answers 200 with
the database and cache checked; the worker answers Celery's ping.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from tests import helpers
from tests.answers import ALL_ON, KUBERNETES, answer_id, with_answers
from tests.containers import podman as podman_module
from tests.containers.images import COMMIT_HASH, build_project, podman_for, project_images
from tests.kubernetes import PLACEHOLDER_IMAGE, kustomized
from tests.require import require_postgres, require_redis, unavailable

pytestmark = [pytest.mark.container, pytest.mark.services, with_answers({**ALL_ON, **KUBERNETES})]

SECRET_KEY = "kube-play-" + uuid.uuid5(uuid.NAMESPACE_URL, "test_project_kubernetes_podman").hex * 2
# What a pod on this machine needs (see the module docstring); {placeholders} filled in per test.
TEST_OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: dct-kube-play
namePrefix: {prefix}
resources:
  - {production}
  - secret.yaml
images:
  - name: {placeholder}
    newName: {name}
    digest: {digest}
configMapGenerator:
  - name: app-config
    behavior: merge
    literals:
      - PORT={port}
patches:
  - target:
      kind: Deployment
    patch: |-
      - op: add
        path: /spec/template/spec/hostNetwork
        value: true
      - op: test
        path: /spec/template/spec/volumes/0/name
        value: tmp
      - op: replace
        path: /spec/template/spec/volumes/0/name
        value: {prefix}tmp
      - op: replace
        path: /spec/template/spec/containers/0/volumeMounts/0/name
        value: {prefix}tmp
  - target:
      kind: Deployment
      name: web
    patch: |-
      - op: remove
        path: /spec/template/spec/containers/0/ports
"""


@pytest.fixture(scope="module")
def podman(answers):
    podman = podman_for(*project_images(answers))
    if not Path("/usr/libexec/podman/catatonit").exists():
        unavailable("podman kube play needs catatonit (apt-get install catatonit)")
    require_postgres()
    require_redis()
    return podman


@pytest.fixture(scope="module")
def image(podman, answers, project) -> str:
    """The production image, by its digest in the local store."""
    tag = build_project(podman, project, answer_id(answers))["production"]
    digest = podman.inspect(tag)["Digest"]
    return f"{tag.rsplit(':', 1)[0]}@{digest}"


def secret() -> dict:
    values = {
        "secret_key": SECRET_KEY,
        "database_url": f"{helpers.POSTGRES}/postgres",
        "cache_url": f"{helpers.REDIS}/1",
        "celery_broker_url": f"{helpers.REDIS}/0",
    }
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "app-secrets"}, "data": values}


@pytest.fixture(scope="module")
def played(podman, project, image, tmp_path_factory):
    """web and worker of the production overlay, played by podman; `podman kube down` after."""
    directory = tmp_path_factory.mktemp("kube-play")
    prefix = f"dct-{uuid.uuid4().hex[:8]}-"
    port = podman_module.free_port()
    production = os.path.relpath(project / "deploy" / "overlays" / "production", directory)
    name, digest = image.split("@")
    (directory / "kustomization.yaml").write_text(
        TEST_OVERLAY.format(
            prefix=prefix, production=production, placeholder=PLACEHOLDER_IMAGE, name=name, digest=digest, port=port
        )
    )
    (directory / "secret.yaml").write_text(yaml.safe_dump(secret()))
    resources = kustomized(directory)
    wanted = {"ConfigMap", "PersistentVolumeClaim"}
    played = [
        r for r in resources if r["kind"] in wanted or r["metadata"]["name"] in (f"{prefix}web", f"{prefix}worker")
    ]
    manifest = directory / "play.yaml"
    manifest.write_text(yaml.safe_dump_all(played))
    (rendered_secret,) = [r for r in resources if r["kind"] == "Secret"]
    assert rendered_secret["metadata"]["name"] == f"{prefix}app-secrets"
    secret_file = directory / "secret.json"
    secret_file.write_text(json.dumps(rendered_secret))
    volumes = [f"{prefix}{volume}" for volume in ("tmp", "app-secrets", "media")]

    podman.run("secret", "create", f"{prefix}app-secrets", secret_file)
    try:
        podman.run("kube", "play", manifest, timeout=300)
        containers = {kind: f"{prefix}{kind}-pod-0-{kind}" for kind in ("web", "worker")}
        web = podman_module.Container(podman, containers["web"])
        web.wait_http(f"http://127.0.0.1:{port}/health/", timeout=120, ok_statuses=[200])
        yield {
            "port": port,
            "resources": played,
            **{k: podman_module.Container(podman, v) for k, v in containers.items()},
        }
    finally:
        podman.run("kube", "down", manifest, check=False, timeout=300)
        podman.run("secret", "rm", f"{prefix}app-secrets", check=False)
        podman.run("volume", "rm", "--force", *volumes, check=False)


def test_web_answers_health_with_the_database_and_cache_checked(played):
    with urllib.request.urlopen(f"http://127.0.0.1:{played['port']}/health/", timeout=10) as response:
        body = json.load(response)

    assert body == {"status": "ok", "commit": COMMIT_HASH, "checks": {"database": "ok", "cache": "ok"}}


@pytest.mark.parametrize("kind", ["web", "worker"])
def test_the_pod_runs_as_1000_on_a_read_only_root_without_capabilities(played, kind):
    container = played[kind]
    inspected = container.inspect()

    assert inspected["Config"]["User"] == "1000:1000"
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    assert inspected["EffectiveCaps"] in (None, [])
    assert "no-new-privileges" in inspected["HostConfig"]["SecurityOpt"]
    status = container.exec("cat", "/proc/1/status").stdout
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["Uid"].split() == ["1000"] * 4
    assert fields["Gid"].split() == ["1000"] * 4
    assert int(fields["CapEff"], 16) == 0
    assert int(fields["NoNewPrivs"]) == 1
    assert container.exec("touch", "/app/manage.py", check=False).returncode != 0
    assert container.exec("touch", "/tmp/written-by-the-app").returncode == 0


def test_the_secrets_arrive_as_files_and_nowhere_else(played):
    web = played["web"]
    listing = web.exec("ls", "/run/secrets").stdout.split()

    assert sorted(listing) == ["cache_url", "celery_broker_url", "database_url", "secret_key"]
    assert web.exec("cat", "/run/secrets/secret_key").stdout == SECRET_KEY
    environment = json.dumps(web.inspect()["Config"]["Env"])
    assert "SECRET_KEY_FILE=/run/secrets/secret_key" in environment
    assert SECRET_KEY not in environment
    assert SECRET_KEY not in yaml.safe_dump_all(played["resources"])


def test_the_worker_answers_celerys_ping_as_its_liveness_probe(played):
    """podman turns the worker's exec livenessProbe into a health check: run it."""
    worker = played["worker"]
    probe = worker.inspect()["Config"]["Healthcheck"]["Test"]

    assert "celery inspect ping --destination celery@$HOSTNAME" in " ".join(probe)
    assert worker.healthcheck().returncode == 0, worker.logs()[-3000:]
    # The production worker (prefork) ran config/celery.py's receivers without an error.
    assert not re.search(r"\b(ERROR|CRITICAL)/", worker.logs()), worker.logs()[-3000:]
