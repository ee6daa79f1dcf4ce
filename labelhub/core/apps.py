from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "labelhub.core"
    label = "core"

    def ready(self):
        from django.urls import register_converter

        from .converters import IdConverter

        # `<id:…>` in every URL pattern (before any URL module is imported).
        register_converter(IdConverter, "id")
