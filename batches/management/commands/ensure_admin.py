"""Create the first superuser from ADMIN_PASSWORD if it does not exist (used by bin/run)."""

import os

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create a superuser with the password in $ADMIN_PASSWORD unless it exists."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        password = os.environ.get("ADMIN_PASSWORD", "")
        if not password:
            raise CommandError("set ADMIN_PASSWORD")
        users = get_user_model().objects
        if users.filter(username=username).exists():
            self.stdout.write(f"user {username!r} exists; its password is unchanged")
            return
        users.create_superuser(username=username, email="", password=password)
        self.stdout.write(f"created superuser {username!r}")
