"""The SBOM of the production image: `ci/sbom`, run in the image itself, lists what production runs.

It is generated from the image's /venv by cyclonedx-bom from the project's tools lock,
installed apart with PYTHONPATH unset: every locked package appears at its locked version,
nothing of the test tools does, and a package planted in the image outside the lock file
shows up (the SBOM describes the image, not the lock file).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.utils import canonicalize_name

from tests.answers import ALL_ON, answer_id, with_answers
from tests.containers import podman as podman_module
from tests.containers.images import build_project, podman_for, project_images
from tests.helpers import requirement_entries

pytestmark = [pytest.mark.container, with_answers(ALL_ON)]
# What the base image's /venv has before the project installs anything.
BASE_VENV = {"pip"}


@pytest.fixture(scope="module")
def podman(answers) -> podman_module.Podman:
    return podman_for(*project_images(answers))


@pytest.fixture(scope="module")
def production(podman, project, answers) -> str:
    return build_project(podman, project, answer_id(answers))["production"]


def sbom(podman, image: str, project: Path, scratch: Path) -> dict[str, str]:
    """{package: version} of the CycloneDX SBOM that ci/sbom writes in a container of the image."""
    scratch.mkdir(exist_ok=True)
    scratch.chmod(0o777)  # the image's app user writes the SBOM
    result = podman.run_image(
        image,
        "sh",
        "/src/ci/sbom",
        "/out/sbom.cdx.json",
        # The host network: pip fetches cyclonedx-bom from PyPI, as the pipeline's job does.
        options=["--network=host", "-v", f"{project}:/src:ro", "-v", f"{scratch}:/out"],
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    document = json.loads((scratch / "sbom.cdx.json").read_text())
    assert document["bomFormat"] == "CycloneDX"
    return {canonicalize_name(component["name"]): component["version"] for component in document["components"]}


def locked(lock: Path, python_version: str) -> dict[str, str]:
    """{package: version} of a lock file, for the packages whose markers hold on Linux with this Python."""
    environment = {**default_environment(), "python_version": python_version, "sys_platform": "linux"}
    return {
        canonicalize_name(requirement.name): str(requirement.specifier).removeprefix("==")
        for requirement, _ in requirement_entries(lock.read_text())
        if requirement.marker is None or requirement.marker.evaluate(environment)
    }


def test_the_sbom_lists_every_locked_package_and_no_test_tool(podman, production, project, answers, tmp_path):
    listed = sbom(podman, production, project, tmp_path / "out")

    python = answers["python_version"]
    production_pins = locked(project / "requirements.txt", python)
    assert "django" in production_pins
    assert {name: listed.get(name) for name in production_pins} == production_pins
    test_tools = set(locked(project / "requirements-test.txt", python)) - {*production_pins, *BASE_VENV}
    assert {"pytest", "coverage", "ruff", "pip-audit"} <= test_tools
    assert test_tools & set(listed) == set()
    tools = set(locked(project / "requirements-tools.txt", python)) - {*production_pins, *BASE_VENV}
    assert {"cyclonedx-bom", "python-gitlab"} <= tools
    assert tools & set(listed) == set()
    # Beyond the lock: only what the base image's venv brings.
    assert set(listed) - set(production_pins) == BASE_VENV


def test_a_package_planted_outside_the_lock_shows_up(podman, production, project, tmp_path):
    """The SBOM describes the image: a package installed in it without the lock file is listed too."""
    context = tmp_path / "planted"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {production}\n"
        "USER root\n"
        # What `pip install` leaves behind, without the network: the package's metadata.
        "RUN site=$(python -c \"import sysconfig; print(sysconfig.get_path('purelib'))\") \\\n"
        '    && mkdir "$site/planted_package-9.9.9.dist-info" \\\n'
        "    && printf 'Metadata-Version: 2.1\\nName: planted-package\\nVersion: 9.9.9\\n' "
        '> "$site/planted_package-9.9.9.dist-info/METADATA"\n'
        "USER 1000:1000\n"
    )
    tag = f"localhost/dct-sbom-planted:{answer_id({})}"
    podman.build(context, tag, file=context / "Containerfile")

    listed = sbom(podman, tag, project, tmp_path / "out")

    assert listed["planted-package"] == "9.9.9"
    assert listed["django"] == locked(project / "requirements.txt", "3.13")["django"]
