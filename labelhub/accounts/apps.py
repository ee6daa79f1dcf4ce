from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "labelhub.accounts"
    label = "accounts"

    def ready(self):
        from . import checks  # noqa: F401 - registers the deploy check on TRUSTED_PROXIES
