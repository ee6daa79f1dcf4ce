from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "labelhub.evaluation"
    verbose_name = "Evaluation"

    def ready(self):
        from labelhub.generation.signals import job_finished
        from labelhub.labeling.signals import comparison_item_completed

        from .hooks import advance_on_item_completed, advance_on_job_finished

        job_finished.connect(advance_on_job_finished, dispatch_uid="evaluation-job-finished")
        comparison_item_completed.connect(advance_on_item_completed, dispatch_uid="evaluation-item-completed")
