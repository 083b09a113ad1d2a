"""A baked project's development stack (compose.yaml), run with its own `make up` and `make down`.

For tests/test_compose_up.py and scripts/bench_compose.py. The project's `bin/compose` chooses the
compose command itself: for the tests podman-compose (pinned in requirements-dev.txt, next to the suite's
Python) on the suite's isolated podman store (tests/containers). Nothing test-specific goes into the
project's own files: a `compose.override.yaml`, which compose reads next to compose.yaml, points the
build at the locally built base image and gives the built image a private tag, and the stand-ins for
the official postgres, redis and node images are provided first (tests/containers: real images
where the registry answers, else stand-ins).
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import yaml

from tests.containers import registry
from tests.containers.images import NODE_IMAGE, base_image
from tests.containers.podman import Podman, free_port
from tests.helpers import BIN, path_with, short_hash

# The images compose.yaml runs besides the project's own.
SERVICE_IMAGES = ("postgres:17", "redis:8")


def get(url: str) -> tuple[int, str]:
    """GET url: (status, body); (0, the error) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except OSError as error:
        return 0, str(error)


class Stack:
    """The compose stack of the project copy at ``project`` (its files are changed: use a copy)."""

    def __init__(self, podman: Podman, project: Path, python_version: str, uid: int | None = None):
        """With ``uid``, the project's files and the containers' processes get that user and group."""
        self.podman = podman
        self.project = project
        self.name = f"dct-up-{short_hash(project.resolve())}"
        self.port = free_port()
        self.env = {
            **podman.env_vars,
            **path_with(BIN),
            # The stack needs the isolated store, whatever else bin/compose would find on this machine.
            "COMPOSE": "podman-compose",
            "COMPOSE_PROJECT_NAME": self.name,
            "WEB_PORT": str(self.port),
        }
        if uid is not None:
            # A developer's checkout belongs to the developer, whose IDs APP_UID and APP_GID give.
            subprocess.run(["chown", "-R", f"{uid}:{uid}", project], check=True)
            self.env |= {"APP_UID": str(uid), "APP_GID": str(uid)}
        self._prepare(python_version)

    def _prepare(self, python_version: str) -> None:
        """The images compose.yaml names (stand-ins, base image) and the override pointing at them."""
        base = base_image(self.podman, python_version)
        for image in SERVICE_IMAGES:
            registry.provide(self.podman, image)
        if (self.project / "frontend").exists():
            registry.provide(self.podman, NODE_IMAGE)
        services = yaml.safe_load((self.project / "compose.yaml").read_text())["services"]
        override = {
            name: {"image": f"localhost/{self.name}:development"}
            for name, service in services.items()
            if service["image"] == services["web"]["image"]
        }
        override["web"]["build"] = {"args": {"BASE_IMAGE": base}}
        (self.project / "compose.override.yaml").write_text(
            "# Written by the template's tests: build on the locally built base image, under a private tag.\n"
            + yaml.safe_dump({"services": override})
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def command(self, *command: str, env: dict[str, str] | None = None, timeout: float = 900):
        """Run a command in the project directory with the stack's environment; never raises on failure."""
        return subprocess.run(
            command,
            cwd=self.project,
            env={**os.environ, **self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def make(self, target: str, **env: str) -> subprocess.CompletedProcess:
        return self.command("make", target, env=env)

    def popen_make(self, target: str, output) -> subprocess.Popen:
        """`make TARGET` started in the background, its output going to the open file ``output``."""
        return subprocess.Popen(
            ["make", target],
            cwd=self.project,
            env={**os.environ, **self.env},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )

    def compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """``bin/compose ARGS`` (the project's own choice of compose command)."""
        return self.command("bin/compose", *args, timeout=timeout)

    def containers(self) -> list[str]:
        """Names of the stack's containers, running or not."""
        proc = self.podman.run(
            "ps", "--all", "--format", "json", "--filter", f"label=io.podman.compose.project={self.name}"
        )
        return [name for container in json.loads(proc.stdout or "[]") for name in container["Names"]]

    def remove(self) -> None:
        """Take everything down, the database volume and the built image included (whatever state it is in)."""
        self.compose("down", "--volumes", timeout=300)
        self.podman.run("rmi", f"localhost/{self.name}:development", check=False)
