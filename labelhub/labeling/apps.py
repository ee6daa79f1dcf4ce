from django.apps import AppConfig


class LabelingConfig(AppConfig):
    name = "labelhub.labeling"
    label = "labeling"

    def ready(self):
        from labelhub.projects.signals import labeling_right_lost

        from .services import assignments_end_on_right_lost

        labeling_right_lost.connect(assignments_end_on_right_lost, dispatch_uid="labeling-assignments-end")
