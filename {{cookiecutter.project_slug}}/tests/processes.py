"""Fresh processes, for what only a new process shows, started early to run alongside the rest.

Settings are read once per process, so the tests load settings modules in this process
(the load_settings fixture) wherever that is sound. A few things only a new process shows:
a deployment's `check --deploy`, a server refusing to start, a probe whose database is down,
what a task queue registers by itself, a worker. Each such process is a FreshProcess declared
at module level: in the test module that reads it, or below where several modules read one
process (one process for several checks: each one costs half a second of CPU or more).

A test that reads a process says so with `@pytest.mark.fresh_process(PROCESS)`.
tests/conftest.py starts the process as soon as such a test is collected, so that it boots
on the other core while this one collects and runs the in-process tests, and it runs the
marked tests after all the others: by their turn their processes have usually finished.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
# Below the priority of the test process: the in-process tests keep their core, and the fresh
# processes share what is left (their results are read last).
NICENESS = 5


class SecretFile:
    """A value that reaches the process in a file, as Docker and Kubernetes mount secrets."""

    def __init__(self, value):
        self.value = value


class FreshProcess:
    """`python ARGS` in the project directory, with only the given environment (or this one's, inherit)."""

    def __init__(self, *args, settings="config.settings.testing", inherit=False, **environ):
        self.args = args
        self.settings = settings
        self.inherit = inherit
        self.environ = environ
        self.process = None
        self.directory = None
        self.completed = None

    def environment(self):
        base = dict(os.environ) if self.inherit else {"PATH": os.environ["PATH"], "PYTHONWARNINGS": "error"}
        env = {**base, "HOME": str(self.directory)}
        if self.settings:
            env["DJANGO_SETTINGS_MODULE"] = self.settings
        for name, value in self.environ.items():
            if isinstance(value, SecretFile):
                path = self.directory / name.lower()
                path.write_text(value.value + "\n")
                value = str(path)
            env[name] = value
        return env

    def start(self):
        if self.process is None:
            self.directory = Path(tempfile.mkdtemp(prefix="fresh-process-"))
            with (self.directory / "stdout").open("w") as stdout, (self.directory / "stderr").open("w") as stderr:
                self.process = subprocess.Popen(  # noqa: S603 - runs this project's own code
                    [sys.executable, *self.args], cwd=PROJECT_DIR, env=self.environment(), stdout=stdout, stderr=stderr
                )
            # Relative to this process's own niceness: lowering it again would need privileges.
            with contextlib.suppress(ProcessLookupError, PermissionError):  # where it has already ended
                niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
                os.setpriority(os.PRIO_PROCESS, self.process.pid, niceness)
        return self

    def output(self):
        """What the process has written so far: (stdout, stderr)."""
        return tuple((self.directory / name).read_text() for name in ("stdout", "stderr"))

    def log(self):
        return "".join(self.output())

    def printed_json(self):
        """The JSON document on the last line of the output, once the process has ended well."""
        result = self.result()
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def result(self, timeout=120):
        """Wait for the process to end: a subprocess.CompletedProcess."""
        if self.completed is None:
            self.start().process.wait(timeout=timeout)
            self.completed = subprocess.CompletedProcess(self.process.args, self.process.returncode, *self.output())
        return self.completed

    def stop(self):
        """Kill the process where it still runs and forget it: a later start() begins afresh."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.process = self.directory = self.completed = None


# A process whose database does not answer, without DJANGO_SETTINGS_MODULE as on a developer's
# machine. It prints one JSON line: the settings it chose and, under "health", what /health/
# answers (the probe opens its own connection, from the settings, at its first check).
{%- if cookiecutter.use_celery %}
# First, under "beat", what beat loads: in a fresh process only autodiscovery registers the
# tasks, and beat must start without tables or migrations.
{%- endif %}
# {% if cookiecutter.use_celery %}tests/test_health.py and tests/test_tasks.py read it{% else %}tests/test_health.py reads it{% endif %}.
WITHOUT_A_DATABASE = """
import json, os
{%- if cookiecutter.use_celery %}
from celery.beat import PersistentScheduler
from config.celery import app  # chooses the settings, as `celery -A config beat` does

app.loader.import_default_modules()  # as the worker and beat do: sets Django up, autodiscovers the tasks
schedule_file = os.path.join(os.environ["HOME"], "celerybeat-schedule")  # the process's own directory
scheduler = PersistentScheduler(app=app, schedule_filename=schedule_file)
try:
    entries = {name: entry.task for name, entry in scheduler.schedule.items()}
finally:
    scheduler.close()
beat = {"entries": entries, "registered": sorted(app.tasks)}
{%- else %}
import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")  # as manage.py does
django.setup()
{%- endif %}

from django.conf import settings
from django.test import Client

health = Client().get("/health/")
print(json.dumps({
    "settings": os.environ["DJANGO_SETTINGS_MODULE"],
    "debug": settings.DEBUG,
{%- if cookiecutter.use_celery %}
    "beat": beat,
{%- endif %}
    "health": {"status": health.status_code, "body": health.json()},
}), flush=True)
os._exit(0)  # without the interpreter's teardown of all it loaded: a third of a second of CPU
"""
# Port 9 (discard) is closed: a real refused connection, not a mock.
DATABASE_DOWN = FreshProcess(
    "-c",
    WITHOUT_A_DATABASE,
    settings=None,
    DATABASE_URL="postgres://nobody@127.0.0.1:9/nothing",
)


def needed_by(item):
    """The fresh processes that a test reads: the arguments of its fresh_process marks."""
    return [process for mark in item.iter_markers("fresh_process") for process in mark.args]


def run_last(items):
    """Move the tests that read fresh processes after the others, each group in its order."""
    items.sort(key=lambda item: bool(needed_by(item)))
