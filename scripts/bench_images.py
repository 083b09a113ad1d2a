"""Image figures for scripts/bench.py: sizes, full build and code-only rebuild times (medians).

``python -m scripts.bench_images [--runs N] [--template DIR] [--builder podman|buildah]`` runs
them alone; ``--template`` bakes the project from another checkout of the template (an older
commit, to compare). The builds are timed with buildah, the builder of the pipeline's build
job (ci/build adds chroot isolation, vfs storage and a registry cache), where it is installed,
else with podman; both use the tests' isolated store.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.containers import images, registry
from tests.containers import podman as podman_module

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000
TARGETS = ("production", "development")


def du(podman, image: str, path: str) -> int:
    output = podman.run_image(image, "du", "-sb", path, options=["--network=none"]).stdout
    return int(output.split()[0])


def default_builder() -> str:
    return "buildah" if shutil.which("buildah") else "podman"


def timed_build(podman, builder: str, project: Path, tag: str, build_args: dict, *extra: str) -> float:
    """Build both targets, as the pipeline's build job does; return the seconds taken."""
    start = time.perf_counter()
    for target in TARGETS:
        podman.build(project, f"{tag}-{target}", target=target, build_args=build_args, extra=extra, program=builder)
    return time.perf_counter() - start


def build_times(podman, builder: str, project: Path, tag: str, build_args: dict) -> tuple[float, float]:
    """One full build (no cache) and one rebuild after a code-only change, in seconds."""
    full = timed_build(podman, builder, project, tag, build_args, "--no-cache")
    views = next(project.glob("*/core/views.py"))
    views.write_text(views.read_text() + f"\n# A code-only change at {time.time_ns()}.\n")
    return full, timed_build(podman, builder, project, tag, build_args)


def bench_images(report, runs: int = 3, template: Path = REPO, builder: str | None = None) -> None:
    reason = podman_module.unavailable_reason()
    if reason:
        report("images", "skipped", reason)
        return
    podman = podman_module.Podman()
    builder = builder or default_builder()
    report("images", registry.image_source().describe())
    base = images.base_image(podman)
    registry.provide(podman, images.NODE_IMAGE)
    with tempfile.TemporaryDirectory() as scratch:
        # The default answers: Celery and the frontend on.
        subprocess.run(
            [str(REPO / ".venv/bin/cookiecutter"), "--no-input", "-o", scratch, str(template)],
            check=True,
            capture_output=True,
        )
        project = Path(scratch) / "my_project"
        tag = "localhost/dct-bench:bench"
        build_args = {"BASE_IMAGE": base, "COMMIT_HASH": images.COMMIT_HASH}
        times = [build_times(podman, builder, project, tag, build_args) for _ in range(runs)]
        full = statistics.median(t[0] for t in times)
        rebuild = statistics.median(t[1] for t in times)
        ratios = sorted(f"{r / f:.0%}" for f, r in times)
        production, development = f"{tag}-production", f"{tag}-development"
        base_size, production_size = podman.image_size(base), podman.image_size(production)
        venv = du(podman, production, "/venv")
        venv_added = venv - du(podman, base, "/venv")
        added = production_size - base_size
        report("base image size", f"{base_size / MB:.0f} MB")
        report("production image size", f"{production_size / MB:.0f} MB")
        report("development image size", f"{podman.image_size(development) / MB:.0f} MB")
        report("production image adds over the base", f"{added / MB:.0f} MB")
        report("production venv (du, with the base's pip)", f"{venv / MB:.0f} MB")
        report("  of which the production dependencies", f"{venv_added / MB:.0f} MB")
        report("added / production venv", f"{added / venv:.2f} x", "<= 1.1 x")
        report("added / dependencies alone", f"{added / venv_added:.2f} x")
        report(f"full build, both targets, {builder} (base cached, --no-cache; median of {runs})", f"{full:.1f} s")
        report(f"rebuild both after a code-only change, {builder} (median of {runs})", f"{rebuild:.1f} s")
        report("rebuild / full build (medians)", f"{rebuild / full:.0%}", "<= 10 %")
        report("rebuild / full build (each run)", ", ".join(ratios))
        for target in TARGETS:
            podman.run("rmi", "-f", f"{tag}-{target}", check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--template", type=Path, default=REPO)
    parser.add_argument("--builder", choices=("buildah", "podman"), default=None)
    args = parser.parse_args()
    from scripts.bench import report

    bench_images(report, args.runs, args.template, args.builder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
