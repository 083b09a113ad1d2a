"""Content-Security-Policy and Permissions-Policy on the pages (core/security_headers.py).

The template's own suite loads the pages in headless Chromium and checks that the policy
blocks nothing they need; this module, that the headers are there and say what they should.
"""

from django.http import HttpResponse
from django.test import RequestFactory

from {{ cookiecutter.project_slug }}.core.security_headers import SecurityHeadersMiddleware


def directives(response):
    return dict(directive.split(" ", 1) for directive in response["Content-Security-Policy"].split("; "))


def test_pages_allow_only_their_own_origin(client):
    policy = directives(client.get("/"))

    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "report-uri" not in policy


def test_the_admin_login_has_the_policy_too(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert directives(response)["script-src"] == "'self'"


def test_reports_go_to_csp_report_uri(client, settings):
    settings.CSP_REPORT_URI = "https://reports.example/csp"

    assert directives(client.get("/"))["report-uri"] == "https://reports.example/csp"


def test_report_only_reports_without_blocking(client, settings):
    settings.CSP_REPORT_ONLY = True

    response = client.get("/")

    assert "Content-Security-Policy" not in response
    assert response["Content-Security-Policy-Report-Only"].startswith("default-src 'self'")


def test_permissions_policy_switches_off_unused_features(client):
    header = client.get("/")["Permissions-Policy"]
    features = dict(item.split("=", 1) for item in header.split(", "))

    assert features["camera"] == "()"
    assert features["geolocation"] == "()"
    assert features["microphone"] == "()"


def test_a_view_that_sets_its_own_policy_keeps_it():
    own = "default-src 'self' https://maps.example"
    middleware = SecurityHeadersMiddleware(lambda request: HttpResponse(headers={"Content-Security-Policy": own}))

    response = middleware(RequestFactory().get("/"))

    assert response["Content-Security-Policy"] == own
    assert "Permissions-Policy" in response
