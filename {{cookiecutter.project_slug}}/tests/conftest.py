import gc
import importlib
import os
import sys

import pytest

from .processes import needed_by, run_last

# What a settings module may see of this process's environment when it is loaded afresh.
KEPT_ENVIRONMENT = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV"}
KEPT_PREFIXES = ("PYTEST_", "COV_", "COVERAGE_", "PYTHON")
PRODUCTION = "config.settings.production"
SECRET_KEY = "x7#kQ2!vLp9@Zr4$Wm8^Tn3&Yb6*Hc1(Jd5)Fg0-Sa2+Ue7=Io4~Pl9?Qw3"
# What a server gives the production settings, none of it from files.
PRODUCTION_ENVIRONMENT = {
    "SECRET_KEY": SECRET_KEY,
    "ALLOWED_HOSTS": "{{ cookiecutter.domain_name }}",
    "DATABASE_URL": "postgres://app@db.internal:5432/app",
{%- if cookiecutter.use_celery %}
    "CELERY_BROKER_URL": "redis://redis.internal:6379/0",
{%- endif %}
}


def pytest_sessionstart(session):
    session.fresh_processes = set()


def pytest_itemcollected(item):
    """Start the fresh processes that a test reads as soon as it is collected (tests/processes.py)."""
    if not item.config.option.collectonly:
        for process in needed_by(item):
            item.session.fresh_processes.add(process.start())


@pytest.hookimpl(trylast=True)  # after pytest-django's ordering (database tests first)
def pytest_collection_modifyitems(items):
    run_last(items)


def pytest_collection_finish(session):
    """Stop the processes that no selected test reads (deselected with -k or -m), and spare
    the garbage collector what is loaded by now (Django, the project, the test modules): it
    lives as long as the run. Collected once, then frozen, it is left out of later passes."""
    needed = {process for item in session.items for process in needed_by(item)}
    for process in session.fresh_processes - needed:
        process.stop()
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session):
    for process in session.fresh_processes:
        process.stop()


@pytest.fixture
def production_environment():
    """PRODUCTION_ENVIRONMENT, for the test to change."""
    return dict(PRODUCTION_ENVIRONMENT)


@pytest.fixture
def load_settings(monkeypatch):
    """Import a settings module afresh, in this process, with only the given environment.

    What a new process would read at startup, without starting one: the module and the base
    module it extends are imported again, and the running settings (django.conf.settings)
    and the modules that were imported before are left as they were.
    """
    saved = {name: module for name, module in sys.modules.items() if name.startswith("config.settings.")}
    package = importlib.import_module("config.settings")
    saved_attributes = dict(vars(package))

    def load(name="config.settings.testing", **environ):
        for key in list(os.environ):
            if key not in KEPT_ENVIRONMENT and not key.startswith(KEPT_PREFIXES):
                monkeypatch.delenv(key)
        for key, value in environ.items():
            monkeypatch.setenv(key, value)
        for module in [*sys.modules]:
            if module.startswith("config.settings."):
                del sys.modules[module]
        return importlib.import_module(name)

    yield load
    for module in [*sys.modules]:
        if module.startswith("config.settings."):
            del sys.modules[module]
    sys.modules.update(saved)
    vars(package).clear()
    vars(package).update(saved_attributes)


@pytest.fixture
def secret_file(tmp_path):
    """Write a value to a file, as Docker and Kubernetes mount secrets."""

    def write(name, value):
        path = tmp_path / name
        path.write_text(value + "\n")
        return str(path)

    return write
