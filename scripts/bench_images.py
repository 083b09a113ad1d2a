"""Image figures for scripts/bench.py: sizes, full build and code-only rebuild times."""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path

from tests import podman as podman_module
from tests.images import COMMIT_HASH

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000


def du(podman, image: str, path: str) -> int:
    output = podman.run_image(image, "du", "-sb", path, options=["--network=none"]).stdout
    return int(output.split()[0])


def timed_build(podman, project: Path, tag: str, build_args: dict, *extra: str) -> float:
    """Build both targets, as the pipeline's build job does; return the seconds taken."""
    start = time.perf_counter()
    for target in ("production", "development"):
        podman.build(project, f"{tag}-{target}", target=target, build_args=build_args, extra=list(extra))
    return time.perf_counter() - start


def bench_images(report) -> None:
    reason = podman_module.unavailable_reason()
    if reason:
        report("images", "skipped", reason)
        return
    podman = podman_module.Podman()
    base = podman_module.base_image(podman, "3.13")
    with tempfile.TemporaryDirectory() as scratch:
        # The default answers: Celery and the frontend on.
        subprocess.run(
            [str(REPO / ".venv/bin/cookiecutter"), "--no-input", "-o", scratch, str(REPO)],
            check=True,
            capture_output=True,
        )
        project = Path(scratch) / "my_project"
        tag = "localhost/dct-bench:bench"
        build_args = {"BASE_IMAGE": base, "COMMIT_HASH": COMMIT_HASH}
        full = timed_build(podman, project, tag, build_args, "--no-cache")
        views = next(project.glob("*/core/views.py"))
        views.write_text(views.read_text() + "\n# A code-only change.\n")
        rebuild = timed_build(podman, project, tag, build_args)
        production = f"{tag}-production"
        base_size, production_size = podman.image_size(base), podman.image_size(production)
        venv = du(podman, production, "/venv")
        venv_added = venv - du(podman, base, "/venv")
        added = production_size - base_size
        report("base image size", f"{base_size / MB:.0f} MB")
        report("production image adds over the base", f"{added / MB:.0f} MB")
        report("production venv (du, with the base's pip)", f"{venv / MB:.0f} MB")
        report("  of which the production dependencies", f"{venv_added / MB:.0f} MB")
        report("added / production venv", f"{added / venv:.2f} x", "<= 1.1 x")
        report("added / dependencies alone", f"{added / venv_added:.2f} x")
        report("full build, both targets (base cached, --no-cache)", f"{full:.1f} s")
        report("rebuild both after a code-only change", f"{rebuild:.1f} s")
        report("rebuild / full build", f"{rebuild / full:.0%}", "<= 10 %")
        for target in ("production", "development"):
            podman.run("rmi", "-f", f"{tag}-{target}", check=False)
