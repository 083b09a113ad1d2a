from django.conf import settings
from django.http import HttpResponse
from django.views.generic import TemplateView


class HomeView(TemplateView):
    template_name = "home.html"


def robots_txt(request):
    """Crawlers may index production only."""
    rule = "Disallow:" if settings.SITE_ENVIRONMENT == "production" else "Disallow: /"
    return HttpResponse(f"User-agent: *\n{rule}\n", content_type="text/plain; charset=utf-8")
