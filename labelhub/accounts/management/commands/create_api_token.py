from django.core.management.base import BaseCommand, CommandError

from labelhub.accounts.models import User
from labelhub.accounts.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user. The key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="A label to tell the token apart later.")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        token, key = api_token_create(user=user, name=name)
        self.stderr.write(f"Created token {token.name!r} for {user.username}. It will not be shown again.")
        self.stdout.write(key)
