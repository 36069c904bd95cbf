"""`python manage.py runshop` (what `make run` calls): the admin site and the bot together."""

import contextlib
import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from botapp.telegram.client import BotConfigError, check_token

BOT_RETRY_SECONDS = 60.0


class Command(BaseCommand):
    help = "Migrate, then run the admin site and the Telegram bot together until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--addrport", default="127.0.0.1:8000", help="Where the admin site listens.")
        parser.add_argument(
            "--bot-retry-seconds",
            type=float,
            default=BOT_RETRY_SECONDS,
            help="Seconds before starting the bot again when it could not start or stopped (default: a minute).",
        )

    def handle(self, *args, addrport, bot_retry_seconds, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self._ensure_staff_login()
        if not settings.ADMIN_IDS:
            self._say(
                self.style.WARNING(
                    "ADMIN_IDS is empty: nobody gets the shop's alerts or what customers write to support. "
                    "Put your Telegram user id in ADMIN_IDS= in .env (comma-separated for several staff)."
                )
            )

        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        admin = subprocess.Popen([*manage, "runserver", addrport, "--noreload"])
        self._say(f"Admin site: http://{addrport}/admin/")
        bot, bot_due = None, None  # the bot's process; when to start it (None: never, it cannot run)
        try:
            check_token(settings.TELEGRAM_BOT_TOKEN)
        except BotConfigError as exc:
            self._say(self.style.WARNING(f"Bot not started: {exc}"))
        else:
            bot_due = time.monotonic()

        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            # The admin runs until Ctrl-C; the bot is started, and started again a while after it stops
            # (a refused token, Telegram unreachable), and the admin stays up meanwhile.
            while admin.poll() is None:
                if bot is None and bot_due is not None and time.monotonic() >= bot_due:
                    bot = subprocess.Popen([*manage, "runbot"])
                elif bot is not None and bot.poll() is not None:
                    self._say(
                        self.style.WARNING(
                            f"The bot stopped (exit code {bot.returncode}; the reason is above). The admin site keeps "
                            f"running; the bot is tried again in {bot_retry_seconds:g} s. Ctrl-C stops everything."
                        )
                    )
                    bot, bot_due = None, time.monotonic() + bot_retry_seconds
                with contextlib.suppress(subprocess.TimeoutExpired):
                    admin.wait(timeout=min(1, bot_retry_seconds))
        except KeyboardInterrupt:
            pass
        finally:
            children = [child for child in (admin, bot) if child is not None]
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

    def _say(self, line: str) -> None:
        # The children write to the same terminal: keep the lines in order.
        self.stdout.write(line)
        self.stdout.flush()

    def _ensure_staff_login(self):
        User = get_user_model()
        # settings read .env into the environment, where createsuperuser looks for the password
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME")
        if username and os.environ.get("DJANGO_SUPERUSER_PASSWORD"):
            if not User.objects.filter(username=username).exists():
                call_command("createsuperuser", interactive=False, username=username, email="", verbosity=0)
                self._say(f"Created the staff login {username!r}.")
        elif not User.objects.filter(is_superuser=True).exists():
            self.stdout.write(
                "No staff login yet: run `.venv/bin/python manage.py createsuperuser`, or set "
                "DJANGO_SUPERUSER_USERNAME and DJANGO_SUPERUSER_PASSWORD in .env."
            )


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
