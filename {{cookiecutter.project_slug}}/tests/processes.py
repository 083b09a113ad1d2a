"""Fresh processes, for what only a new process shows, started early to run alongside the rest.

Settings are read once per process, so the tests load settings modules in this process
(the load_settings fixture) wherever that is sound. A few things only a new process shows:
a deployment's `check --deploy`, a server refusing to start, what a task queue registers
by itself, a worker. A test module declares each such process as a FreshProcess at module
level; tests/conftest.py starts those of the collected tests as soon as collection ends,
so that they boot on the other core while the in-process tests run, and the test reads the
result when its turn comes.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


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
        return self

    def output(self):
        """What the process has written so far: (stdout, stderr)."""
        return tuple((self.directory / name).read_text() for name in ("stdout", "stderr"))

    def log(self):
        return "".join(self.output())

    def result(self, timeout=120):
        """Wait for the process to end: a subprocess.CompletedProcess."""
        if self.completed is None:
            self.start().process.wait(timeout=timeout)
            self.completed = subprocess.CompletedProcess(self.process.args, self.process.returncode, *self.output())
        return self.completed

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def declared(modules):
    """The FreshProcess objects declared at the top level of these modules."""
    return [value for module in modules for value in vars(module).values() if isinstance(value, FreshProcess)]
