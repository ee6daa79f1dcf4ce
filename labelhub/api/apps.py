from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "labelhub.api"
    label = "api"
