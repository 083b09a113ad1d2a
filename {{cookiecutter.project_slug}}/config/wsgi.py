import os

from django.core.wsgi import get_wsgi_application

from {{ cookiecutter.project_slug }}.core.request_limits import RequestBodyLimit

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Bodies above MAX_REQUEST_BODY_SIZE are refused before Django reads them.
application = RequestBodyLimit(get_wsgi_application())
