import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_django(tmp_path):
    """Run a manage.py command in a fresh process with only the given environment.

    Settings are read once per process, so tests of settings and deployment checks
    start a new one instead of patching the running one.
    """

    def run(*args, settings="config.settings.testing", **environ):
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": settings,
            "PYTHONWARNINGS": "error",
            **environ,
        }
        return subprocess.run(  # noqa: S603 - runs this project's own manage.py
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def secret_file(tmp_path):
    """Write a value to a file, as Docker and Kubernetes mount secrets."""

    def write(name, value):
        path = tmp_path / name
        path.write_text(value + "\n")
        return str(path)

    return write
