"""`python manage.py runshop` (what `make run` calls): the admin site and the bot together."""

import contextlib
import os
import signal
import subprocess
import sys

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from botapp.telegram.client import BotConfigError, check_token


class Command(BaseCommand):
    help = "Migrate, then run the admin site and the Telegram bot together until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where the admin site listens.")

    def handle(self, *args, addrport, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_staff_login()

        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children = [subprocess.Popen([*manage, "runserver", addrport, "--noreload"])]
        self.stdout.write(f"Admin site: http://{addrport}/admin/")
        try:
            check_token(settings.TELEGRAM_BOT_TOKEN)
        except BotConfigError as exc:
            self.stdout.write(self.style.WARNING(f"Bot not started: {exc}"))
        else:
            children.append(subprocess.Popen([*manage, "runbot"]))

        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            while all(child.poll() is None for child in children):
                with contextlib.suppress(subprocess.TimeoutExpired):
                    children[0].wait(timeout=1)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children:
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [c for c in children if c.returncode not in (0, -2, -15)]
        if failed:
            sys.exit(1)

    def _ensure_staff_login(self):
        User = get_user_model()
        # settings read .env into the environment, where createsuperuser looks for the password
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
        if username and os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            if not User.objects.filter(username=username).exists():
                call_command("createsuperuser", interactive=False, username=username, email="", verbosity=0)
                self.stdout.write(f"Created the staff login {username!r}.")
        elif not User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "No staff login yet: run `.venv/bin/python manage.py createsuperuser`, or set "
                "DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD in .env."
            )


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
