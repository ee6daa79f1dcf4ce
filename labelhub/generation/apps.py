from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "labelhub.generation"
    label = "generation"
