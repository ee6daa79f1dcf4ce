from django.core.management.base import BaseCommand

from labelhub.generation.services import generation_reap


class Command(BaseCommand):
    help = "Re-send generation jobs lost by a worker or the broker (Celery beat runs this every 30 s)."

    def handle(self, *args, **options):
        self.stdout.write(str(generation_reap()))
