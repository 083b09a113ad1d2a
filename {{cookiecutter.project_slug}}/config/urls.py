from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import path

from {{ cookiecutter.project_slug }}.core.views import HomeView, robots_txt

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("robots.txt", robots_txt, name="robots-txt"),
    path("admin/", admin.site.urls),
]

# Uploaded files, served by runserver in development only (static() adds nothing unless DEBUG):
# on servers the proxy in front serves MEDIA_ROOT, or the uploads live in object storage.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
