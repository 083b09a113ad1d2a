"""Error pages, robots.txt and uploaded files: what every site serves besides its own pages."""

import importlib

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import clear_url_caches

from .conftest import PRODUCTION

# No test of this module has database access: pytest-django makes any query fail.


ERROR_PAGES = [("404.html", "Page not found"), ("500.html", "Something went wrong")]


@pytest.mark.parametrize(("template", "heading"), ERROR_PAGES)
def test_error_pages_render_without_a_request_or_a_database(template, heading):
    assert heading in render_to_string(template)


@pytest.mark.parametrize(("template", "heading"), ERROR_PAGES)
def test_error_pages_render_without_the_static_files(template, heading, settings, tmp_path):
    """As production's storage does before collectstatic: a page that loaded a static file would fail."""
    manifest = {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"}
    settings.STORAGES = {**settings.STORAGES, "staticfiles": manifest}
    settings.STATIC_ROOT = tmp_path

    assert heading in render_to_string(template)


def test_a_missing_page_gets_the_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_an_error_gets_the_500_page(settings):
    settings.ROOT_URLCONF = "tests.urls"

    response = Client(raise_request_exception=False).get("/fail/")

    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.parametrize(("environment", "rule"), [("development", "Disallow: /"), ("production", "Disallow:")])
def test_robots_txt_lets_crawlers_into_production_only(environment, rule, client, settings):
    settings.SITE_ENVIRONMENT = environment

    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().splitlines() == ["User-agent: *", rule]


@pytest.fixture
def urls_with_debug(settings):
    """Load config.urls again with the given DEBUG, as a process with those settings would."""

    def load(debug):
        settings.DEBUG = debug
        importlib.reload(importlib.import_module("config.urls"))
        clear_url_caches()

    yield load
    settings.DEBUG = False
    importlib.reload(importlib.import_module("config.urls"))
    clear_url_caches()


def test_uploads_are_served_in_development_only(
    urls_with_debug, client, settings, tmp_path, load_settings, production_environment
):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "upload.txt").write_text("an upload")

    urls_with_debug(load_settings("config.settings.development").DEBUG)
    assert client.get("/media/upload.txt").getvalue() == b"an upload"

    urls_with_debug(load_settings(PRODUCTION, **production_environment).DEBUG)
    assert client.get("/media/upload.txt").status_code == 404
