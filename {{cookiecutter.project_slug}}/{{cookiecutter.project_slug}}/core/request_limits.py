"""Refuse request bodies above MAX_REQUEST_BODY_SIZE before they are read.

A WSGI middleware around Django (config/wsgi.py), because Django reads a body only when a
view asks for it, and then spools large uploads to a temporary file first:

- a declared Content-Length above the limit is answered 413 at once, without reading a byte;
- a chunked body (no Content-Length) is read into memory up to the limit and then handed to
  Django with its length; one byte more and it is answered 413, the rest is never read.
"""

import io

from django.conf import settings

TOO_LARGE = b"Request body too large.\n"


def declared_length(environ):
    """The body's declared Content-Length, or None when it declares none (or nonsense)."""
    try:
        return int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def is_chunked(environ):
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


def read_at_most(stream, limit):
    """Up to limit + 1 bytes of stream: one more than allowed shows it is too large."""
    chunks, size = [], 0
    while size <= limit:
        chunk = stream.read(min(64 * 1024, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def refuse(start_response):
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(TOO_LARGE))),
        ("Connection", "close"),
    ]
    start_response("413 Content Too Large", headers)
    return [TOO_LARGE]


class RequestBodyLimit:
    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        limit = settings.MAX_REQUEST_BODY_SIZE
        length = declared_length(environ)
        if length is not None and length > limit:
            return refuse(start_response)
        if length is None and is_chunked(environ):
            body = read_at_most(environ["wsgi.input"], limit)
            if len(body) > limit:
                return refuse(start_response)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)
