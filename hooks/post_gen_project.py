"""Remove the optional parts that were switched off.

PARTS is the one table of each part's own files; main() removes those of every part that is
switched off. Shared files (settings, Dockerfile, compose.yaml, requirements, CI) choose their
optional lines with Jinja conditions; this hook only deletes whole files.

cruft re-runs this hook on every update, in a temporary directory: it must be
idempotent, tolerate files that are already gone, and do no network access.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

# Rendered by cookiecutter. A raw string, so that backslashes survive; JSON escapes quotes.
ANSWERS_JSON = r"""{{ cookiecutter | tojson }}"""


def remove(project: Path, *relative_paths: str) -> None:
    """Delete files or directories below project; missing ones are fine."""
    for relative in relative_paths:
        path = project / relative
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


# Each optional part: the answer (and its value) that brings it, and the files and directories
# that are only its own. Shared files choose their lines with Jinja instead. The tests read
# this table; a new part is one entry.
PARTS = {
    ("use_celery", True): (
        "config/celery.py",
        "{slug}/core/tasks.py",
        "tests/test_tasks.py",
        "tests/test_celery_worker.py",
        "deploy/base/worker.yaml",
        "deploy/base/beat.yaml",
    ),
    ("use_cron", True): ("crontab", "tests/test_crontab.py", "deploy/base/cron.yaml"),
    ("use_frontend", True): ("frontend",),
    ("deploy_target", "kubernetes"): ("deploy", "docs/kubernetes.md"),
}


def part_paths(part: tuple[str, object], slug: str) -> list[str]:
    """The project paths of a part, with the package's name filled in."""
    return [path.format(slug=slug) for path in PARTS[part]]


def prune(project: Path, answers: dict) -> None:
    """Remove every part whose answer was not given."""
    for part in PARTS:
        answer, value = part
        if answers[answer] != value:
            remove(project, *part_paths(part, answers["project_slug"]))


def main() -> int:
    prune(Path.cwd(), json.loads(ANSWERS_JSON))
    return 0


if __name__ == "__main__":
    sys.exit(main())
