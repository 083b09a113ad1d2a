"""Build the generated project's images with podman, on the locally built base image.

Builds reuse podman's layer cache in the isolated store (tests/podman.py), so a second
run of the suite rebuilds nothing. A file lock per tag keeps xdist workers apart.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tests.helpers import cache_lock
from tests.podman import Podman, base_image, standin_python, unavailable_reason
from tests.require import unavailable

STANDIN_DIR = Path(__file__).resolve().parent / "standin"
NODE_TAG = "docker.io/library/node:24-trixie-slim"
COMMIT_HASH = "0123456789abcdef0123456789abcdef01234567"  # a made-up commit, shown by /health/


def available_podman() -> Podman:
    """podman on the isolated store; where podman cannot build, the test is unavailable, with the reason."""
    reason = unavailable_reason()
    if reason:
        unavailable(reason)
    return Podman()


def node_standin(podman: Podman) -> str:
    """Ensure the node stand-in for the frontend stage exists (see node.Containerfile)."""
    containerfile = STANDIN_DIR / "node.Containerfile"
    python = standin_python(podman, "3.13")
    key = hashlib.sha256(containerfile.read_bytes() + podman.image_id(python).encode()).hexdigest()[:32]
    with cache_lock("node-standin"):
        if not (podman.image_exists(NODE_TAG) and podman.labels(NODE_TAG).get("dct.test.key") == key):
            podman.build(STANDIN_DIR, NODE_TAG, file=containerfile, labels={"dct.test.key": key})
    return NODE_TAG


def build_project(
    podman: Podman,
    project: Path,
    name: str,
    python_version: str = "3.13",
    targets: tuple[str, ...] = ("production", "development"),
) -> dict[str, str]:
    """Build these targets (by default production and development); return {target: tag}."""
    base = base_image(podman, python_version)
    if (project / "frontend").exists():
        node_standin(podman)
    build_args = {"BASE_IMAGE": base, "COMMIT_HASH": COMMIT_HASH}
    tags = {}
    with cache_lock(f"project-{name}"):
        for target in targets:
            tags[target] = f"localhost/dct-{name}:{target}"
            podman.build(project, tags[target], target=target, build_args=build_args)
    return tags


def copy_project(project: Path, destination: Path) -> Path:
    """A private copy of a baked project, to change without touching the shared bake."""
    return Path(shutil.copytree(project, destination / project.name, symlinks=True))
