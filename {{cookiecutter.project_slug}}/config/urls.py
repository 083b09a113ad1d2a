from django.contrib import admin
from django.urls import path

from {{ cookiecutter.project_slug }}.core.views import HomeView

urlpatterns = [
    path("", HomeView.as_view(), name="home"),
    path("admin/", admin.site.urls),
]
