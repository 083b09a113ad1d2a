"""Request bodies above MAX_REQUEST_BODY_SIZE are refused before they are read
(core/request_limits.py, around Django in config/wsgi.py)."""

import io

import pytest

from {{ cookiecutter.project_slug }}.core.request_limits import RequestBodyLimit

LIMIT = 1000


class CountingBody(io.BytesIO):
    """A request body that counts what was read from it."""

    def __init__(self, size):
        super().__init__(b"x" * size)
        self.bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def echo_length(environ, start_response):
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(len(body)).encode()]


def call(body, **headers):
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": body, **headers}
    statuses = []
    answer = b"".join(RequestBodyLimit(echo_length)(environ, lambda status, _headers: statuses.append(status)))
    return statuses[0], answer


@pytest.fixture(autouse=True)
def limit(settings):
    settings.MAX_REQUEST_BODY_SIZE = LIMIT


def test_a_declared_length_above_the_limit_is_refused_unread():
    body = CountingBody(LIMIT + 1)

    status, _ = call(body, CONTENT_LENGTH=str(LIMIT + 1))

    assert status == "413 Content Too Large"
    assert body.bytes_read == 0


def test_a_declared_length_at_the_limit_is_served():
    assert call(CountingBody(LIMIT), CONTENT_LENGTH=str(LIMIT)) == ("200 OK", str(LIMIT).encode())


def test_a_chunked_body_within_the_limit_reaches_the_application_with_its_length():
    assert call(CountingBody(LIMIT), HTTP_TRANSFER_ENCODING="chunked") == ("200 OK", str(LIMIT).encode())


def test_a_chunked_body_past_the_limit_is_cut_off():
    body = CountingBody(50 * LIMIT)

    status, _ = call(body, HTTP_TRANSFER_ENCODING="chunked")

    assert status == "413 Content Too Large"
    assert body.bytes_read == LIMIT + 1
