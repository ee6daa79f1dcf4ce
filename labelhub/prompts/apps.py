from django.apps import AppConfig


class PromptsConfig(AppConfig):
    name = "labelhub.prompts"
    label = "prompts"
