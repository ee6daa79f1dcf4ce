from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labelhub.labeling"
    label = "labeling"

    def ready(self):
        from labelhub.projects.signals import labeling_right_lost
        from labelhub.prompts.signals import prompts_imported

        from .services import assignments_end_on_right_lost
        from .tasks import work_items_sync_on_import

        labeling_right_lost.connect(assignments_end_on_right_lost, dispatch_uid="labeling-assignments-end")
        prompts_imported.connect(work_items_sync_on_import, dispatch_uid="labeling-work-items-sync")
