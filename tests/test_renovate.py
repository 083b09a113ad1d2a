"""Renovate keeps dependencies current: its configs, checked and run with Renovate itself.

Renovate's validator accepts every config strictly; an offline extraction run on a fresh bake
finds every dependency the project pins (lock files, base and tool images, the frontend); the
lock files' headers are the commands that write them (Renovate reruns them); the dated base
image tag moves forward by Renovate's own versioning; and, where PyPI and npm answer, a
lookup run proposes an update for pins planted older than the newest release, each in its
group. The template repository's own config is checked the same way.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from scripts import reserved_names
from tests import renovate
from tests.answers import (
    ALL_OFF,
    ALL_ON,
    COOKIECUTTER_JSON,
    TEMPLATE_DIR,
    VARIANTS,
    with_answers,
)
from tests.gitlab import pipeline_config
from tests.helpers import BIN, path_with, requirement_names, run
from tests.require import unavailable
from tests.template_repo import Repo, TemplateRepo, conflicts, cruft_update, generate_project, git_environment

BASE_IMAGE = COOKIECUTTER_JSON["base_image"]
# The project's lock files, each compiled from its .in file (the tools' lock included).
LOCKS = ("requirements", "requirements-test", "requirements-tools")
# The variable holding an image in the pipeline, e.g. `BUILDAH_IMAGE: quay.io/buildah/stable:v1.42.2`.
IMAGE_VARIABLE = re.compile(r"^[A-Z][A-Z_]*_IMAGE$")


def repository(project: Path, destination: Path) -> Path:
    """A git working tree of the project, as Renovate's local platform reads it."""
    shutil.copytree(project, destination, symlinks=True)
    Repo(destination, git_environment(destination.parent / "home")).init().commit("The project")
    return destination


def image(reference: str) -> str:
    """'docker.io/library/postgres:17' -> 'docker.io/library/postgres'."""
    return reference.rsplit(":", 1)[0] if ":" in reference.rsplit("/", 1)[-1] else reference


def expected_images(project: Path) -> dict[str, set[str]]:
    """The pinned images of each file, read from the files themselves."""
    dockerfile = (project / "Dockerfile").read_text()
    pipeline = pipeline_config(project)
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    pipeline_images = {
        image(value) for name, value in pipeline["variables"].items() if IMAGE_VARIABLE.match(name) and "$" not in value
    }
    for job in pipeline.values():
        if isinstance(job, dict):
            pipeline_images |= {image(service["name"]) for service in job.get("services", [])}
            if isinstance(job.get("image"), str) and "$" not in job["image"]:
                pipeline_images.add(image(job["image"]))
    return {
        "Dockerfile": {image(value) for value in re.findall(r"^ARG \w+_IMAGE=(\S+)$", dockerfile, re.MULTILINE)},
        ".gitlab-ci.yml": pipeline_images,
        "compose.yaml": {image(service["image"]) for service in compose["services"].values() if "build" not in service},
    }


@pytest.fixture(scope="module")
def extracted(project, tmp_path_factory) -> dict:
    scratch = tmp_path_factory.mktemp("renovate")
    return renovate.report(repository(project, scratch / "project"), "extract", scratch)


# ---- the configs pass Renovate's own validator --------------------------------------------


@with_answers(ALL_ON, ALL_OFF)
def test_the_projects_config_passes_the_strict_validator(project):
    result = renovate.validate(project / "renovate.json")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config validated successfully" in result.stdout


def test_the_templates_own_config_passes_the_strict_validator():
    result = renovate.validate(TEMPLATE_DIR / "renovate.json")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Config validated successfully" in result.stdout


# ---- an offline extraction finds every dependency -----------------------------------------
# Renovate finds something different in every optional part and every Python version: the
# tests that bake run on VARIANTS.


@with_answers(*VARIANTS)
def test_extraction_finds_every_pinned_dependency(project, answers, extracted):
    found = renovate.dependencies(extracted)

    assert extracted["problems"] == []
    for name in LOCKS:
        wanted = requirement_names((project / f"{name}.in").read_text())
        locked = {dep: found[f"{name}.in"][dep]["lockedVersion"] for dep in wanted}
        assert all(locked.values()), f"{name}.in: deps without a locked version: {locked}"
        for dep, version in locked.items():
            assert re.search(rf"^{re.escape(dep)}=={re.escape(version)} ", (project / f"{name}.txt").read_text(), re.M)
    for package_file, images in expected_images(project).items():
        assert images <= set(found[package_file]), package_file
    assert ("frontend/package.json" in found) == answers["use_frontend"]
    if answers["use_frontend"]:
        package = json.loads((project / "frontend" / "package.json").read_text())
        assert set(package["devDependencies"]) <= set(found["frontend/package.json"])


@with_answers(*VARIANTS)
def test_the_base_image_is_found_by_its_dated_tag(project, answers, extracted):
    base = renovate.dependencies(extracted)["Dockerfile"][BASE_IMAGE]

    assert re.fullmatch(rf"{re.escape(answers['python_version'])}-20[0-9]{{6}}", base["currentValue"])


def test_the_projects_own_image_is_never_looked_up(project, extracted):
    own = renovate.dependencies(extracted)["compose.yaml"][project.name.replace("_", "-")]
    config = json.loads((project / "renovate.json").read_text())
    rule = next(rule for rule in config["packageRules"] if own["depName"] in rule.get("matchPackageNames", []))
    assert rule["enabled"] is False


# ---- Renovate can regenerate the lock files ----------------------------------------------


def header_command(lock: Path) -> list[str]:
    first, second = lock.read_text().splitlines()[:2]
    assert first == "# This file was autogenerated by uv via the following command:"
    return shlex.split(second.removeprefix("#    "))


def compile_options(command: list[str]) -> list[str]:
    """The options of a `uv pip compile` command, without --quiet and --output-file."""
    return [word for word in command if word.startswith("--") and not word.startswith(("--quiet", "--output-file"))]


def test_bin_lock_requirements_compiles_as_the_headers_say_for_the_oldest_python():
    """The project's relock and `make lock` (which writes the headers) agree, offline."""
    shipped = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
    script = (shipped / "bin" / "lock-requirements").read_text().replace("\\\n", " ")
    (relock,) = [shlex.split(line) for line in script.splitlines() if "uv pip compile" in line]
    options = compile_options(relock)

    for lock in LOCKS:
        assert compile_options(header_command(shipped / f"{lock}.txt")) == options, lock
    assert f"--python-version={reserved_names.PYTHON_VERSION}" in options


@pytest.mark.slow
@with_answers(ALL_ON)
def test_each_lock_files_header_is_the_command_that_writes_it(project, tmp_path):
    """Renovate's pip-compile manager reruns the header's command: run it, get the same file."""
    copy = Path(shutil.copytree(project, tmp_path / "project"))
    for name in (f"{lock}.txt" for lock in LOCKS):
        command = header_command(copy / name)
        assert command[:3] == ["uv", "pip", "compile"]
        assert f"--output-file={name}" in command  # Renovate reads no -o, and options only with '='
        shipped = (copy / name).read_bytes()

        result = run(command, cwd=copy, env={**path_with(BIN), "UV_PYTHON_DOWNLOADS": "never"}, check=False)

        if result.returncode != 0 and "Failed to fetch" in result.stderr:
            unavailable(f"PyPI cannot be reached to relock: {result.stderr.strip()[-300:]}")
        assert result.returncode == 0, result.stderr
        assert (copy / name).read_bytes() == shipped, name


# ---- the dated base image tag moves forward --------------------------------------------------


@with_answers(*VARIANTS)
def test_the_dated_base_tag_moves_forward_and_keeps_its_python(project, answers, extracted, tmp_path):
    config = json.loads((project / "renovate.json").read_text())
    [rule] = [rule for rule in config["packageRules"] if BASE_IMAGE in rule.get("matchPackageNames", [])]
    current = renovate.dependencies(extracted)["Dockerfile"][BASE_IMAGE]["currentValue"]
    python, date = current.split("-")
    other_python = next(version for version in ("3.12", "3.13", "3.14") if version != python)
    later, earlier = str(int(date) + 7), str(int(date) - 7)  # the same day of another week

    candidates = [f"{python}-{later}", f"{python}-{earlier}", f"{other_python}-{later}", python]

    verdicts = renovate.versioning_verdicts(rule["versioning"], current, candidates, tmp_path)

    assert verdicts[f"{python}-{later}"] == {"valid": True, "compatible": True, "newer": True}
    assert verdicts[f"{python}-{earlier}"]["newer"] is False
    assert verdicts[f"{other_python}-{later}"]["compatible"] is False  # never another Python
    assert verdicts[python]["valid"] is False  # never back to the moving tag


# ---- a lookup proposes updates, each in its group ------------------------------------------


def plant(path: Path, pattern: str, replacement: str) -> None:
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.MULTILINE)
    assert count == 1, f"{pattern} not found in {path}"
    path.write_text(text)


@pytest.mark.slow
@with_answers(ALL_ON)
def test_a_lookup_proposes_updates_for_old_pins_in_their_groups(project, tmp_path):
    copy = Path(shutil.copytree(project, tmp_path / "project"))
    plant(copy / "requirements.txt", r"^django==\S+", "django==5.2.1")
    plant(copy / "requirements-test.txt", r"^pytest==\S+", "pytest==8.3.0")
    package, lock = copy / "frontend" / "package.json", copy / "frontend" / "package-lock.json"
    planted = json.loads(package.read_text()), json.loads(lock.read_text())
    planted[0]["devDependencies"]["esbuild"] = planted[1]["packages"][""]["devDependencies"]["esbuild"] = "0.24.0"
    planted[1]["packages"]["node_modules/esbuild"]["version"] = "0.24.0"
    package.write_text(json.dumps(planted[0], indent=2) + "\n")
    lock.write_text(json.dumps(planted[1], indent=2) + "\n")

    found = renovate.report(
        repository(copy, tmp_path / "repo"), "lookup", tmp_path, RENOVATE_ENABLED_MANAGERS='["pip-compile", "npm"]'
    )

    deps = renovate.dependencies(found)
    planted = [("requirements.in", "django"), ("requirements-test.in", "pytest"), ("frontend/package.json", "esbuild")]
    failed = [deps[file][name]["warnings"] for file, name in planted if deps[file][name].get("warnings")]
    if failed:  # Renovate reports a registry it cannot reach as a warning of the dependency
        unavailable(f"Renovate could not look up the planted pins (PyPI or npm unreachable?): {failed}")
    branches = {
        name: {(update["updateType"], update["branchName"]) for update in deps[package_file][name]["updates"]}
        for package_file, name in planted
    }
    assert ("patch", "renovate/django-patch-releases") in branches["django"]
    assert not [update for update in branches["django"] if update[0] in ("major", "minor")]  # its LTS range holds
    assert ("minor", "renovate/test-tools") in branches["pytest"]
    assert {branch for _, branch in branches["esbuild"]} == {"renovate/frontend-tools"}


# ---- the template repository's own config ------------------------------------------------


def test_the_templates_extraction_finds_its_tools_the_projects_pins_and_the_dated_tags(tmp_path):
    env = git_environment(tmp_path / "home")
    template = TemplateRepo.copy_of_working_tree(tmp_path / "template", env)
    template.commit("The template")

    found = renovate.report(template.path, "extract", tmp_path)

    deps = renovate.dependencies(found)
    project = "{{cookiecutter.project_slug}}"
    assert found["problems"] == []
    assert requirement_names((template.path / "requirements-dev.in").read_text()) <= set(deps["requirements-dev.in"])
    assert {"django", "gunicorn", "celery"} <= set(deps[f"{project}/requirements.txt"])
    assert {"pytest", "ruff", "croniter"} <= set(deps[f"{project}/requirements-test.txt"])
    tags = list(deps[f"{project}/Dockerfile"].values())
    cookiecutter_json = json.loads((template.path / "cookiecutter.json").read_text())
    assert {tag["depName"] for tag in tags} == {cookiecutter_json["base_image"]}
    regex = [dep for package in found["packageFiles"]["regex"] for dep in package["deps"]]
    tagged = [dep["currentValue"] for dep in regex if dep["depName"] == BASE_IMAGE]
    assert sorted(tag.split("-")[0] for tag in tagged) == sorted(cookiecutter_json["python_version"])
    assert {"quay.io/buildah/stable", "quay.io/skopeo/stable"} <= {
        dep["depName"] for package in found["packageFiles"]["regex"] for dep in package["deps"]
    }


# ---- the template and a project's Renovate both move pins -----------------------------------


def bump(text: str, package: str) -> tuple[str, str]:
    """Every pin of the package one patch release on (the lock templates pin it once per variant)."""
    old = re.search(rf"^{package}==(\S+) ", text, re.MULTILINE)[1]
    *release, patch = old.split(".")
    new = ".".join([*release, str(int(patch) + 1)])
    return text.replace(f"\n{package}=={old} ", f"\n{package}=={new} "), new


@pytest.mark.slow
def test_a_projects_newer_pin_survives_a_template_update_that_moves_another(tmp_path):
    """Renovate gave the project a newer Django; the template then moves gunicorn: both stay."""
    env = git_environment(tmp_path / "home")
    template = TemplateRepo.copy_of_working_tree(tmp_path / "template", env)
    template.commit("The template")
    project = generate_project(template, tmp_path / "projects")
    project_lock = project.path / "requirements.txt"
    text, django = bump(project_lock.read_text(), "django")
    project_lock.write_text(text)
    project.commit("Renovate: Django patch release")
    template_lock = template.path / template.project_file("requirements.txt")
    text, gunicorn = bump(template_lock.read_text(), "gunicorn")
    template_lock.write_text(text)
    template.commit("A newer gunicorn for every project")

    returncode, output = cruft_update(project)  # never with a traceback

    assert returncode == 0, output
    assert conflicts(project.path) == []
    lock = project_lock.read_text()
    assert re.search(rf"^django=={re.escape(django)} ", lock, re.MULTILINE), "the project's newer Django was lost"
    assert re.search(rf"^gunicorn=={re.escape(gunicorn)} ", lock, re.MULTILINE), "the template's pin is missing"
