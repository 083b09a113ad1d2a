"""Error reports: the real sentry-sdk, sending to a local HTTP server that stands in for Sentry.

The production settings start it where SENTRY_DSN is set; they are loaded in this process,
and a view of tests/urls.py fails in the test client.
"""

import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sentry_sdk
from django.test import Client

from .conftest import PRODUCTION

COMMIT = "0123abcd"
COOKIE = "a-session-id-that-must-not-leave"


class SentryStandIn(BaseHTTPRequestHandler):
    """Keeps the body of every request (envelopes, unpacked) in server.received."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.received.append(body.decode())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass  # quiet: the test reads what arrived


@pytest.fixture
def sentry_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SentryStandIn)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def production_with(load_settings, production_environment, settings):
    """Load the production settings with more environment; the test client sees tests/urls.py."""
    settings.ROOT_URLCONF = "tests.urls"

    def load(**environ):
        return load_settings(PRODUCTION, COMMIT_HASH=COMMIT, **production_environment, **environ)

    yield load
    sentry_sdk.get_client().close()
    sentry_sdk.get_global_scope().set_client(None)


def fail_once():
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = COOKIE
    assert client.get("/fail/").status_code == 500
    sentry_sdk.flush(timeout=10)


def events(received):
    """The event items of the envelopes: a line of headers, then per item a header line and a payload line."""
    found = []
    for envelope in received:
        lines = envelope.splitlines()
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


def test_an_error_in_a_view_reaches_sentry_with_the_release(production_with, sentry_server):
    production_with(SENTRY_DSN=f"http://public@127.0.0.1:{sentry_server.server_port}/1", SITE_ENVIRONMENT="acceptance")
    assert sentry_sdk.is_initialized()

    fail_once()

    (event,) = events(sentry_server.received)
    assert (event["release"], event["environment"]) == (COMMIT, "acceptance")
    assert event["exception"]["values"][-1]["type"] == "DeliberateError"
    assert "django" in {integration.lower() for integration in event["sdk"]["integrations"]}
    assert not any(COOKIE in envelope for envelope in sentry_server.received)  # no personal data


def test_without_a_dsn_nothing_starts_and_nothing_is_sent(production_with, sentry_server):
    production_with()
    assert not sentry_sdk.is_initialized()

    fail_once()

    assert sentry_server.received == []
