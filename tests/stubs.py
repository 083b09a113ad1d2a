"""Stand-ins for command-line tools that record how they were called.

A script that talks to a registry, a host or the clock (buildah, skopeo, curl, date) is run
with these first on PATH: each stand-in appends one JSON line to ``calls.jsonl`` in its
directory (the tool's name, its arguments, what it read on stdin when it is a login, and the
environment variables asked for), then does what ``behaviour`` says: Python source run with
``tool``, ``args`` and ``os``/``sys``/``json`` at hand. Without one it prints nothing and
succeeds.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path

LOG = "calls.jsonl"
RECORD = """#!{python}
import json, os, sys
tool, args = os.path.basename(sys.argv[0]), sys.argv[1:]
stdin = sys.stdin.read() if "--password-stdin" in args else None
env = {{name: os.environ.get(name) for name in {env!r}}}
with open({log!r}, "a") as log:
    log.write(json.dumps({{"tool": tool, "args": args, "stdin": stdin, "env": env}}) + "\\n")
"""


def stand_ins(
    directory: Path, tools: Iterable[str], behaviour: str = "", env: Iterable[str] = (), log: Path | None = None
) -> Path:
    """``directory`` with a recording stand-in for each of ``tools``; put it first on PATH. They
    record into ``directory``'s log, or into ``log`` (another directory's, to keep one order)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = RECORD.format(python=sys.executable, env=sorted(env), log=str(log or directory / LOG)) + behaviour
    for name in tools:
        (directory / name).write_text(script)
        (directory / name).chmod(0o755)
    return directory


def calls(directory: Path) -> list[dict]:
    """The recorded calls, in order: dicts with ``tool``, ``args``, ``stdin`` and ``env``."""
    log = directory / LOG
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
