"""`python manage.py setwebhook https://shop.example.com/telegram/webhook/` (or `--delete`)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from telebot.apihelper import ApiTelegramException

from botapp.bot import ALLOWED_UPDATES
from botapp.telegram.client import BotConfigError, new_client


class Command(BaseCommand):
    help = "Register the shop's webhook with Telegram (updates then go to the web server), or --delete it."

    def add_arguments(self, parser):
        parser.add_argument("url", nargs="?", help="The public https URL of /telegram/webhook/.")
        parser.add_argument("--delete", action="store_true", help="Remove the webhook (to poll with runbot).")
        parser.add_argument("--max-connections", type=int, default=40, help="Parallel connections Telegram may open (1-100).")

    def handle(self, *args, url=None, delete=False, max_connections=40, **options):
        try:
            bot = new_client()
        except BotConfigError as exc:
            raise CommandError(str(exc)) from None
        try:
            if delete:
                bot.delete_webhook(drop_pending_updates=False)
                self.stdout.write("Webhook removed: start `python manage.py runbot` to poll.")
                return
            if not url or urlsplit(url).scheme != "https":
                raise CommandError("Give the public https:// URL of /telegram/webhook/ (Telegram only calls https).")
            if not settings.TELEGRAM_WEBHOOK_SECRET:
                raise CommandError("Set TELEGRAM_WEBHOOK_SECRET first: the webhook refuses every update without it.")
            bot.set_webhook(
                url=url,
                secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=max_connections,
                drop_pending_updates=False,
            )
        except ApiTelegramException as exc:
            raise CommandError(f"Telegram refused: {exc.description}") from None
        self.stdout.write(f"Webhook set: Telegram now sends updates to {url}")
