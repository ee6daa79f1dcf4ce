from django.apps import AppConfig


class QualityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "labelhub.quality"

    def ready(self):
        from labelhub.labeling.signals import comparison_item_completed

        from .services import item_check_disagreement_on_completed

        comparison_item_completed.connect(item_check_disagreement_on_completed, dispatch_uid="quality-disagreement")
