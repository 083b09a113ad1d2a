"""The images the tests build: the base image (base-image/) and the generated project's
production and development targets, on the run's official images or their stand-ins
(registry.py). Builds reuse podman's layer cache in the isolated store, so a second run
rebuilds nothing; a lock per tag keeps pytest-xdist workers apart.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import shutil
from pathlib import Path

from tests.answers import DEFAULTS
from tests.containers import podman as podman_module
from tests.containers import registry, standins
from tests.containers.podman import Podman
from tests.helpers import TEMPLATE_DIR, cache_lock, tree_digest
from tests.require import unavailable

BASE_IMAGE_DIR = TEMPLATE_DIR / "base-image"
DEFAULT_PYTHON = DEFAULTS["python_version"]
NODE_IMAGE = "node:24-trixie-slim"
COMMIT_HASH = "0123456789abcdef0123456789abcdef01234567"  # a made-up commit, shown by /health/

#: Local tag of the base image built by ``base_image()`` (``{python}`` filled in).
BASE_IMAGE_TAG = "localhost/django-base-image:{python}"

#: OCI label build args that ``base_image()`` passes. Fixed values, so the
#: base image (and every project image built on it) stays cached between runs.
BASE_IMAGE_LABEL_ARGS = {
    "IMAGE_SOURCE": "https://example.invalid/agency/django-container-template",
    "IMAGE_REVISION": "0000000000000000000000000000000000000000",
    "IMAGE_CREATED": "2000-01-01T00:00:00Z",
    "IMAGE_VERSION": "test",
}


def podman_for(*images: str) -> Podman:
    """podman with the isolated store, once the run can provide ``images`` (official names);
    else the test is skipped with the reason (a failure under DCT_REQUIRE_ALL=1)."""
    reason = podman_module.unavailable_reason()
    if reason:
        unavailable(reason)
    podman = Podman()
    for image in images:
        reason = registry.unavailable_reason(podman, image)
        if reason:
            unavailable(reason)
    return podman


def project_images(answers: dict) -> list[str]:
    """The official images a project baked with these answers builds on: its Python, and node
    where it has the frontend."""
    return [standins.python_image(answers["python_version"]), *([NODE_IMAGE] if answers["use_frontend"] else [])]


@dataclasses.dataclass(frozen=True)
class CronRunnerChoice:
    """How ``base_image()`` builds the cron runner (supercronic).

    ``install``: whether supercronic is in the test image; ``note``: a
    sentence saying which and why, for skip reasons and test reports.
    """

    install: bool
    note: str

    @property
    def build_args(self) -> dict[str, str]:
        return {"INSTALL_SUPERCRONIC": "true" if self.install else "false"}


def cron_runner_choice() -> CronRunnerChoice:
    """The cron runner choice for test builds, from ``DCT_SUPERCRONIC``.

    supercronic is only published as a GitHub release binary (Debian trixie
    has no package), and GitHub is not reachable from the test machines, so
    by default the tests build the base image with INSTALL_SUPERCRONIC=false.
    Set ``DCT_SUPERCRONIC=github`` where GitHub is reachable to include it.
    """
    value = os.environ.get("DCT_SUPERCRONIC", "").strip().lower()
    if value in ("github", "1", "true", "yes"):
        return CronRunnerChoice(
            True, "supercronic installed from its GitHub release (DCT_SUPERCRONIC=github), checked by sha1sum"
        )
    return CronRunnerChoice(
        False,
        "supercronic LEFT OUT of the test base image "
        "(INSTALL_SUPERCRONIC=false): it is only published on GitHub, "
        "which the test machines cannot reach, and Debian trixie has no "
        "supercronic package; set DCT_SUPERCRONIC=github to include it",
    )


def base_image_build_args(python_version: str = DEFAULT_PYTHON, cron: CronRunnerChoice | None = None) -> dict[str, str]:
    """The build args ``base_image()`` passes (Python version, cron choice, fixed OCI label values)."""
    cron = cron or cron_runner_choice()
    return {"PYTHON_VERSION": python_version, **cron.build_args, **BASE_IMAGE_LABEL_ARGS}


@functools.cache
def base_image(podman: Podman, python_version: str = DEFAULT_PYTHON) -> str:
    """Build base-image/ on the run's Python image (locked, cached); return its tag.

    The tag is ``localhost/django-base-image:<python_version>``. Build args:
    ``base_image_build_args()``; which cron runner was used:
    ``cron_runner_choice()``. The image carries a ``dct.test.key`` label
    hashing base-image/, the build args and the Python image's ID; when it
    matches, nothing is built (repeat calls cost one ``podman inspect``).
    """
    cron = cron_runner_choice()
    python = registry.provide(podman, standins.python_image(python_version))
    tag = BASE_IMAGE_TAG.format(python=python_version)
    build_args = base_image_build_args(python_version, cron)
    sources = tree_digest(BASE_IMAGE_DIR, keep=lambda relative: relative.suffix != ".md")  # documentation left out
    inputs = json.dumps([sources, build_args, podman.image_id(python)], sort_keys=True)
    key = hashlib.sha256(inputs.encode()).hexdigest()[:32]
    with cache_lock(f"base-image-{python_version}"):
        old_id = podman.image_id(tag) if podman.image_exists(tag) else None
        if not (old_id and podman.labels(tag).get("dct.test.key") == key):
            podman.build(BASE_IMAGE_DIR, tag, build_args=build_args, labels={"dct.test.key": key})
            if old_id:  # fails harmlessly while other images still use it
                podman.run("rmi", old_id, check=False)
    return tag


def build_project(
    podman: Podman,
    project: Path,
    name: str,
    python_version: str = DEFAULT_PYTHON,
    targets: tuple[str, ...] = ("production", "development"),
) -> dict[str, str]:
    """Build these targets (by default production and development); return {target: tag}."""
    base = base_image(podman, python_version)
    if (project / "frontend").exists():
        registry.provide(podman, NODE_IMAGE)
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
