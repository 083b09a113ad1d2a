"""The build context is an allowlist: no secret-like file reaches any image, at any depth.

The static test parses the Dockerfile (with Docker's own parser, the ``dockerfile`` package)
and the .dockerignore of every variant. The container test plants secret-like files all over
a project, builds every stage of its Dockerfile for real with podman (tests/containers), and
reads every file of every image (``podman image mount``) for the planted contents.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dockerfile
import pytest

from tests.answers import ALL_OFF, ALL_ON, OPTION_SETS, answer_id, with_answers
from tests.containers import podman as podman_module
from tests.containers.images import build_project, copy_project, podman_for, project_images
from tests.helpers import dockerfile_list_arg, dockerignore_patterns


def copied_sources(project: Path) -> set[str]:
    """Every build-context path the Dockerfile reads: the sources of each COPY (COPY --from reads a
    stage instead), where the app stage's copy of the whole context stands for the paths it takes
    from it (its APP_FILES and DEVELOPMENT_FILES)."""
    sources = set()
    for command in dockerfile.parse_file(str(project / "Dockerfile")):
        if command.cmd.upper() == "COPY" and not any(flag.startswith("--from") for flag in command.flags):
            sources |= {source.strip("/") for source in command.value[:-1]}
    sources |= {*dockerfile_list_arg(project, "APP_FILES"), *dockerfile_list_arg(project, "DEVELOPMENT_FILES")}
    return sources - {"."}


def stages(project: Path) -> list[str]:
    """The names of the Dockerfile's stages (FROM ... AS name), in order."""
    commands = dockerfile.parse_file(str(project / "Dockerfile"))
    return [command.value[2] for command in commands if command.cmd.upper() == "FROM" and len(command.value) == 3]


@with_answers(*OPTION_SETS)
def test_the_build_context_admits_exactly_what_the_dockerfile_copies(project):
    patterns = dockerignore_patterns(project)

    assert patterns[0] == "*"
    admitted = {pattern[1:].strip("/") for pattern in patterns if pattern.startswith("!")}
    assert admitted == copied_sources(project)


@with_answers(ALL_ON)
def test_a_local_frontend_bundle_stays_out_of_the_context(project):
    """The app stage copies the bundle from the frontend stage before the context: a stale
    frontend/dist from a developer's machine (make up's watcher makes one) must not replace it."""
    patterns = dockerignore_patterns(project)

    assert patterns.index("frontend/dist") > patterns.index("!frontend/")


@with_answers(*OPTION_SETS)
def test_secret_patterns_come_after_every_admission(project):
    """The last matching line wins: a re-exclusion must follow the admissions it narrows."""
    patterns = dockerignore_patterns(project)
    last_admission = max(index for index, pattern in enumerate(patterns) if pattern.startswith("!"))

    for secret in ("**/.env", "**/.env.*", "**/*.pem", "**/*.key", "**/secrets", "**/id_rsa*"):
        assert patterns.index(secret) > last_admission


# Secret-like files at several depths (the project's package as {slug}), files that exist but
# must stay out (overwritten with their marker), and one file that does belong in the
# production image, to prove the search finds what is there.
PLANTED = (
    ".env",
    "config/.env",
    "config/settings/.env.production",
    "{slug}/certs/server.key",
    "{slug}/certs/server.pem",
    "{slug}/core/secrets/api_token",
    "secrets/x",
    "tests/fixtures/id_rsa",
    "tests/.netrc",
    "bin/deploy.p12",
    "frontend/src/.env.local",
    "frontend/.npmrc",
    # the tools that run on a developer's machine (bin/setup-gitlab and its settings and lock)
    "bin/setup-gitlab",
    ".gitlab/settings.toml",
    "requirements-tools.txt",
    ".venv-tools/pyvenv.cfg",
)
CONTROL = "config/planted_control.txt"


def marker(relative: str) -> bytes:
    return b"DCT-PLANTED-" + hashlib.sha256(relative.encode()).hexdigest()[:16].encode()


def plant(project: Path, slug: str) -> dict[bytes, str]:
    """Write every planted file (where its directory's part exists); return {marker: relative path}."""
    planted = {}
    for relative in (*PLANTED, CONTROL):
        relative = relative.format(slug=slug)
        if relative.startswith("frontend/") and not (project / "frontend").is_dir():
            continue
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(marker(relative) + b"\n")
        planted[marker(relative)] = relative
    return planted


def markers_in_image(podman: podman_module.Podman, tag: str, markers: set[bytes]) -> set[bytes]:
    """The markers found in any regular file of the image (read through ``podman image mount``)."""
    root = Path(podman.run("image", "mount", tag).stdout.strip())
    found = set()
    try:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.stat().st_size < 1_000_000:
                content = path.read_bytes()
                found |= {m for m in markers if m in content}
    finally:
        podman.run("image", "unmount", tag)
    return found


@pytest.fixture(scope="module")
def podman(answers) -> podman_module.Podman:
    return podman_for(*project_images(answers))


@pytest.mark.container
@with_answers(ALL_ON, ALL_OFF)
def test_no_planted_secret_reaches_any_image(podman, answers, project, tmp_path):
    copy = copy_project(project, tmp_path)
    planted = plant(copy, project.name)
    targets = tuple(stages(copy))
    assert {"production", "development"} <= set(targets)

    tags = build_project(podman, copy, f"planted-{answer_id(answers)}", targets=targets)
    found = {target: markers_in_image(podman, tag, set(planted)) for target, tag in tags.items()}

    assert marker(CONTROL) in found["production"], "the search must find a file that belongs in the image"
    leaked = {target: sorted(planted[m] for m in markers - {marker(CONTROL)}) for target, markers in found.items()}
    assert leaked == {target: [] for target in targets}
