from django.core.management.base import BaseCommand

from labelhub.generation.models import ModelConfig


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored inference API key with the current SECRET_KEY (after a rotation, with the "
        "old key in SECRET_KEY_FALLBACKS; or to encrypt keys stored in plaintext)."
    )

    def handle(self, *args, **options):
        done = 0
        for config in ModelConfig.objects.exclude(api_key="").only("id", "api_key").iterator():
            if config.api_key:  # "" when no key opens it: left for an operator to re-enter
                ModelConfig.objects.filter(pk=config.pk).update(api_key=config.api_key)
                done += 1
        self.stdout.write(f"{done} API key(s) re-encrypted.")
