"""The project's URLs, and a view that fails: for the tests of error pages and error reports."""

from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


class DeliberateError(Exception):
    pass


def fail(request):
    raise DeliberateError("raised by tests/urls.py on purpose")


urlpatterns = [*project_urlpatterns, path("fail/", fail)]
