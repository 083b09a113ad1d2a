"""The compose figure for scripts/bench.py: time from `make up` on a fresh bake to the first 200 from /health/.

The base image and the stand-ins for the postgres, redis and node images are present; the project's own
layers are not: each run bakes afresh and gives the requirements files (and the frontend's package.json)
bytes never seen before, so that the build misses podman's layer cache from the first project instruction on,
as a new developer's first `make up` does. The stack runs as tests/test_compose_up.py runs it
(tests/compose_stack.py: podman-compose on the suite's isolated store).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from tests.compose_stack import Stack, get
from tests.containers import podman as podman_module

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 900


def fresh_bake(scratch: Path, run: int, nonce: str) -> Path:
    output = scratch / f"up-{run}"
    subprocess.run([REPO / ".venv/bin/cookiecutter", "--no-input", "-o", output, REPO], check=True, capture_output=True)
    project = output / "my_project"
    for name in ("requirements.txt", "requirements-test.txt"):
        with (project / name).open("a") as requirements:
            requirements.write(f"# bench run {run}, {nonce}\n")
    package = project / "frontend" / "package.json"
    package.write_text(json.dumps({**json.loads(package.read_text()), "//": f"bench run {run}, {nonce}"}, indent=2))
    return project


def time_to_health(stack: Stack, log: Path) -> float:
    """Seconds from starting `make up` to the first 200 from /health/ on the host; then `make up` must end well."""
    start = time.perf_counter()
    with log.open("w") as output, stack.popen_make("up", output) as up:
        while get(stack.url("/health/"))[0] != 200:
            if up.poll() not in (None, 0) or time.perf_counter() - start > TIMEOUT:
                up.kill()
                raise RuntimeError(f"make up did not bring /health/ to 200:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        if up.wait(timeout=TIMEOUT) != 0:
            raise RuntimeError(f"make up failed after /health/ answered:\n{log.read_text()[-4000:]}")
    return elapsed


def bench_compose(report, runs: int = 3) -> None:
    reason = podman_module.unavailable_reason()
    if reason:
        report("make up", "skipped", reason)
        return
    podman = podman_module.Podman()
    times = []
    nonce = uuid.uuid4().hex  # never seen by the layer cache, not even from an earlier bench
    with tempfile.TemporaryDirectory(prefix="dct-bench-up-") as scratch:
        for run in range(runs):
            stack = Stack(podman, fresh_bake(Path(scratch), run, nonce), "3.13", uid=1234)
            try:
                times.append(time_to_health(stack, Path(scratch) / f"up-{run}.log"))
            finally:
                stack.remove()
    report(
        f"make up on a fresh bake to the first /health/ 200 (median of {runs})",
        f"{statistics.median(times):.0f} s",
        "<= 60 s",
    )
    report("  fastest, slowest", f"{min(times):.0f}, {max(times):.0f} s")
