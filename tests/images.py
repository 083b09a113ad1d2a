"""Build the generated project's images with podman, on the locally built base image.

Builds reuse podman's layer cache in the isolated store (tests/podman.py), so a second
run of the suite rebuilds nothing. A file lock per tag keeps xdist workers apart.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tests.helpers import cache_lock
from tests.podman import Podman, base_image, standin_python

STANDIN_DIR = Path(__file__).resolve().parent / "standin"
NODE_TAG = "docker.io/library/node:24-trixie-slim"
COMMIT_HASH = "0123456789abcdef0123456789abcdef01234567"  # a made-up commit, shown by /health/


def debian_standin(podman: Podman, name: str, tag: str) -> str:
    """Ensure the stand-in ``tests/standin/<name>.Containerfile`` (plus its ``<name>-*`` files), built
    on the python stand-in, is tagged ``tag``; rebuilt when those files or the python stand-in change."""
    files = sorted(STANDIN_DIR.glob(f"{name}[.-]*"))
    python = standin_python(podman, "3.13")
    key = hashlib.sha256(b"".join(f.read_bytes() for f in files) + podman.image_id(python).encode()).hexdigest()[:32]
    with cache_lock(f"{name}-standin"):
        if not (podman.image_exists(tag) and podman.labels(tag).get("dct.test.key") == key):
            podman.build(STANDIN_DIR, tag, file=STANDIN_DIR / f"{name}.Containerfile", labels={"dct.test.key": key})
    return tag


def node_standin(podman: Podman) -> str:
    """Ensure the node stand-in for the frontend stage exists (see node.Containerfile)."""
    return debian_standin(podman, "node", NODE_TAG)


def service_standins(podman: Podman) -> dict[str, str]:
    """Ensure the stand-ins for the official postgres and redis images that compose.yaml names exist,
    honouring their contract (POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD_FILE, pg_isready;
    redis-cli ping); return {service: tag}. The one place that provides them for the compose tests."""
    return {
        "db": debian_standin(podman, "postgres", "docker.io/library/postgres:17"),
        "redis": debian_standin(podman, "redis", "docker.io/library/redis:8"),
    }


def build_project(podman: Podman, project: Path, name: str, python_version: str = "3.13") -> dict[str, str]:
    """Build the production and development targets; return {target: tag}."""
    base = base_image(podman, python_version)
    if (project / "frontend").exists():
        node_standin(podman)
    build_args = {"BASE_IMAGE": base, "COMMIT_HASH": COMMIT_HASH}
    tags = {}
    with cache_lock(f"project-{name}"):
        for target in ("production", "development"):
            tags[target] = f"localhost/dct-{name}:{target}"
            podman.build(project, tags[target], target=target, build_args=build_args)
    return tags


def copy_project(project: Path, destination: Path) -> Path:
    """A private copy of a baked project, to change without touching the shared bake."""
    return Path(shutil.copytree(project, destination / project.name, symlinks=True))
