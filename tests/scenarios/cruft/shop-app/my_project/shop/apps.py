from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "my_project.shop"
