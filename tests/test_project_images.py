"""The generated project's images, really built and run with podman.

Built on the base image from base-image/ (itself on the run's official Python image or its
stand-in: tests/containers). Runs for all options on and all off, and the development image's
suite once more on Python 3.12.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests import helpers
from tests.answers import ALL_OFF, ALL_ON, answer_id, with_answers
from tests.containers import images as images_module
from tests.containers.images import COMMIT_HASH, build_project, copy_project
from tests.containers.podman import free_port
from tests.require import require_postgres, require_redis

pytestmark = pytest.mark.container
# Every part on, and every part off.
BOTH = with_answers(ALL_ON, ALL_OFF)

SECRET_KEY = "s3cr3t-" + hashlib.sha256(b"the production image test's key").hexdigest()


@pytest.fixture(scope="module")
def podman(answers):
    return images_module.podman_for(*images_module.project_images(answers))


@pytest.fixture(scope="module")
def images(podman, answers, project) -> dict[str, str]:
    return build_project(podman, project, answer_id(answers), answers["python_version"])


@pytest.fixture
def secret_key_file(tmp_path) -> Path:
    path = tmp_path / "secret_key"
    path.write_text(SECRET_KEY + "\n")
    path.chmod(0o644)
    return path


def database_url(suffix: str) -> str:
    require_postgres()
    return helpers.database_url("image", suffix)


@with_answers(ALL_ON, ALL_OFF, {**ALL_OFF, "python_version": "3.12"})
def test_development_image_runs_the_test_suite_against_postgresql(podman, images, answers):
    env = ["-e", f"DATABASE_URL={database_url(answer_id(answers))}", "-e", "REQUIRE_SERVICES=1"]
    if answers["use_celery"]:
        require_redis()
        env += ["-e", f"CELERY_BROKER_URL={helpers.REDIS}/0"]

    result = podman.run_image(images["development"], options=["--network=host", *env], timeout=900, check=False)

    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    assert re.search(r"\d+ passed", result.stdout.splitlines()[-1])


@pytest.fixture
def production(podman, images, secret_key_file):
    """The production image as a server would run it: read-only, no capabilities, secret as a file."""
    port = free_port()
    options = [
        "--read-only",
        "--tmpfs=/tmp",
        "--cap-drop=ALL",
        "--security-opt=no-new-privileges",
        f"--volume={secret_key_file}:/run/secrets/secret_key:ro",
    ]
    env = {
        "SECRET_KEY_FILE": "/run/secrets/secret_key",
        "DATABASE_URL": f"{helpers.POSTGRES}/postgres",
        "ALLOWED_HOSTS": "127.0.0.1,example.com",
        "SECURE_SSL_REDIRECT": "false",
        "CELERY_BROKER_URL": f"{helpers.REDIS}/0",
        "PORT": str(port),  # gunicorn binds it, and the image's health check follows it
    }
    require_postgres()
    with podman.container(images["production"], options=options, env=env, network="host") as container:
        container.wait_http(f"http://127.0.0.1:{port}/health/", timeout=90, ok_statuses=[200])
        yield container, port


@BOTH
def test_production_serves_health_read_only_without_capabilities(production):
    container, port = production

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=10) as response:
        body = json.load(response)

    assert body == {"status": "ok", "commit": COMMIT_HASH, "checks": {"database": "ok", "cache": "ok"}}
    assert container.healthcheck().returncode == 0
    assert container.inspect()["HostConfig"]["ReadonlyRootfs"] is True


# A line of gunicorn's, Django's or Python's that reports a problem.
PROBLEM_LINE = re.compile(r"\[(ERROR|WARNING|CRITICAL)\]|\b(ERROR|WARNING|CRITICAL)\b|Traceback|Warning:")
# Except the health probe's own reports: a probe that took longer than HEALTH_CHECK_TIMEOUT while
# the machine was busy starting up (the fixture has waited for a 200 since).
HEALTH_PROBE = re.compile(r"\.core\.health Health check \w+ failed|django\.request Service Unavailable: /health/")


@BOTH
def test_production_starts_read_only_without_error_or_warning_lines(production):
    """gunicorn's control socket, or anything else that wants to write, would say so on every start."""
    container, port = production
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=10) as response:
        assert response.status == 200

    logs = container.logs()

    assert "Booting worker" in logs
    problems = [line for line in logs.splitlines() if PROBLEM_LINE.search(line) and not HEALTH_PROBE.search(line)]
    assert problems == [], "\n".join(problems)


@BOTH
def test_production_runs_as_an_unprivileged_user(production):
    container, _ = production
    uid = container.exec("id", "-u").stdout.strip()
    gunicorn_uids = container.exec("sh", "-c", "for p in /proc/[0-9]*; do stat -c %u $p; done").stdout.split()
    assert uid != "0"
    assert set(gunicorn_uids) == {uid}


@BOTH
def test_production_cannot_write_its_code(production):
    container, _ = production
    result = container.exec("touch", "/app/manage.py", check=False)
    assert result.returncode != 0


@BOTH
def test_production_image_ships_no_test_tools_or_node(podman, images, answers, project):
    result = podman.run_image(images["production"], "python", "-c", "import pytest", check=False)
    assert result.returncode != 0
    assert "No module named 'pytest'" in result.stderr
    listing = podman.run_image(
        images["production"], "sh", "-c", "command -v node npm; ls -A /app/frontend 2>/dev/null || true"
    )
    assert "node" not in listing.stdout.split()
    assert "node_modules" not in listing.stdout
    assert not {"src", "package.json"} & set(listing.stdout.split())
    # /app holds exactly the files production runs (APP_FILES), and what the build makes.
    made = {"__pycache__", "media", "staticfiles", *(["frontend"] if answers["use_frontend"] else [])}
    app = podman.run_image(images["production"], "ls", "-A", "/app").stdout.split()
    assert sorted(app) == sorted({*helpers.dockerfile_list_arg(project, "APP_FILES"), *made})


@BOTH
def test_both_images_run_as_the_app_user_by_number(podman, images):
    """The dependencies stage ends as root: each target must set the app user itself."""
    for target in ("production", "development"):
        assert podman.inspect(images[target])["Config"]["User"] == "1000:1000", target


@BOTH
def test_no_secret_in_image_history_or_container_inspect(podman, images, production):
    container, _ = production
    history = json.dumps(podman.history(images["production"]))
    inspected = json.dumps([podman.inspect(images["production"]), container.inspect()])
    assert SECRET_KEY not in history
    assert SECRET_KEY not in inspected
    assert "SECRET_KEY=" not in history


@with_answers(ALL_ON)
def test_production_serves_the_built_frontend(production):
    _, port = production
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        page = response.read().decode()
    assets = re.findall(r'(?:src|href)="(/static/main\.[0-9a-f]+\.(?:js|css))"', page)
    assert len(assets) == 2, page
    for asset in assets:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{asset}", timeout=10) as response:
            assert response.status == 200
            assert response.read()


@BOTH
def test_django_deploy_checks_pass_inside_the_production_image(podman, images, secret_key_file):
    options = [
        f"--volume={secret_key_file}:/run/secrets/secret_key:ro",
        "-e",
        "SECRET_KEY_FILE=/run/secrets/secret_key",
        "-e",
        "DATABASE_URL=postgres://app@db.internal:5432/app",
        "-e",
        "ALLOWED_HOSTS=example.com",
        "-e",
        "CELERY_BROKER_URL=redis://redis.internal:6379/0",
        "--network=none",
    ]
    check = podman.run_image(
        images["production"], "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING", options=options
    )
    assert "no issues" in check.stdout
    migrations = podman.run_image(
        images["production"], "python", "manage.py", "makemigrations", "--check", "--dry-run", options=options
    )
    assert "No changes detected" in migrations.stdout


@BOTH
def test_entrypoint_fails_clearly_on_a_missing_secret_file(podman, images):
    result = podman.run_image(
        images["production"],
        options=["-e", "SECRET_KEY_FILE=/run/secrets/missing", "--network=none"],
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY_FILE" in result.stderr
    assert "/run/secrets/missing" in result.stderr


@BOTH
def test_development_image_tests_the_very_layers_production_ships(podman, images, answers):
    """The production image's own layers (after the base) are the development image's, unchanged:
    the same dependency layers, and the same /app layer with the same content, above the test tools."""
    base = podman.layers(images_module.base_image(podman, answers["python_version"]))
    production, development = podman.layers(images["production"]), podman.layers(images["development"])
    shared, app = production[:-1], production[-1]  # the base, requirements.txt, the dependencies; /app

    assert production[: len(base)] == base
    assert len(shared) == len(base) + 2
    assert development[: len(shared)] == shared
    # The test tools' two layers (requirements-test.txt, their install), then the very same /app layer.
    assert development[len(shared) + 2] == app, "the development image has another /app layer"


STEP = re.compile(r"^(?:\[(\d+)/\d+\] )?STEP (\d+)/\d+: (.*)$", re.MULTILINE)


def rebuilt_steps(build_output: str) -> list[str]:
    """The instructions a podman build ran rather than took from its cache, in the Dockerfile's
    order (podman builds a stage when a later one first needs it); FROM left out, a RUN by its
    keyword alone."""
    starts = list(STEP.finditer(build_output))
    ran = []
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        output = build_output[match.end() : following.start() if following else None]
        stage, step, instruction = int(match[1] or 0), int(match[2]), match[3]
        if not instruction.startswith("FROM ") and "--> Using cache " not in output:
            ran.append((stage, step, "RUN" if instruction.startswith("RUN ") else instruction))
    return [instruction for *_, instruction in sorted(ran)]


@with_answers(ALL_OFF)
def test_code_only_change_rebuilds_only_the_app_layers(podman, project, tmp_path):
    """After a change to one Python module, both builds run only the app stage's copy of the
    code and what follows it: the dependencies and the test tools come from the cache."""
    project = copy_project(project, tmp_path)
    tag = f"localhost/dct-cache-{helpers.WORKER}"
    build_args = {"BASE_IMAGE": images_module.base_image(podman), "COMMIT_HASH": COMMIT_HASH}

    def build() -> dict[str, list[str]]:
        return {
            target: rebuilt_steps(podman.build(project, f"{tag}:{target}", target=target, build_args=build_args).stdout)
            for target in ("production", "development")
        }

    # Twice: where another worker built the same dependencies at the same moment, the cache
    # holds two equal candidates, and the second build settles on the one every later build takes.
    build()
    build()
    views = next(project.glob("*/core/views.py"))
    # A change no earlier run has built, or the cache would hold its layers already.
    views.write_text(views.read_text() + f"\n# A code-only change, {uuid.uuid4()}.\n")
    rebuilt = build()

    # production: the app stage from its copy of the context on, then production's copy of /app.
    assert rebuilt["production"] == [
        *("COPY . /src/", "RUN"),
        "COPY --from=app /export/ /",
        'CMD ["gunicorn", "config.wsgi"]',
    ]
    # development: the app stage is now cached; only its copies of /app and the test files.
    assert rebuilt["development"] == [
        "COPY --from=app /export/ /",
        "COPY --from=app /export-development/ /",
        'CMD ["bin/run-tests"]',
    ]
    production, development = (podman.layers(f"{tag}:{target}") for target in ("production", "development"))
    # Below the test files, the same new /app layer as production's.
    assert development[-2] == production[-1], "the two targets carry different /app layers"
