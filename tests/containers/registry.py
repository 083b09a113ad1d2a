"""Which images a run uses: the real official images where the registry answers, else the
stand-ins (standins.py). Decided once per run, said in one line.

* ``DCT_OFFLINE=1``: stand-ins, without asking any registry.
* ``DCT_OFFLINE=0``: real images; where the registry does not answer the run stops at once
  with one line (``OfflineError``).
* unset: ask the registry (``/v2/``, a few seconds at most): real images where it answers.

On GitLab CI, where ``CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX`` is set, images are pulled
through the group's dependency proxy (``CI_DEPENDENCY_PROXY_SERVER``, logged in with
``CI_DEPENDENCY_PROXY_USER`` / ``CI_DEPENDENCY_PROXY_PASSWORD``) to avoid Docker Hub's rate
limits. Pulled images are tagged under their official docker.io names in the isolated store,
so that builds keep ``--pull=never``.

The controller of a pytest-xdist run decides and hands the decision to its workers in
``DCT_IMAGE_SOURCE`` (tests/conftest.py), so that a run asks the registry once.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import urllib.error
import urllib.request

from tests.containers import standins
from tests.containers.podman import Podman
from tests.helpers import cache_lock

DOCKER_HUB = "registry-1.docker.io"
PROBE_TIMEOUT = 3.0
HANDOVER = "DCT_IMAGE_SOURCE"


class OfflineError(RuntimeError):
    """DCT_OFFLINE=0 and the registry does not answer."""


@dataclasses.dataclass(frozen=True)
class ImageSource:
    real: bool
    why: str  # the reason, for the one line
    prefix: str = "docker.io/library"  # where images are pulled from
    server: str = ""  # the registry to log in to, where credentials are given

    def describe(self) -> str:
        """The one line that says which images the run uses."""
        names = ", ".join(standins.STANDINS)
        if self.real:
            return f"images: the official ones, pulled from {self.prefix} ({self.why}): {names}"
        return f"images: local stand-ins ({self.why}): {names}"


def registry_answers(url: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """None when ``url`` (a registry's /v2/) answers with any HTTP status; else why not."""
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # 401 asks for a token: the registry is there
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"{url} does not answer: {reason}"


def detect(environ: dict[str, str] | None = None) -> ImageSource:
    """Decide from DCT_OFFLINE and, where it is not 1, by asking the registry."""
    env = os.environ if environ is None else environ
    offline = env.get("DCT_OFFLINE", "")
    if offline == "1":
        return ImageSource(False, "DCT_OFFLINE=1")
    proxy = env.get("CI_DEPENDENCY_PROXY_GROUP_IMAGE_PREFIX", "")
    server = env.get("CI_DEPENDENCY_PROXY_SERVER", "") if proxy else ""
    registry = server or DOCKER_HUB
    problem = registry_answers(f"https://{registry}/v2/")
    if problem is None:
        how = "GitLab's dependency proxy" if proxy else "the registry answers"
        return ImageSource(True, how, proxy or "docker.io/library", server)
    if offline == "0":
        raise OfflineError(f"DCT_OFFLINE=0 but the registry cannot be reached: {problem}")
    return ImageSource(False, f"{problem}; set DCT_OFFLINE=0 to require the registry")


@functools.cache
def image_source() -> ImageSource:
    """The run's decision: handed over by the controller, else detected now."""
    handed = os.environ.get(HANDOVER)
    if handed:
        return ImageSource(**json.loads(handed))
    return detect()


def hand_over(source: ImageSource) -> None:
    """Give the decision to processes started later (pytest-xdist workers)."""
    os.environ[HANDOVER] = json.dumps(dataclasses.asdict(source))


def _login(podman: Podman, source: ImageSource) -> None:
    user, password = os.environ.get("CI_DEPENDENCY_PROXY_USER"), os.environ.get("CI_DEPENDENCY_PROXY_PASSWORD")
    if source.server and user and password:
        podman.run("login", "--username", user, "--password-stdin", source.server, input=password, timeout=60)


@functools.cache
def pull(podman: Podman, name: str) -> str:
    """Pull the official image ``name`` (through the dependency proxy where there is one) and
    tag it under its official name; return that name."""
    source = image_source()
    tag = standins.official(name)
    with cache_lock(f"pull-{name.replace(':', '-')}"):
        _login(podman, source)
        remote = f"{source.prefix}/{name}"
        podman.run("pull", "--quiet", remote, timeout=1800)
        if remote != tag:
            podman.run("tag", remote, tag)
    return tag


def unavailable_reason(podman: Podman, name: str) -> str | None:
    """None when the run can provide the image ``name``; else why not, in one line."""
    if image_source().real:
        return None
    return standins.unavailable_reason(podman, name)


def provide(podman: Podman, name: str) -> str:
    """The image ``name`` (e.g. ``postgres:17``) in the isolated store, real or stand-in, by
    the run's decision; return its full name."""
    return pull(podman, name) if image_source().real else standins.standin(podman, name)
