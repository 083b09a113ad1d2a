"""The generated project's Content-Security-Policy, proven in a real browser.

The default project (frontend on), with its frontend built by npm and collected as the
production image does, is served by gunicorn with the production settings and
CSP_REPORT_URI pointing at a local collector. Headless Chromium (Debian's package) loads the
home page (which loads the frontend bundle) and the admin login: the policy must block
nothing, so the collector receives no report. With an inline script planted in the home
page the collector must receive one, so that the first test can fail.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import run
from tests.require import require_postgres, unavailable
from tests.service import TRUSTED, serve
from tests.venvs import project_environment

pytestmark = pytest.mark.services

PAGES = ["/", "/admin/login/"]
# Chromium sends reports asynchronously after the page loaded: the time allowed for them.
REPORT_WAIT = 3.0
INLINE_SCRIPT = "<script>document.title = 'inline';</script>"


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        unavailable("Chromium is not installed (Debian: apt-get install chromium)")
    return path


class Collector(ThreadingHTTPServer):
    """Receives CSP reports (report-uri POSTs) and keeps them."""

    def __init__(self):
        self.reports: list[dict] = []
        super().__init__((TRUSTED, 0), ReportHandler)

    @property
    def url(self) -> str:
        return f"http://{TRUSTED}:{self.server_address[1]}/csp-report"


class ReportHandler(BaseHTTPRequestHandler):
    server: Collector

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.reports.append(json.loads(body or b"{}"))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def load(url: str, profile: Path) -> str:
    """The DOM of url after Chromium loaded it and ran its scripts."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        # Without these Chromium's own connections are refused by a closed network.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=2000",
        "--dump-dom",
        url,
    ]
    return run(command, cwd=profile.parent, timeout=120).stdout


@pytest.fixture(scope="module")
def site(default_project, frontend_build, venv_for, tmp_path_factory) -> tuple[Path, Path]:
    """A copy of the default project with the frontend built and static files collected."""
    require_postgres()
    venv = venv_for(default_project)
    project = tmp_path_factory.mktemp("browser") / default_project.name
    shutil.copytree(default_project, project, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    shutil.rmtree(project / "frontend" / "dist")
    shutil.copytree(frontend_build / "dist", project / "frontend" / "dist")
    env = project_environment(
        venv, DJANGO_SETTINGS_MODULE="config.settings.base", STATIC_ROOT=str(project / "staticfiles")
    )
    run(["python", "manage.py", "collectstatic", "--noinput", "--verbosity", "0"], cwd=project, env=env)
    return project, venv


def browse(project: Path, venv: Path, work: Path) -> tuple[list[dict], dict[str, str]]:
    """Load every page in Chromium; the CSP reports received and each page's DOM."""
    with collector() as reports:
        options = {
            "STATIC_ROOT": str(project / "staticfiles"),
            "SECURE_SSL_REDIRECT": "false",
            "CSP_REPORT_URI": reports.url,
        }
        with serve(project, venv, work, **options) as gunicorn:
            pages = {page: load(f"http://{TRUSTED}:{gunicorn.port}{page}", work / "profile") for page in PAGES}
            time.sleep(REPORT_WAIT)
        return reports.reports, pages


def test_pages_load_in_chromium_without_a_csp_violation(site, tmp_path):
    project, venv = site

    reports, pages = browse(project, venv, tmp_path)

    assert reports == []
    assert 'class="js"' in pages["/"], "the frontend bundle's script did not run"
    assert 'name="csrfmiddlewaretoken"' in pages["/admin/login/"]


def test_a_planted_inline_script_is_reported(site, tmp_path):
    source, venv = site
    project = tmp_path / source.name
    shutil.copytree(source, project, symlinks=True)
    home = project / project.name / "templates" / "home.html"
    home.write_text(home.read_text().replace("<main>", f"<main>{INLINE_SCRIPT}"))

    reports, pages = browse(project, venv, tmp_path)

    assert INLINE_SCRIPT in pages["/"]
    assert "<title>inline</title>" not in pages["/"], "the inline script ran"
    directives = [report["csp-report"]["violated-directive"] for report in reports]
    assert "script-src-elem" in directives, reports
