"""A new developer's first command: `make up` on a fresh bake gives a working site, for real.

The stack runs with podman-compose on the suite's isolated podman store, on stand-ins for the
official postgres, redis and node images (tests/compose_stack.py). The compose-command choice and
the Makefile's listing are checked without containers.
"""

from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.answers import ALL_OFF, with_answers
from tests.compose_stack import SERVICE_IMAGES, Stack, get
from tests.containers.images import copy_project, podman_for, project_images
from tests.helpers import BIN, path_with, run, tool
from tests.stubs import calls, stand_ins

#: The owner (user and group) the tests give the stack's containers through APP_UID and APP_GID.
APP_ID = 1234
TARGETS = ["up", "down", "logs", "shell", "migrate", "superuser", "test", "test-in-container", "lint", "fmt", "lock"]


def wait_until(what: str, check, timeout: float = 180, interval: float = 1):
    """check() until it returns something true; fail naming what did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"{what} within {timeout:.0f} s", pytrace=False)


def owner(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_uid, stat.st_gid


# --------------------------------------------------------------------------
# without containers


@with_answers({})
def test_make_alone_lists_every_target_on_one_line(project):
    listing = run(["make"], cwd=project).stdout.splitlines()
    names = [line.split("\t")[0] for line in listing]
    assert set(TARGETS) <= set(names), listing
    assert len(names) == len(set(names)) == len(listing)


@with_answers({})
@pytest.mark.parametrize(("engine_answers", "chosen"), [(False, "podman-compose"), (True, "docker compose")])
def test_compose_choice_takes_docker_only_where_its_engine_answers(project, tmp_path, engine_answers, chosen):
    """A stand-in `docker` client whose compose plugin works, with and without an engine behind it."""
    podman = podman_for()
    tool("podman-compose")
    exit_code = 0 if engine_answers else 1
    docker = stand_ins(tmp_path / "docker", ["docker"], f'sys.exit(0 if args[:1] == ["compose"] else {exit_code})')
    env = {**podman.env_vars, **path_with(docker, BIN)}

    assert run(["bin/compose", "--which"], cwd=project, env=env).stdout.strip() == chosen
    assert ["info"] in [call["args"] for call in calls(docker)]


@with_answers({})
def test_compose_override_wins_and_no_compose_command_is_one_clear_line(project, tmp_path):
    chosen = run(["bin/compose", "ps", "--all"], cwd=project, env={"COMPOSE": "echo chosen:"})
    assert chosen.stdout == "chosen: ps --all\n"
    # A PATH with the shell tools only: no docker, no podman, no podman-compose.
    bare = tmp_path / "bin"
    bare.mkdir()
    for name in ("sh", "dirname"):
        (bare / name).symlink_to(shutil.which(name))
    missing = run(["bin/compose", "ps"], cwd=project, env={"PATH": str(bare)}, check=False)
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert missing.stderr.count("\n") == 1
    assert "no working compose command" in missing.stderr
    assert "COMPOSE" in missing.stderr


@pytest.mark.slow
@with_answers({})
def test_make_test_and_lint_use_the_project_venv(project, answers, venv_for, tmp_path):
    copy = copy_project(project, tmp_path)
    (copy / ".venv").symlink_to(venv_for(copy, answers["python_version"]))
    tested = run(["make", "test", "ARGS=-q"], cwd=copy)
    assert re.search(r"^\d+ passed", tested.stdout, re.MULTILINE), tested.stdout
    run(["make", "lint"], cwd=copy)


# --------------------------------------------------------------------------
# the stack, for real


@pytest.fixture
def stack(project, answers, tmp_path):
    podman = podman_for(*SERVICE_IMAGES, *project_images(answers))
    tool("podman-compose")
    stack = Stack(podman, copy_project(project, tmp_path), answers["python_version"], uid=APP_ID)
    try:
        yield stack
    finally:
        stack.remove()


def check_site(stack: Stack) -> None:
    status, body = get(stack.url("/health/"))
    assert status == 200, body
    assert json.loads(body)["status"] == "ok", body
    status, body = get(stack.url("/"))
    assert status == 200, body


def check_superuser(stack: Stack) -> None:
    credentials = {
        "DJANGO_SUPERUSER_USERNAME": "admin",
        "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
        "DJANGO_SUPERUSER_PASSWORD": "a-Long-pass-9",
    }
    made = stack.make("superuser", **credentials)  # stdin is /dev/null: a question would fail it
    assert made.returncode == 0, made.stdout + made.stderr
    check = (
        "from django.contrib.auth import get_user_model; "
        "user = get_user_model().objects.get(username='admin'); "
        "print(user.is_superuser, user.email, user.check_password('a-Long-pass-9'))"
    )
    shell = stack.compose("exec", "-T", "web", "python", "manage.py", "shell", "-c", check)
    assert shell.stdout.strip().splitlines()[-1] == "True admin@example.com True", shell.stdout + shell.stderr


def check_celery(stack: Stack, slug: str) -> None:
    wait_until(
        "the worker did not answer `celery inspect ping`",
        lambda: stack.compose("exec", "-T", "worker", "celery", "inspect", "ping").returncode == 0,
    )
    send = f"from {slug}.core.tasks import greet; print(greet.delay('compose').get(timeout=60))"
    result = stack.compose("exec", "-T", "web", "python", "manage.py", "shell", "-c", send)
    assert result.stdout.strip().splitlines()[-1:] == ["Hello, compose!"], result.stdout + result.stderr


def check_frontend_bundle(stack: Stack) -> None:
    bundle = stack.project / "frontend" / "dist" / "main.js"
    wait_until("the frontend watcher did not build frontend/dist/main.js", bundle.exists, timeout=300)
    assert owner(bundle) == (APP_ID, APP_ID)
    assert bundle.stat().st_size > 0


def check_host_edit_is_served(stack: Stack, slug: str) -> None:
    marker = f"Edited on the host {uuid.uuid4().hex}"
    template = stack.project / slug / "templates" / "home.html"
    template.write_text(template.read_text().replace("</main>", f"<p>{marker}</p></main>"))
    wait_until("GET / did not show the template edited on the host", lambda: marker in get(stack.url("/"))[1], 60)


def check_container_files_belong_to_the_app_user(stack: Stack) -> None:
    made = stack.compose("exec", "-T", "web", "python", "-c", "open('/app/made-in-web.txt', 'w').write('x')")
    assert made.returncode == 0, made.stdout + made.stderr
    assert owner(stack.project / "made-in-web.txt") == (APP_ID, APP_ID)


@pytest.mark.container
@with_answers({}, ALL_OFF)
def test_make_up_serves_the_site_with_every_part_and_make_down_stops_it(stack, answers):
    slug = re.sub(r"\W", "_", stack.project.name)
    started = time.monotonic()
    up = stack.make("up")
    assert up.returncode == 0, up.stdout[-4000:] + up.stderr[-4000:] + stack.compose("logs").stdout[-6000:]
    print(f"make up took {time.monotonic() - started:.0f} s")

    check_site(stack)
    for target in ("migrate", "test-in-container"):
        made = stack.make(target)
        assert made.returncode == 0, made.stdout[-6000:] + made.stderr[-4000:]
    check_superuser(stack)
    if answers["use_celery"]:
        check_celery(stack, slug)
    if answers["use_frontend"]:
        check_frontend_bundle(stack)
    check_host_edit_is_served(stack, slug)
    check_container_files_belong_to_the_app_user(stack)

    down = stack.make("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert stack.containers() == []
