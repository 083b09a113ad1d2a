"""Remove the optional parts that were switched off.

One small function per part; main() is a flat table of answer -> pruning function.
Shared files (settings, Dockerfile, compose.yaml, requirements, CI) choose their
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


def remove_celery(project: Path, slug: str) -> None:
    remove(
        project,
        "config/celery.py",
        f"{slug}/core/tasks.py",
        "tests/test_tasks.py",
        "tests/test_celery_worker.py",
    )


def remove_cron(project: Path, slug: str) -> None:
    remove(project, "crontab", "tests/test_crontab.py")


def remove_frontend(project: Path, slug: str) -> None:
    remove(project, "frontend")


# Answer -> what to remove when it is false.
PRUNERS = {
    "use_celery": remove_celery,
    "use_cron": remove_cron,
    "use_frontend": remove_frontend,
}


def prune(project: Path, answers: dict) -> None:
    for answer, pruner in PRUNERS.items():
        if not answers[answer]:
            pruner(project, answers["project_slug"])


def main() -> int:
    prune(Path.cwd(), json.loads(ANSWERS_JSON))
    return 0


if __name__ == "__main__":
    sys.exit(main())
