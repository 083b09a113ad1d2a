"""python -m tests.containers env|image NAME|base [PYTHON_VERSION] (scripts/podman-env)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence

from tests.containers import images, registry
from tests.containers.podman import Podman

USAGE = """\
usage: python -m tests.containers env                    the isolated store's environment as shell exports
       python -m tests.containers image NAME             provide an official image (e.g. postgres:17), print its tag
       python -m tests.containers base [PYTHON_VERSION]  build/reuse the base image, print its tag"""


def main(argv: Sequence[str]) -> int:
    command, *args = argv or [""]
    if command not in ("env", "image", "base") or len(args) > 1 or (command == "image" and not args):
        print(USAGE, file=sys.stderr)
        return 2
    podman = Podman()
    if command == "env":
        for key, value in podman.env_vars.items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    try:
        source = registry.image_source()
    except registry.OfflineError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(source.describe(), file=sys.stderr)
    if command == "image":
        print(registry.provide(podman, args[0]))
    else:
        print(images.base_image(podman, *args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
