"""Sites other than production stay out of search engines and, where asked, away from the public.

Outside production (SITE_ENVIRONMENT development or acceptance) every response carries
`X-Robots-Tag: noindex, nofollow`. Where BASIC_AUTH_USERS is set, every request needs one
of its user:password pairs (HTTP basic auth). /health/ is answered by the health middleware
before this one, so it is never guarded.
"""

import base64
import binascii
import hmac

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpResponse

# The project's name as a JSON string: a valid Python literal whatever quotes or backslashes it holds.
REALM = {{ cookiecutter.project_name | replace('"', "'") | tojson }}
CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'


def given_credentials(request):
    """The (user, password) of the request's Authorization header, or None."""
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, separator, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if separator else None


def authorised(request, users):
    credentials = given_credentials(request)
    if credentials is None:
        return False
    user, password = credentials
    expected = users.get(user, "")
    # Compared in constant time, and always compared, so that timing tells nothing.
    return hmac.compare_digest(expected.encode(), password.encode()) and user in users


def authentication_required():
    response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain; charset=utf-8")
    response["WWW-Authenticate"] = CHALLENGE
    return response


class SiteProtectionMiddleware:
    def __init__(self, get_response):
        self.users = settings.BASIC_AUTH_USERS
        self.noindex = settings.SITE_ENVIRONMENT != "production"
        if not (self.users or self.noindex):
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        if self.users and not authorised(request, self.users):
            response = authentication_required()
        else:
            response = self.get_response(request)
        if self.noindex:
            response["X-Robots-Tag"] = "noindex, nofollow"
        return response
