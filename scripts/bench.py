"""Print the template's performance figures (see the targets in the project notes).

    make bench            # everything, including container builds and `make up` (needs podman)
    make bench ARGS=--no-containers
    make bench ARGS="--compose-runs 1"

Timings are medians of repeated runs; figures that compare two things come from the
same run. This is a benchmark, not a test: it asserts nothing.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.helpers import POSTGRES, environment  # noqa: E402
from tests.venvs import find_python, install, project_environment  # noqa: E402

BIN = Path(sys.executable).parent


def timed(command, *, cwd=None, env=None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=environment(env), check=True, capture_output=True)
    return time.perf_counter() - start


def median_time(command, runs: int, **kwargs) -> float:
    return statistics.median(timed(command, **kwargs) for _ in range(runs))


def report(name: str, value: str, target: str = "") -> None:
    print(f"{name:<58} {value:>12}   {target}")


def bake(output: Path) -> Path:
    subprocess.run([BIN / "cookiecutter", "--no-input", "-o", output, REPO], check=True, capture_output=True)
    return output / "my_project"


def bench_bake(runs: int, scratch: Path) -> None:
    """Bake this template and a one-file template, alternately, in the same run."""
    one_file = scratch / "one-file-template"
    (one_file / "{{cookiecutter.name}}").mkdir(parents=True)
    (one_file / "cookiecutter.json").write_text('{"name": "one"}')
    (one_file / "{{cookiecutter.name}}" / "README").write_text("{{ cookiecutter.name }}\n")
    times: dict[Path, list[float]] = {REPO: [], one_file: []}
    for index in range(runs):
        for template, results in times.items():
            output = scratch / f"bake-{template.name}-{index}"
            results.append(timed([BIN / "cookiecutter", "--no-input", "-o", output, template]))
    ours, reference = (statistics.median(results) for results in times.values())
    report("bake with the defaults (median)", f"{ours:.2f} s")
    report("bake of a one-file template, same run (median)", f"{reference:.2f} s")
    report("bake / one-file template, same run", f"{ours / reference:.2f}x", "<= 1.5x (TARGETS.md)")


def bench_project(runs: int, scratch: Path) -> None:
    project = bake(scratch / "project")
    python = find_python("3.13")
    venv = scratch / "venv"
    # The tests' own install (tests/venvs.py): uv, bytecode compiled, as the label says; without
    # it every process compiles what it imports where PYTHONDONTWRITEBYTECODE is set, as on CI.
    started = time.perf_counter()
    install(venv, python, project)
    install_time = time.perf_counter() - started
    version = subprocess.run(
        [venv / "bin" / "python", "-c", "import platform; print(platform.python_version())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # The figures below depend on it: a CPython without the fix of python/cpython#142183 (merged
    # to the 3.13 branch on 2026-03-18) allocates and frees a frame-stack chunk on every call that
    # crosses a chunk boundary, so a loop that calls from exactly that depth runs several times
    # slower (on 3.13.0, the generated suite's Sentry test, where sentry-sdk lists the packages).
    report("the generated project's Python (CPython)", version)
    path_env = project_environment(venv)
    tests = timed(["bin/run-tests", "-q", "-p", "no:cacheprovider"], cwd=project, env=path_env)
    report("fresh venv install (uv, bytecode compiled, warm uv cache)", f"{install_time:.1f} s")
    report("generated project's own test suite", f"{tests:.1f} s")
    report("install + tests", f"{install_time + tests:.1f} s", "<= 12 s with a cold cache (TARGETS.md)")
    check = median_time([venv / "bin" / "python", "manage.py", "check"], runs, cwd=project, env=path_env)
    report("manage.py check startup (median)", f"{check:.2f} s", "<= 0.5x the best-known template's (TARGETS.md)")
    bench_project_suite(project, path_env)


def bench_project_suite(project: Path, env: dict, runs: int = 3) -> None:
    """The default project's suite on PostgreSQL, the real-Redis worker test included (REQUIRE_SERVICES=1:
    it fails rather than skips), alternating with `manage.py check` in the same run."""
    suite_env = {**env, "DATABASE_URL": f"{POSTGRES}/dct_bench_suite", "REQUIRE_SERVICES": "1"}
    suite, check = [], []
    for _ in range(runs):
        suite.append(timed(["bin/run-tests", "-q", "-p", "no:cacheprovider"], cwd=project, env=suite_env))
        check.append(timed(["python", "manage.py", "check"], cwd=project, env=env))
    suite_time, check_time = statistics.median(suite), statistics.median(check)
    report("generated suite, PostgreSQL and Redis (median)", f"{suite_time:.1f} s", "<= 4 s on 2 cores")
    report("manage.py check, same run (median)", f"{check_time:.2f} s")
    report("generated suite / manage.py check, same run", f"{suite_time / check_time:.1f}x", "<= 10x (TARGETS.md)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--no-containers", action="store_true")
    parser.add_argument("--compose-runs", type=int, default=3, help="fresh bakes timed for `make up` (minutes each)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="dct-bench-"))
    try:
        bench_bake(args.runs, scratch)
        bench_project(args.runs, scratch)
        if not args.no_containers:
            from scripts.bench_images import bench_images

            bench_images(report)
            from scripts.bench_compose import bench_compose

            bench_compose(report, args.compose_runs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
